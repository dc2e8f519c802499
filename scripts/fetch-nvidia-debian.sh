#!/usr/bin/env bash
# Fetches NVIDIA's own user-space files from Debian's non-free component into .tools/nvidia,
# without installing anything on the system (apt runs with a private list and cache):
#   include/nvml.h         genuine header (libnvidia-ml-dev), the reference for struct layouts
#   lib/libnvidia-ml.so.1  genuine NVML (libnvidia-ml1); without a driver nvmlInit_v2 answers 9
#   lib/libcuda.so.1       genuine CUDA driver library (libcuda1); without a GPU cuInit answers 100
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.tools/nvidia
[[ -s $dest/include/nvml.h && -e $dest/lib/libnvidia-ml.so.1 && -e $dest/lib/libcuda.so.1 ]] && exit 0

work=$root/.tools/apt
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$dest/include" "$dest/lib"
cat >"$work/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main contrib non-free
SRC
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root -q)
echo "fetch-nvidia-debian: downloading libnvidia-ml-dev, libnvidia-ml1, libcuda1" >&2
apt-get "${apt_opts[@]}" update >/dev/null
(cd "$work/debs" && apt-get "${apt_opts[@]}" download libnvidia-ml-dev libnvidia-ml1 libcuda1 >/dev/null)
rm -rf "$work/x" && mkdir -p "$work/x"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
cp "$work/x/usr/include/nvml.h" "$dest/include/"
cp "$work"/x/usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.5* "$dest/lib/libnvidia-ml.so.1"
cp "$work"/x/usr/lib/x86_64-linux-gnu/nvidia/current/libcuda.so.5* "$dest/lib/libcuda.so.1"
rm -rf "$work/x"
