#!/usr/bin/env bash
# GPU benchmark (needs CUDA): extraction throughput and attention-capture overhead
# on a ViT-B/16-sized CLIP video model. The CPU suite never needs it.
set -euo pipefail
cd "$(dirname "$0")"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: run this on a GPU machine')"
python gpu.py "$@"
