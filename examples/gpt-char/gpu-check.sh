#!/bin/bash
# GPU check of the gpt-char example: trains the sample commit with --device cuda for each of the task's seeds, scores
# each model with the task's harness on CPU (as stage 2 does), and prints the metrics beside the CPU spread measured
# in README.md. Run from the repository root on a machine with an NVIDIA GPU and a CUDA build of PyTorch:
#   PYTHON=/path/to/python-with-cuda-torch examples/gpt-char/gpu-check.sh
# Exit status: 0 when every seed trained on the GPU and scored within the task's tolerance of the CPU mean.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$PYTHON" -c 'import torch, sys; ok = torch.cuda.is_available(); print("torch", torch.__version__, "cuda", ok, torch.cuda.get_device_name(0) if ok else "-"); sys.exit(0 if ok else 3)'
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
values=()
for seed in 1 2 3; do
  mkdir -p "$OUT/$seed"
  start=$(date +%s.%N)
  "$PYTHON" commit/train.py --seed "$seed" --out "$OUT/$seed/model.safetensors" --data data/train.txt --device cuda | tail -1
  end=$(date +%s.%N)
  metric=$(PROOFBOARD_OUTPUT_DIR="$OUT/$seed" PROOFBOARD_EVAL_DIR=eval "$PYTHON" harness/evaluate.py | tail -1)
  echo "seed $seed: $metric  train $(echo "$end - $start" | bc) s"
  values+=("$(echo "$metric" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["metric"])')")
done
# CPU reference (README.md): seeds 1-3 on CPU measured 3.0923, 3.2266, 3.0688, mean 3.1292; tolerance 0.15 (task.json).
"$PYTHON" - "${values[@]}" <<'PY'
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
mean = statistics.mean(v)
print(f"gpu mean {mean:.4f} sd {statistics.stdev(v):.4f}; cpu mean 3.1292; |diff| {abs(mean - 3.1292):.4f} (tolerance 0.15)")
sys.exit(0 if abs(mean - 3.1292) <= 0.15 else 1)
PY
