"""Which attention kernel computes an attention output when no probabilities are asked for.

Extraction needs only the outputs: the fused ``F.scaled_dot_product_attention``
(``sdpa``, the default) computes them without materialising the (L, L)
probabilities. Explainers that need the probabilities (rollout, prompt-tuning's
per-frame path, stt's and vita's summary attention) get the explicit
``softmax(q k^T * scale + bias) v`` whatever is chosen here; ``eager`` makes
every attention explicit, which is how the tests show the two kernels give the
same logits (within 1e-5 in float32) on the golden fixtures. The models drive
CLIP's layers through their own attention (``prompt_tuning.layers``), so
transformers' ``attn_implementation`` never runs for them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

KERNELS = ("sdpa", "eager")
"""``sdpa``: the fused ``F.scaled_dot_product_attention`` wherever no probabilities are asked for (the default);
``eager``: the explicit ``softmax(q k^T * scale + bias) v`` everywhere. Where an explainer needs the probabilities
(rollout, the per-frame path, stt's and vita's summary attention) the explicit form runs under either."""

_kernel: str | None = None  # set by use_attention_kernel; None: $VIDEOXAI_ATTENTION_KERNEL, else sdpa


def attention_kernel() -> str:
    """The kernel in force: :func:`use_attention_kernel`'s, else ``$VIDEOXAI_ATTENTION_KERNEL``, else ``sdpa``."""
    name = _kernel or os.environ.get("VIDEOXAI_ATTENTION_KERNEL") or "sdpa"
    if name not in KERNELS:
        raise ValueError(f"attention kernel {name!r} is not one of {', '.join(KERNELS)} (VIDEOXAI_ATTENTION_KERNEL)")
    return name


@contextlib.contextmanager
def use_attention_kernel(name: str) -> Iterator[None]:
    """Run the block with attention kernel ``name`` (``sdpa`` or ``eager``); the two agree within 1e-5 in float32."""
    global _kernel
    if name not in KERNELS:
        raise ValueError(f"attention kernel {name!r} is not one of {', '.join(KERNELS)}")
    before, _kernel = _kernel, name
    try:
        yield
    finally:
        _kernel = before
