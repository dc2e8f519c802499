#!/usr/bin/env bash
# Starts the built service for development (NODE_ENV=development: pretty logs). SIM=auto uses the
# real NVIDIA driver when nvidia-smi can talk to one and the GPU simulator otherwise; SIM=<preset>
# always simulates; SIM=off never does. The production start (node dist/src/main.js, the
# container's CMD) never simulates.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
presets=$(cd "$root/libs/gpu-sim/presets" && ls *.ini | sed 's/\.ini$//' | tr '\n' ' ')
sim=${SIM:-auto}
if [[ $sim == auto ]]; then
  if nvidia-smi -L >/dev/null 2>&1; then
    echo "run: SIM=auto: nvidia-smi answers, so the real NVIDIA driver is used (SIM=h200 simulates instead)" >&2
    sim=off
  else
    echo "run: SIM=auto: no working NVIDIA driver here (nvidia-smi does not answer), so the GPUs are simulated" >&2
    sim=h200
  fi
fi
if [[ $sim != off ]]; then
  [[ " $presets " == *" $sim "* ]] || { echo "run: unknown SIM=$sim; presets: $presets(or auto, off)" >&2; exit 2; }
  scenario=${GPU_SIM_SCENARIO:-$root/build/sim/run-$sim.ini}
  [[ -n ${GPU_SIM_SCENARIO:-} ]] || printf 'preset = %s\n' "$sim" >"$scenario"
  echo "run: serving SIMULATED GPUs (preset $sim, scenario $scenario)" >&2
  export NVML_LIBRARY_PATH=$root/build/sim/libnvidia-ml.so.1 CUDA_LIBRARY_PATH=$root/build/sim/libcuda.so.1 GPU_SIM_SCENARIO=$scenario
fi
export NODE_ENV=${NODE_ENV:-development}
exec node "$root/dist/src/main.js"
