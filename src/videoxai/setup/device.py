"""Device and numeric precision shared by the stages that run a model (extraction, explanation)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import torch
from torch import nn

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


CAST_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
"""Modules whose forward autocast runs in the low dtype on CPU and CUDA alike (linear, convolutions): it casts
their weight and bias to it on every call, so a copy cast once gives the same numbers."""


@contextlib.contextmanager
def precision_weights(model: nn.Module, precision: str = "float32") -> Iterator[nn.Module]:
    """Inside the block (to be used under :func:`autocast`), the weights autocast would cast on every forward are
    cast once: the linear and convolution layers' weight and bias hold ``precision``'s dtype, the float32
    tensors are put back after. Nothing for float32.

    Why: autocast casts every linear layer's float32 weight on every forward (without a gradient it caches
    nothing), which on a 2-core CPU took as long as the matmuls themselves for a ViT-B/16 tower
    (docs/performance.md). The cast is the same round-to-nearest either way, so the logits are bit for bit
    autocast's (``tests/unit/test_precision.py`` checks every family); LayerNorm, softmax and everything
    else autocast keeps in float32 keep their float32 parameters. Parameters only (no gradient flows to them
    at inference); the text-feature cache sees the new dtype and recomputes once.
    """
    autocast(torch.device("cpu"), precision)  # a bad value fails here
    if precision == "float32":
        yield model
        return
    dtype = PRECISIONS[precision]
    kept: list[tuple[nn.Parameter, torch.Tensor]] = []
    try:
        for module in model.modules():
            if isinstance(module, CAST_MODULES):
                for p in (module.weight, module.bias):
                    if p is not None and p.dtype == torch.float32:
                        kept.append((p, p.data))
                        p.data = p.data.to(dtype)
        yield model
    finally:
        for p, data in kept:
            p.data = data


@contextlib.contextmanager
def compiled(model: nn.Module, enabled: bool, device: torch.device) -> Iterator[nn.Module]:
    """The model to run inside the block: ``model`` itself, or with ``enabled`` (the config's ``compile: true``)
    the same model through ``torch.compile`` (inductor, weights frozen as constants), compiled on its first call.

    Why: inductor fuses LayerNorm, the activations and autocast's casts of each layer's input into the
    matmuls' neighbours, the memory traffic that kept a bfloat16 ViT-B/16 forward at 0.6 of the matmul rate
    on a CPU (0.76-0.90 compiled; docs/performance.md). Its kernels sum in another order, so the logits are not
    bit for bit the eager ones (float32: within 1e-5 relative), and the split variant's ``+compiled`` suffix
    names them apart. Frozen weights are read at the first call: use it at inference only, inside
    :func:`precision_weights` where that applies. A second batch shape (a job's last, smaller batch)
    compiles once more, a graph for any batch size that serves every later shape.
    """
    if not enabled:
        yield model
        return
    if device.type == "cpu" and not _cxx_compiler():
        raise RuntimeError(
            "config 'compile: true' needs a C++ compiler for torch.compile's CPU kernels and none was found "
            "(g++, c++ or $CXX): install one (apt install g++, conda install gxx) or set compile: false"
        )
    import torch._inductor.config as inductor

    # compile_threads=1: no pool of compile worker processes beside the job's own decoding workers
    try:
        with inductor.patch(freezing=True, compile_threads=1):
            yield torch.compile(model)
    finally:
        torch._dynamo.reset()  # the compiled graphs hold the frozen weights: free them with the block


def _cxx_compiler() -> str | None:
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    return next((path for name in names if (path := shutil.which(name))), None)
