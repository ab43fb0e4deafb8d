"""One CLIP encoder layer driven with its own weights, attention computed here.

Prompt-tuning calls transformers' layers with different masks per path (none on
the CoOp text path, a raw 0/1 additive bias in STT's text layers, the causal
and padding masks for hand-crafted prompts). Computing the attention here,
from the layer's ``q/k/v/out_proj``, makes those masks explicit, keeps the
numbers independent of the transformers version (4.x and 5.x route masks
differently), keeps the fused kernel for plain inference, and gives the exact
probabilities, in the autograd graph, when an explainer asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.models.kernels import attention_kernel

Embedding = Callable[[torch.Tensor], tuple[Any, torch.Tensor]]
"""Per-sequence probabilities -> (what to return: a joint matrix or an AttentionLayer, the probabilities to use)."""


def attention(
    attn: nn.Module,
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    need: bool = False,
    embed: Embedding | None = None,
) -> tuple[torch.Tensor, Any]:
    """A ``CLIPAttention`` on ``x`` (B, L, D) with an additive ``bias`` broadcastable to (B, heads, L, L).

    With ``need`` the probabilities are explicit and returned (embedded by
    ``embed`` when given, and then the output is computed from what was read
    back out of the embedded matrix, so it is part of the graph). Without it
    the kernel in force (:func:`attention_kernel`) computes the output, and
    nothing is returned with it.
    """
    b, n, d = x.shape
    h = attn.num_heads
    q, k, v = (proj(x).reshape(b, n, h, d // h).transpose(1, 2) for proj in (attn.q_proj, attn.k_proj, attn.v_proj))
    probs = None
    if need or attention_kernel() == "eager":
        scores = (q @ k.transpose(-2, -1)) * attn.scale
        if bias is not None:
            scores = scores + bias
        probs = scores.softmax(-1)
        used = probs
        if embed is not None:
            probs, used = embed(probs)
        out = used @ v
        probs = probs if need else None
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=attn.scale)
    return attn.out_proj(out.transpose(1, 2).reshape(b, n, d)), probs


def encoder_layer(
    layer: nn.Module,
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    need: bool = False,
    embed: Embedding | None = None,
) -> tuple[torch.Tensor, Any]:
    """A ``CLIPEncoderLayer``: pre-norm attention and MLP, each with a residual."""
    a, probs = attention(layer.self_attn, layer.layer_norm1(x), bias, need, embed)
    x = x + a
    return x + layer.mlp(layer.layer_norm2(x)), probs


def causal_bias(n: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(n, n)``: 0 on and below the diagonal, ``-inf`` above (CLIP's causal text mask)."""
    return torch.full((n, n), float("-inf"), device=device, dtype=dtype).triu(1)
