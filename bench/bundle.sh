#!/usr/bin/env bash
# Packs what `npm run bench` needs on a GPU machine without Node or network, through the
# gpu-bundle tool (GPU_BUNDLE, else gpu-bundle on PATH, else /work/shared/tools/gpu-bundle):
# the tree git knows of, the build outputs (dist/, build/sim, build/bench/nvml-bench), the
# production packages plus the benchmark's own (tsx, autocannon; see bench/bundle-deps.mjs),
# and Node. The whole development tree would not fit in the 64 MiB that travels; this does.
#
#   bench/bundle.sh [OUT]        (OUT defaults to .gpu; BUNDLE_EXTRA='vitest vite-tsconfig-paths'
#                                  adds the test runner for `npm run test:gpu`)
#   there:  BENCH_OUT=$OUT bash .gpu/run.sh npm run bench
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$root/.gpu}")
tool=${GPU_BUNDLE:-$(command -v gpu-bundle || echo /work/shared/tools/gpu-bundle)}
[[ -x $tool ]] || { echo "bench/bundle.sh: gpu-bundle not found (set GPU_BUNDLE)" >&2; exit 2; }
cd "$root"

npm run -s bench:build

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
{
  git ls-files -co --exclude-standard | while IFS= read -r f; do [[ -e $f ]] && printf '%s\n' "$f"; done
  find dist build/sim build/bench -type f
} | tar -cf - -T - | tar -xf - -C "$stage"
node bench/bundle-deps.mjs | tar -cf - -T - | tar -xf - -C "$stage"

# gpu-bundle copies the npm CLI from `npm root -g`; where npm runs under another Node (a Node 24
# first on PATH) that points nowhere, so give it the prefix of the npm that actually runs.
npm_cli=$(npm exec -c 'echo "$npm_execpath"' | tail -n 1)
global_root=$(dirname "$(dirname "$(dirname "$npm_cli")")")
(cd "$stage" && npm_config_prefix=${global_root%/lib/node_modules} "$tool" --out "$out")
[[ -f $out/run.sh ]] && tar -tJf "$out/app.tar.xz" ./.npm-cli/bin/npm-cli.js >/dev/null 2>&1 ||
  echo "bench/bundle.sh: warning: the npm CLI is not in the bundle; run node --import tsx bench/main.ts there instead of npm run bench" >&2
