#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (never a downloaded browser).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
echo "ensure-chromium: installing Debian's chromium" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
