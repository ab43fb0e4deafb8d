#!/usr/bin/env bash
# The GPU benchmarks (need CUDA), one prepared command; the CPU suite never needs it.
# 1. hardware.py on the GPU: the matmul rate of each precision (float32, bfloat16, float16), each prompt-tuning
#    family's FLOPs per clip and forward time at ViT-B/16 size (random weights, 16 clips per forward; eager and
#    compiled, as compile: true runs it), the achieved
#    fraction, and the extraction job vs forward-only at N = 4000 demo clips (10 x the demo's 400 test clips).
#    -> benchmarks/results/hardware_gpu.json, log in benchmarks/results/hardware_gpu.log
# 2. gpu.py: extraction throughput and attention-capture overhead (extra arguments go to it, e.g. --views 12).
# Commit the two results files and the log it writes.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$(cd .. && pwd)/src${PYTHONPATH:+:$PYTHONPATH}"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: run this on a GPU machine')"
python -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"
python hardware.py --device cuda --threads "$(nproc)" --precisions float32,bfloat16,float16 --batch 16 \
    --modes autocast,cast,low,compile \
    --repeats 10 --matmul-size 8192 --clips 4000 --extract-batch 64 --workers "$(($(nproc) - 2))" \
    --out hardware_gpu 2>&1 | tee results/hardware_gpu.log
python gpu.py "$@"
