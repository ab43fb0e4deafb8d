"""The per-layer summary step of ``vita`` and ``stt`` (ViTa.py / STT.py ``layer_forward``), shared by both.

Before vision layer ``i`` each frame's CLS goes through
``summary_projection[i]``, a LayerNorm and ``summary_attention_layers[i]``;
prompt-tuning calls that attention on ``(frames, 1, D)`` with
``batch_first``, so each frame's summary attends to itself only, plus a
residual. The layer then sees ``[frame tokens, summary, frame-level tokens,
video prompt tokens]`` and only the frame tokens are kept. The frame-level
tokens get the previous layer's normalised CLS added where the family
conditions on it (stt always; vita with ``has-discriminative-conditioning``).
"""

from __future__ import annotations

import torch
from torch import nn

from videoxai.models.families.prompt_tuning.context import ContextLearner
from videoxai.models.families.prompt_tuning.layers import Embedding, encoder_layer


def learned_tokens(learner: ContextLearner, clips: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame-level tokens (clips*T, n, D), frame ``t`` of each clip getting its own, and video tokens (clips*T, m, D)."""
    frames, n, d = learner.frame_level_tokens.shape
    frame_tokens = learner.frame_level_tokens.unsqueeze(0).expand(clips, -1, -1, -1).reshape(clips * frames, n, d)
    video_tokens = learner.context_vectors_vision.unsqueeze(0).expand(clips * frames, -1, -1)
    return frame_tokens, video_tokens


def summary_layer(
    learner: ContextLearner,
    i: int,
    layer: nn.Module,
    x: torch.Tensor,
    prev_cls: torch.Tensor | None,
    frame_tokens: torch.Tensor,
    video_tokens: torch.Tensor,
    *,
    need: bool = False,
    embed: Embedding | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Vision layer ``i`` on frames ``x`` (F, N, D) with the summary tokens.

    ``frame_tokens`` (F, n, D) and ``video_tokens`` (F, m, D) are the learned
    per-frame and video tokens; ``prev_cls`` (F, 1, D) is added to the frame
    tokens when given. Returns the frame tokens after the layer, this layer's
    normalised CLS (the next layer's ``prev_cls``), the summary tokens
    (F, 1, D) and the attention (``need``).
    """
    cls_norm = learner.layer_norms_pre_summary[i](learner.summary_projection[i](x[:, :1]))
    # its weights are never read (one token attends to itself): need_weights=False lets torch take its fused path
    summary, _ = learner.summary_attention_layers[i](cls_norm, cls_norm, cls_norm, need_weights=False)
    summary = summary + cls_norm
    ft = frame_tokens if prev_cls is None else frame_tokens + prev_cls
    seq = torch.cat([x, summary, ft, video_tokens.to(x.dtype)], dim=1)
    out, probs = encoder_layer(layer, seq, need=need, embed=embed)
    return out[:, : x.shape[1]], cls_norm, summary, probs
