#!/usr/bin/env bash
# Starts the built service. Where no NVIDIA driver exists (and SIM=auto), it runs on the GPU
# simulator and says so; SIM=<preset> forces a preset, SIM=off forces the real driver.
# The production start (node dist/src/main.js, the container's CMD) never simulates.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sim=${SIM:-auto}
if [[ $sim == auto ]]; then
  if [[ -e /dev/nvidiactl ]] || command -v nvidia-smi >/dev/null 2>&1; then sim=off; else sim=h200; fi
fi
if [[ $sim != off ]]; then
  scenario=${GPU_SIM_SCENARIO:-$root/build/sim/run-$sim.ini}
  [[ -n ${GPU_SIM_SCENARIO:-} ]] || printf 'preset = %s\n' "$sim" >"$scenario"
  echo "run: no NVIDIA driver in use: serving SIMULATED GPUs (preset $sim, scenario $scenario); SIM=off uses the real driver" >&2
  export NVML_LIBRARY_PATH=$root/build/sim/libnvidia-ml.so.1 CUDA_LIBRARY_PATH=$root/build/sim/libcuda.so.1 GPU_SIM_SCENARIO=$scenario
fi
export NODE_ENV=${NODE_ENV:-development}
exec node "$root/dist/src/main.js"
