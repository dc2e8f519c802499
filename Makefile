# Entry points. On a fresh machine `make run` and `make test` do all the set-up themselves:
# Node.js from .node-version (into .tools/), npm ci, NVIDIA's headers and libraries from
# Debian (into .tools/nvidia), and the GPU simulator (into build/sim).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
NODE_BIN := $(shell scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)

# SIM=auto (default) serves simulated GPUs only where no NVIDIA driver exists; SIM=<preset>
# always simulates (h200, h100x8, a100-mig, gh200, empty, mixed-order, h200x16); SIM=off never does.
SIM ?= auto

.PHONY: setup build run test test-fast lint unit int e2e browser containers audit clean

setup: node_modules/.installed .tools/nvidia/include/nvml.h build/sim/libnvidia-ml.so.1

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

.tools/nvidia/include/nvml.h:
	scripts/fetch-nvidia-debian.sh

build/sim/libnvidia-ml.so.1: $(wildcard libs/gpu-sim/native/* libs/gpu-sim/presets/* libs/gpu-sim/test/*.c) .tools/nvidia/include/nvml.h
	libs/gpu-sim/build.sh

build: setup
	nest build

run: build
	SIM=$(SIM) scripts/run.sh

## Everything CI runs (.ci/run calls this).
test: setup lint unit int e2e browser containers audit

## The quick loop: lint, unit, integration and HTTP tests.
test-fast: setup lint unit int e2e

lint: setup
	npm run lint

unit: setup
	npm run test:unit

int: setup
	npm run test:int

e2e: build
	npm run test:e2e

browser: build
	scripts/ensure-chromium.sh
	npm run test:browser

containers: build
	scripts/test-containers.sh

audit: setup
	scripts/audit.sh

clean:
	rm -rf dist build coverage artifacts
