#!/bin/sh
# The GPU check on a throwaway NVIDIA machine, run from the repository root after scripts/build-gpu-check.sh
# made .device/. Brings what the machine lacks: Node.js from .device/node.xz,
# bubblewrap and git from the Debian packages beside it (unpacked only where missing: they would otherwise
# overwrite the machine's own). Then runs the check with any arguments given, e.g. --runs 2.
set -u
D=.device
node_bin=$(command -v node || true)
if [ -z "$node_bin" ]; then
  node_bin=/tmp/proofboard-node
  if command -v xz >/dev/null; then xz -dc "$D/node.xz" > "$node_bin"
  else python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$D/node.xz" "$node_bin"; fi
  chmod 755 "$node_bin"
fi
for pair in bwrap:bubblewrap git:git; do
  tool=${pair%%:*}
  pkg=${pair#*:}
  if ! command -v "$tool" >/dev/null || [ ! -x "/usr/bin/$tool" ]; then
    deb=$(ls "$D/${pkg}"_*.deb 2>/dev/null | head -n 1)
    if [ -n "$deb" ]; then echo "[gpu-check] installing $tool from $deb"; dpkg-deb -x "$deb" /; else echo "[gpu-check] $tool is missing and no package was carried"; fi
  fi
done
# A minimal VM init may mount no cgroup hierarchy at all; the sandbox needs one for memory and process limits.
if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/memory ]; then
  echo "[gpu-check] no cgroup hierarchy at /sys/fs/cgroup: mounting cgroup2 there"
  mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup
fi
echo "[gpu-check] $("$node_bin" --version) at $node_bin; $(bwrap --version 2>&1); $(git --version 2>&1); cgroup $(stat -fc %T /sys/fs/cgroup 2>&1); user namespaces $(cat /proc/sys/user/max_user_namespaces 2>&1)"
exec "$node_bin" "$D/gpu-check.mjs" --make-reachable "$@"
