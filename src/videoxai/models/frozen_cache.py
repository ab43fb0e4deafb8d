"""Reuse a module's input-independent output (CLIP text features) across inference batches.

Prompt-learning models run their text encoder over every class prompt on
every forward, although at inference the result is the same for every batch:
for 101 classes that costs about as much as the video tower. The cache is
keyed by the identity, in-place version counter and device of every parameter
and buffer of the module, so an optimiser step, ``load_state_dict``, new class
names or a move to another device all recompute it. It is used in eval mode
only, and under autograd only while no parameter requires a gradient
(:func:`frozen_parameters`, as the explain stage runs): gradient explainers
need gradients of activations, never of the text features, so recomputing
them with a graph (for 101 classes, as long as the video tower's forward and
about 0.5 GB) would buy nothing. Training is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn


def state_key(module: nn.Module) -> tuple:
    """Changes whenever any parameter or buffer of ``module`` is replaced, modified in place or cast, or the
    autocast around it changes (text features computed in float32 are not bfloat16 ones)."""
    tensors = tuple((id(t), t._version, t.device, t.dtype) for t in (*module.parameters(), *module.buffers()))
    return (*tensors, *_autocast_state())


def _autocast_state() -> tuple:
    return tuple((kind, torch.is_autocast_enabled(kind) and torch.get_autocast_dtype(kind)) for kind in ("cpu", "cuda"))


class FrozenCache:
    """One cached tensor per owner, valid while the owner's state key is unchanged."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._value: torch.Tensor | None = None

    @torch.compiler.disable  # compile: true runs it eagerly; its key is Python state a compiled graph cannot guard
    def get(self, owner: nn.Module, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        if owner.training or (torch.is_grad_enabled() and any(p.requires_grad for p in owner.parameters())):
            return compute()
        key = state_key(owner)
        if self._value is None or key != self._key:
            self._value, self._key = compute(), key
        return self._value


@contextlib.contextmanager
def frozen_parameters(module: nn.Module) -> Iterator[nn.Module]:
    """No parameter of ``module`` requires a gradient inside the block; each one's flag is restored after."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    try:
        module.requires_grad_(False)
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
