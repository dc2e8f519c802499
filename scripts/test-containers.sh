#!/usr/bin/env bash
# Container tests: `make containers`, and so `make test` and .ci/run (docs/containers.md).
#
#  1. Static checks (Vitest, test/deploy): Dockerfile lint, compose files against the compose-spec
#     schema and through Docker Compose, rendered Kubernetes manifests type-checked.
#  2. podman (installed and configured here when missing) and the base image
#     node:24-bookworm-slim, made locally (scripts/container-base-image.sh; cached).
#  3. The image, built from the Dockerfile as it is, then run:
#     - compose.yaml + compose.sim.yaml through Docker Compose on podman's API: healthy by its own
#       HEALTHCHECK, /health/ready 200 on a loopback port, a non-root user under tini, a read-only
#       root; `podman stop -t 30` exits 0 inside the grace period, after the drain;
#     - with no NVML at all: exits 10 with the one fatal JSON line in its log.
#  4. The cuda-devel target, built on a stand-in for the CUDA base (no registry is reachable
#     here), run the same way on the simulated GPUs. CONTAINER_TEST_CUDA_STANDIN=0 skips it.
#
# Needs root (apt-get, podman). Env: CONTAINER_CACHE_DIR (base image cache, default
# .tools/containers), CONTAINER_TEST_KEEP=1 keeps the containers for a look afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PATH=$("$root/scripts/ensure-node.sh"):$root/node_modules/.bin:$PATH
export PATH

image=localhost/gpu-service:test
cuda_image=localhost/gpu-service:test-cuda-devel
project=gpusvc-ci
cache=${CONTAINER_CACHE_DIR:-$root/.tools/containers}
export CONTAINER_CACHE_DIR=$cache
tmp=$(mktemp -d /tmp/test-containers.XXXXXX)
start_all=$SECONDS
passed=0
failed=0
failures=()
timings=()
service_pid=

say() { printf '\n== %s\n' "$*"; }
pass() {
  passed=$((passed + 1))
  printf '  ok    %s\n' "$1"
}
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  printf '  FAIL  %s\n' "$1"
  [[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/        /' | tail -n 40
}
# check NAME CMD...: runs CMD, passes or fails NAME with CMD's output
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass "$name"
    [[ -z $out ]] || printf '        %s\n' "$(tail -n 1 <<<"$out")"
  else
    fail "$name" "$out"
  fi
}
timed() { # timed LABEL CMD...: runs CMD, records how long it took
  local label=$1 t0=$SECONDS
  shift
  "$@"
  timings+=("$(printf '%-34s %4d s' "$label" $((SECONDS - t0)))")
}
# podman prints an error for every health check timer it cannot hand to systemd (none here).
quiet() { "$@" 2> >(grep -v 'systemd connection' >&2); }

cleanup() {
  local rc=$?
  if [[ ${CONTAINER_TEST_KEEP:-0} != 1 ]] && command -v podman >/dev/null; then
    [[ -z ${compose:-} || -z $service_pid ]] || DOCKER_HOST=unix://$tmp/podman.sock "$compose" -p "$project" \
      -f compose.yaml -f compose.sim.yaml down --timeout 1 >/dev/null 2>&1 || true
    for c in "$project-nonvml" "$project-cuda-devel"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  fi
  [[ -z $service_pid ]] || kill "$service_pid" 2>/dev/null || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# ---------------------------------------------------------------------------------------------
say 'static checks: Dockerfile lint, compose schema and Compose, Kubernetes render and schema'
if timed 'static checks (vitest)' vitest run --project int test/deploy; then
  pass 'static checks (test/deploy, Vitest)'
else
  fail 'static checks (test/deploy, Vitest): see the Vitest report above'
fi

# ---------------------------------------------------------------------------------------------
say 'podman'
ensure_podman() {
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    [[ $(id -u) == 0 ]] || { echo 'test-containers: podman, runc and debootstrap are missing and this is not root' >&2; return 1; }
    echo 'installing podman, runc and debootstrap from Debian'
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >"$tmp/apt.log" 2>&1 ||
      { tail -n 30 "$tmp/apt.log" >&2; return 1; }
  fi
  # crun fails on this kind of machine's cgroups, and the default open-files limit is too low:
  # a configuration of our own, for podman run from here only.
  mkdir -p "$cache"
  cat >"$cache/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF=$cache/containers.conf
  podman --version
}
timed 'podman set-up' ensure_podman
timed 'base image node:24-bookworm-slim' scripts/container-base-image.sh
[[ -e build/sim/libnvidia-ml.so.1 && -e build/sim/libcuda.so.1 ]] || libs/gpu-sim/build.sh
compose=$(scripts/ensure-compose.sh)

# ---------------------------------------------------------------------------------------------
say "build $image"
build_args=(--format docker --network=host
  --build-arg "VERSION=$(node -p 'require("./package.json").version')"
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
# A TLS-inspecting proxy's CA, if this machine trusts one, for npm inside the build.
[[ ! -s /etc/ssl/certs/ca-certificates.crt ]] || build_args+=(--secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt)
build() { # build LOG ARGS...
  local log=$1
  shift
  if ! podman build "${build_args[@]}" "$@" . >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    return 1
  fi
}
if timed 'image build' build "$tmp/build.log" -t "$image"; then
  pass 'image builds from the Dockerfile with podman'
else
  fail 'image builds from the Dockerfile with podman'
  echo "containers: $passed passed, $failed failed"
  exit 1
fi
size=$(podman image inspect --format '{{.Size}}' "$image")
size_mb=$((size / 1000 / 1000))
echo "image size: $size_mb MB ($size bytes; base node:24-bookworm-slim $(($(podman image inspect --format '{{.Size}}' docker.io/library/node:24-bookworm-slim) / 1000 / 1000)) MB)"

inspect_image() { # inspect_image IMAGE: the configuration the runtime acts on
  local img=$1 got
  got=$(podman image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{json .Config.Healthcheck.Test}}|{{.Config.StopSignal}}' "$img")
  [[ $got == '10001:10001|["/usr/bin/tini","--"]|["node","dist/src/main.js"]|["CMD","node","dist/src/healthcheck.js"]|SIGTERM' ]] ||
    { echo "unexpected image configuration: $got"; return 1; }
  local env
  env=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$img")
  grep -qx 'NODE_ENV=production' <<<"$env" || { echo "NODE_ENV is not production: $env"; return 1; }
  grep -qx 'NVIDIA_DRIVER_CAPABILITIES=compute,utility' <<<"$env" || { echo "driver capabilities wrong: $env"; return 1; }
  ! grep -q '^NVIDIA_VISIBLE_DEVICES=.' <<<"$env" || { echo "NVIDIA_VISIBLE_DEVICES is baked in: $env"; return 1; }
  podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$img" | grep -q . ||
    { echo 'no OCI revision label'; return 1; }
}
check 'image: user 10001, tini + exec-form CMD, Node health check, NODE_ENV, capabilities, labels' inspect_image "$image"
check 'image: no curl or wget inside' podman run --rm --entrypoint /bin/sh "$image" -c '! command -v curl && ! command -v wget'

# ---------------------------------------------------------------------------------------------
# Checks on a running container of the service on the simulated GPUs.
# wait_healthy CONTAINER: the image's HEALTHCHECK reports healthy (podman runs it on demand here)
wait_healthy() {
  local c=$1 deadline=$((SECONDS + 90)) status
  while ((SECONDS < deadline)); do
    if quiet podman healthcheck run "$c" >/dev/null 2>&1; then
      status=$(podman inspect --format '{{.State.Health.Status}}' "$c")
      [[ $status == healthy ]] && { echo "healthy after $((SECONDS - deadline + 90)) s"; return 0; }
    fi
    [[ $(podman inspect --format '{{.State.Running}}' "$c") == true ]] || { echo "exited:"; podman logs "$c" 2>&1 | tail -n 20; return 1; }
    sleep 1
  done
  echo "not healthy after 90 s: $(podman inspect --format '{{.State.Health.Status}}' "$c")"
  podman logs "$c" 2>&1 | tail -n 20
  return 1
}
ready_200() { # ready_200 PORT: /health/ready answers 200 on loopback, from the simulated GPUs
  local headers code
  code=$(curl -sS -m 5 -D "$tmp/headers" -o "$tmp/ready.json" -w '%{http_code}' "http://127.0.0.1:$1/health/ready") || return 1
  headers=$(cat "$tmp/headers")
  [[ $code == 200 ]] || { echo "HTTP $code: $(cat "$tmp/ready.json")"; return 1; }
  grep -qi '^x-gpu-simulated: h200' <<<"$headers" || { echo "not the simulated H200: $headers"; return 1; }
  echo "HTTP $code, X-GPU-Simulated: h200"
}
non_root() { # non_root CONTAINER: the service runs as 10001 under tini as PID 1
  local uid comm
  uid=$(podman exec "$1" id -u)
  comm=$(podman exec "$1" cat /proc/1/comm)
  [[ $uid == 10001 ]] || { echo "runs as uid $uid"; return 1; }
  [[ $comm == tini ]] || { echo "PID 1 is $comm"; return 1; }
  echo "uid $uid, PID 1 $comm"
}
compile_cache_read() { # compile_cache_read CONTAINER: the service user's Node reads the image's V8 code cache
  local n
  n=$(podman exec "$1" sh -c "NODE_DEBUG_NATIVE=COMPILE_CACHE node --input-type=module -e \"await import('/app/dist/src/bootstrap.js')\" 2>&1 | grep -c 'was accepted'" || true)
  ((n > 100)) || { echo "$n modules came from the compile cache"; return 1; }
  echo "$n modules from the compile cache"
}
read_only_root() { ! podman exec "$1" sh -c 'touch /app/x' 2>/dev/null || { echo 'the root filesystem is writable'; return 1; }; }
stops_cleanly() { # stops_cleanly CONTAINER: SIGTERM → drain → exit 0, inside 30 s
  local c=$1 t0 t1 ms code
  t0=$(date +%s%N)
  quiet podman stop -t 30 "$c" >/dev/null
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  code=$(podman inspect --format '{{.State.ExitCode}}' "$c")
  echo "stopped in $ms ms with exit code $code"
  [[ $code == 0 ]] || return 1
  ((ms < 30000)) || { echo 'took the whole grace period (killed?)'; return 1; }
  ((ms >= 4500)) || { echo 'returned before the 5 s drain delay'; return 1; }
  local log
  log=$(podman logs "$c" 2>&1)
  grep -q '"msg":"SIGTERM received' <<<"$log" || { echo 'no SIGTERM line in the log'; return 1; }
  grep -q '"exitCode":0,"msg":"stopped"' <<<"$log" || { echo 'no "stopped" line in the log'; return 1; }
}

# ---------------------------------------------------------------------------------------------
say 'compose.yaml + compose.sim.yaml on podman (simulated GPUs)'
run_compose_stack() {
  podman system service --time=0 "unix://$tmp/podman.sock" >"$tmp/podman-service.log" 2>&1 &
  service_pid=$!
  local i
  for i in $(seq 50); do [[ -S $tmp/podman.sock ]] && break; sleep 0.1; done
  port=$(free_port)
  DOCKER_HOST=unix://$tmp/podman.sock GPU_SERVICE_IMAGE=$image PORT=$port \
    "$compose" -p "$project" -f compose.yaml -f compose.sim.yaml up -d --no-build 2>&1 | tail -n 3
  container=$(podman ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}' | head -n1)
  [[ -n $container ]]
}
if timed 'compose up' run_compose_stack; then
  pass "compose up (container $container, port 127.0.0.1:$port)"
  t_up=$SECONDS
  check 'compose: healthy by its own HEALTHCHECK' wait_healthy "$container"
  timings+=("$(printf '%-34s %4d s' 'compose: start to healthy' $((SECONDS - t_up)))")
  check 'compose: /health/ready 200 on a loopback port (X-GPU-Simulated: h200)' ready_200 "$port"
  check 'compose: runs as uid 10001, tini is PID 1' non_root "$container"
  check 'compose: read-only root filesystem' read_only_root "$container"
  check 'compose: Node reads the compile cache made at build time' compile_cache_read "$container"
  check 'compose: podman stop -t 30 drains and exits 0 inside the grace period' stops_cleanly "$container"
else
  fail 'compose up' "$(cat "$tmp/podman-service.log" 2>/dev/null | tail -n 20)"
fi

# ---------------------------------------------------------------------------------------------
say 'no NVML at all'
no_nvml() {
  local t0=$SECONDS code fatal
  podman rm -f "$project-nonvml" >/dev/null 2>&1 || true
  code=0
  timeout 60 podman run --name "$project-nonvml" "$image" >"$tmp/nonvml.out" 2>&1 || code=$?
  echo "exited $code after $((SECONDS - t0)) s"
  [[ $code == 10 ]] || { tail -n 20 "$tmp/nonvml.out"; return 1; }
  [[ $(podman inspect --format '{{.State.ExitCode}}' "$project-nonvml") == 10 ]] || return 1
  fatal=$(podman logs "$project-nonvml" 2>&1 | node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
    const fatal = lines.flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }).filter((r) => r.level === 60);
    if (fatal.length !== 1) { console.log(`expected one fatal line, got ${fatal.length}:\n${lines.join("\n")}`); process.exit(1); }
    const f = fatal[0];
    if (f.exitCode !== 10 || f.reason !== "nvml_library_not_found" || !f.hint) { console.log(JSON.stringify(f)); process.exit(1); }
    console.log(f.msg);') || { echo "$fatal"; return 1; }
  echo "fatal: $fatal"
}
check 'no NVML: exits 10 with one fatal JSON line (reason, hint) in its log' no_nvml

# ---------------------------------------------------------------------------------------------
if [[ ${CONTAINER_TEST_CUDA_STANDIN:-1} != 0 ]]; then
  say 'cuda-devel target on a stand-in base'
  # The CUDA base cannot be pulled here: the stand-in is the Debian base without its Node.js, so
  # the target's own steps (tini, the user, Node.js copied in, the app) are what is tested.
  standin() {
    local base_id have
    base_id=$(podman image inspect --format '{{.Id}}' docker.io/library/node:24-bookworm-slim)
    have=$(podman image inspect --format '{{index .Labels "standin.base"}}' localhost/cuda-devel-standin:test 2>/dev/null || true)
    if [[ $have != "$base_id" ]]; then # made once per base, so that its layers stay cached
      podman rmi -f localhost/cuda-devel-standin:test >/dev/null 2>&1 || true
      podman rm -f "$project-standin" >/dev/null 2>&1 || true
      podman run --name "$project-standin" --entrypoint /bin/rm docker.io/library/node:24-bookworm-slim \
        -rf /usr/local/bin/node /usr/local/bin/npm /usr/local/bin/npx /usr/local/lib/node_modules
      podman commit -q --change 'CMD ["bash"]' --change "LABEL standin.base=$base_id" "$project-standin" \
        localhost/cuda-devel-standin:test >/dev/null
      podman rm "$project-standin" >/dev/null
    fi
    build "$tmp/build-cuda.log" --target cuda-devel --build-arg CUDA_IMAGE=localhost/cuda-devel-standin:test -t "$cuda_image"
  }
  if timed 'cuda-devel build (stand-in base)' standin; then
    pass 'cuda-devel target builds (stand-in base)'
    check 'cuda-devel: user 10001, tini + exec-form CMD, Node health check, NODE_ENV, capabilities, labels' inspect_image "$cuda_image"
    cport=$(free_port)
    # NVIDIA_VISIBLE_DEVICES=all: what a GPU request sets (the image leaves it empty, which the
    # toolkit, and so the simulator, takes as no GPU).
    quiet podman run -d --name "$project-cuda-devel" -p "127.0.0.1:$cport:$cport" -e "PORT=$cport" -e NVIDIA_VISIBLE_DEVICES=all \
      -e NVML_LIBRARY_PATH=/opt/gpu-sim/libnvidia-ml.so.1 -e CUDA_LIBRARY_PATH=/opt/gpu-sim/libcuda.so.1 \
      -e GPU_SIM_SCENARIO=/etc/gpu-sim/h200.ini -v "$root/build/sim:/opt/gpu-sim:ro" -v "$root/deploy/sim:/etc/gpu-sim:ro" \
      --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges "$cuda_image" >/dev/null
    check 'cuda-devel: healthy by its own HEALTHCHECK' wait_healthy "$project-cuda-devel"
    check 'cuda-devel: /health/ready 200' ready_200 "$cport"
    check 'cuda-devel: runs as uid 10001, tini is PID 1' non_root "$project-cuda-devel"
    check 'cuda-devel: Node reads the compile cache made at build time' compile_cache_read "$project-cuda-devel"
    check 'cuda-devel: SIGTERM drains and exits 0' stops_cleanly "$project-cuda-devel"
  else
    fail 'cuda-devel target builds (stand-in base)'
  fi
fi

# ---------------------------------------------------------------------------------------------
say 'summary'
printf '%s\n' "${timings[@]}"
printf '%-34s %4d s\n' 'total' $((SECONDS - start_all))
echo "image $image: $size_mb MB"
((failed == 0)) || printf 'failed: %s\n' "${failures[@]}"
echo "containers: $passed passed, $failed failed"
((failed == 0))
