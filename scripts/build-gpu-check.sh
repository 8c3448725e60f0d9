#!/bin/sh
# Builds .device/ (git-ignored) for the GPU check on a machine that has Python and PyTorch but maybe no Node.js,
# bubblewrap or git: the check bundled into one ES module, this machine's node binary compressed with xz, and
# Debian's bubblewrap and git packages, unpacked there only where the machine lacks them. The repository itself
# (harness, evaluation set, trainers) travels with the working tree.
#
#   sh scripts/build-gpu-check.sh      then pass `.device` in the device run's carry list
set -eu
cd "$(dirname "$0")/.."
mkdir -p .device
npx tsx scripts/gpu-check-build.ts
node_bin=$(command -v node)
# Compressing node takes minutes on two busy cores: only when it is missing or older than the binary.
if [ ! -s .device/node.xz ] || [ "$node_bin" -nt .device/node.xz ]; then
  xz -T2 -6 -c "$node_bin" > .device/node.xz.tmp && mv .device/node.xz.tmp .device/node.xz
fi
# Debian 12 packages: their binaries need only libc, libcap, libselinux, libpcre2 and zlib, which any recent
# Debian or Ubuntu has.
if ! ls .device/bubblewrap_*.deb .device/git_*.deb >/dev/null 2>&1; then
  (cd .device && apt-get download bubblewrap git >/dev/null 2>&1) || echo "note: apt-get download failed; the GPU machine must have bwrap and git itself"
fi
du -ch .device/* | tail -n 1
