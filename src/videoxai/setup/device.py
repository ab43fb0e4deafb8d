"""Device and numeric precision shared by the stages that run a model (extraction, explanation)."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
"""The config's ``precision`` values: float32 (the default, the exactness tests' precision) or a low one."""


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config 'device: cuda' but no CUDA device is visible; use 'device: auto' or 'cpu'")
    return torch.device(name)


def autocast(device: torch.device, precision: str = "float32") -> contextlib.AbstractContextManager:
    """``precision``'s autocast on ``device``: nothing for float32 (on CPU and GPU alike), else its low dtype.

    Autocast rather than cast weights: matmuls and convolutions run in the low
    dtype from float32 weights while the operations autocast keeps in float32
    (LayerNorm among them) stay there, for every family alike, the
    checkpoint's weights untouched and the explainers' gradients reaching
    float32 leaves (docs/performance.md gives its cost and effect).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"config 'precision' must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=PRECISIONS[precision])
