#!/usr/bin/env bash
# GPU benchmark (needs CUDA): extraction throughput and attention-capture overhead
# on prompt-tuning's three models (video_coop, dual_coop, stt) at ViT-B/16 size (random weights).
# The CPU suite never needs it. Extra arguments go to gpu.py (e.g. --views 12 --batch-size 4).
set -euo pipefail
cd "$(dirname "$0")"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: run this on a GPU machine')"
python gpu.py "$@"
