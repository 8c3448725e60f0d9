#!/bin/sh
# The GPU check on a throwaway NVIDIA machine, run from the repository root after scripts/build-gpu-check.sh
# made .device/ (copied there as .device/run.sh). Brings what the machine lacks: Node.js from .device/node.xz,
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
echo "[gpu-check] $("$node_bin" --version) at $node_bin; $(bwrap --version 2>&1); $(git --version 2>&1)"
exec "$node_bin" "$D/gpu-check.mjs" --make-reachable "$@"
