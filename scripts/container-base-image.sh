#!/usr/bin/env bash
# Makes the Dockerfile's base image, docker.io/library/node:24-bookworm-slim, in local podman
# storage on a machine that reaches no container registry, so the unchanged `FROM` line builds:
# Debian bookworm (debootstrap --variant=minbase from Debian's archive), the project's Node.js 24
# binary in /usr/local/bin, npm in /usr/local/lib/node_modules/npm, and a user `node` (uid 1000),
# laid out as the official image does.
#
# The root filesystem is cached as a tarball under CONTAINER_CACHE_DIR (default
# .tools/containers); a later run imports it in seconds. Nothing relies on the cache existing.
# An image of that name that this script did not make (a real one, pulled) is left alone.
#
# Env: PODMAN (default podman), CONTAINER_CACHE_DIR, DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
podman=${PODMAN:-podman}
image=docker.io/library/node:24-bookworm-slim
cache=${CONTAINER_CACHE_DIR:-$root/.tools/containers}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { printf 'container-base-image: %s\n' "$*" >&2; }

node_bin=$(readlink -f "$("$root/scripts/ensure-node.sh")/node")
node_version=$("$node_bin" --version)
# npm as on this machine when it is npm 11 (what Node.js 24 ships), else the newest npm 11.
npm_version=$(npm --version)
if [[ ! $npm_version =~ ^11\. ]]; then
  npm_version=$(npm view 'npm@^11' version --json | "$node_bin" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(Array.isArray(v)?v.at(-1):v)})')
fi
# Changes to this key (Node, npm, this recipe) make a new base.
recipe=r2
key="bookworm-minbase/node-$node_version/npm-$npm_version/$recipe"
tarball=$cache/node-${node_version#v}-npm-$npm_version-$recipe-bookworm-slim.tar

if "$podman" image exists "$image"; then
  have=$("$podman" image inspect --format '{{ index .Labels "org.example.local-base.key" }}' "$image" 2>/dev/null || true)
  if [[ -z $have || $have == '<no value>' ]]; then
    log "$image exists and was not made here: using it as it is"
    exit 0
  fi
  if [[ $have == "$key" ]]; then
    log "$image is current ($key)"
    exit 0
  fi
  log "$image was made for $have: making it anew for $key"
fi

import_tarball() {
  "$podman" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change "LABEL org.example.local-base.key=$key" \
    --change 'CMD ["node"]' \
    "$tarball" "$image" >/dev/null
  log "imported $image from $tarball"
}

if [[ -s $tarball ]]; then
  import_tarball
  exit 0
fi

command -v debootstrap >/dev/null || { log 'debootstrap is missing (apt-get install -y debootstrap)'; exit 1; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

log "debootstrap bookworm (minbase) from $mirror"
start=$SECONDS
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
log "debootstrap took $((SECONDS - start)) s"

# As the official slim images: no package caches, no lists, no documentation.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
CFG
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90-slim"
# What debian:bookworm-slim ships as apt.conf.d/docker-clean: no package caches in layers.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"

install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
log "npm $npm_version"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /usr/sbin/groupadd --gid 1000 node
chroot "$rootfs" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" /usr/local/bin/node --version >/dev/null

tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
# Older bases are of no further use.
find "$cache" -maxdepth 1 -name 'node-*-bookworm-slim.tar' ! -path "$tarball" -delete
import_tarball
