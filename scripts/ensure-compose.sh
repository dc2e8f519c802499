#!/usr/bin/env bash
# Prints the path of a Docker Compose v2 (2.24 or later: `!reset`, the current compose spec),
# used to resolve compose.yaml + compose.sim.yaml exactly as operators' Compose does and to run
# them against podman's Docker-compatible API.
#
# Uses `docker-compose` on PATH or the `docker compose` plugin when either is v2.24+. Otherwise
# fetches Debian's docker-compose package from trixie (Compose 2.26, a Go program needing only
# glibc 2.34+) into .tools/compose with a private apt list and cache, installing nothing on
# the system (Debian bookworm only has the Python Compose 1.29, which knows neither).
# Env: COMPOSE to force a binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'ensure-compose: %s\n' "$*" >&2; }

# qualifies CMD...: prints nothing, true when `CMD version --short` is 2.24 or later
qualifies() {
  local v
  v=$("$@" version --short 2>/dev/null) || return 1
  v=${v#v}
  [[ $v =~ ^([0-9]+)\.([0-9]+) ]] || return 1
  ((BASH_REMATCH[1] > 2 || (BASH_REMATCH[1] == 2 && BASH_REMATCH[2] >= 24)))
}

if [[ -n ${COMPOSE:-} ]]; then
  qualifies "$COMPOSE" || { log "COMPOSE=$COMPOSE is not Compose 2.24 or later"; exit 1; }
  echo "$COMPOSE"
  exit 0
fi
if command -v docker-compose >/dev/null && qualifies docker-compose; then
  command -v docker-compose
  exit 0
fi
for plugin in /usr/libexec/docker/cli-plugins/docker-compose /usr/local/lib/docker/cli-plugins/docker-compose \
  /usr/lib/docker/cli-plugins/docker-compose "$HOME/.docker/cli-plugins/docker-compose"; do
  if [[ -x $plugin ]] && qualifies "$plugin"; then
    echo "$plugin"
    exit 0
  fi
done

dest=$root/.tools/compose
bin=$dest/bin/docker-compose
if [[ -x $bin ]] && qualifies "$bin"; then
  echo "$bin"
  exit 0
fi
log "no Compose v2.24+ here: fetching Debian trixie's docker-compose into .tools/compose"
work=$root/.tools/apt-trixie
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$dest/bin"
cat >"$work/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root -q)
apt-get "${apt_opts[@]}" update >/dev/null
rm -f "$work"/debs/*.deb
(cd "$work/debs" && apt-get "${apt_opts[@]}" download docker-compose >/dev/null)
rm -rf "$work/x" && mkdir -p "$work/x"
dpkg-deb -x "$work"/debs/docker-compose_*.deb "$work/x"
found=$(find "$work/x" -type f -name docker-compose -perm -u+x | head -n1)
[[ -n $found ]] || { log 'the package holds no docker-compose binary'; exit 1; }
install -m 0755 "$found" "$bin"
rm -rf "$work/x" "$work/debs" "$work/cache"
qualifies "$bin" || { log "$bin does not run here"; exit 1; }
echo "$bin"
