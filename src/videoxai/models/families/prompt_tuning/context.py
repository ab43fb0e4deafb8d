"""Prompt-tuning's context learners: every trained parameter of a run, under prompt-tuning's own names.

A prompt-tuning ``.pt`` file's ``context_state_dict`` is the ``state_dict()`` of its
``TextContextLearner`` / ``DualContextLearner`` / ``ViLTContextLearner`` /
``ViTaContextLearner`` / ``STTContextLearner`` (src/modeling/ContextLearners.py);
the CLIP backbone is not saved. This
module declares the same parameters under the same names and shapes, so that
dictionary loads strictly:

- all: ``context_vectors_text`` (ctx-len, text width), ``logit_scale`` (init
  ``log(1/0.07)``), and for attention pooling ``temporal_pooling.query``
  (1, 1, text width) with one ``temporal_pooling.attention``
  (``nn.MultiheadAttention``, embed dim = text width, ``batch_first``);
  (``vidop``: ctx-len 0);
- all but ``video_coop``: ``context_vectors_vision`` (ctx-len-video, vision width);
- ``vita`` and ``stt`` per vision layer ``i``: ``summary_projection.i`` (Linear),
  ``layer_norms_pre_summary.i``, ``summary_attention_layers.i``
  (``nn.MultiheadAttention``, ``num-heads-summary-attention`` heads), and
  ``frame_level_tokens`` (num-frames, num-frame-tokens, vision width); ``stt``
  also ``summary_to_text_projections.i`` (Linear(frames x vision width -> text width),
  only for the layers in ``layers-with-summary-to-text``);
- ``vilt`` per layer ``i`` where its modality-transfer lists ask for them:
  ``text_attention_context.i`` (num-tokens-per-layer-text, text width),
  ``vision_attention_context.i``, ``text_to_vision_translations.i`` and
  ``vision_to_text_translations.i`` (Linear between the widths).

Temporal pooling is here too, because prompt-tuning keeps it on the context
learner: ``mean`` (masked frames are zeroed by the caller but still counted),
``max``, or ``attention`` (a learned query attending over the frames).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from videoxai.models.checkpoints.files import CheckpointError
from videoxai.models.families.prompt_tuning.config import (
    SUMMARY_METHODS,
    VISUAL_PROMPT_METHODS,
    RunOptions,
    vilt_layers,
)


class AttentionPooling(nn.Module):
    """A learned query attends over the T frame features of each view: ``(B, V, T, D) -> (B, V, D)``.

    Prompt-tuning's ``AttentionPooling`` (src/modeling/utils.py), computed
    explicitly so the per-head frame weights can be returned to explainers
    and the output computed from them.
    """

    def __init__(self, embed_dim: int, num_heads: int = 1):
        super().__init__()
        self.attention = nn.MultiheadAttention(embed_dim=embed_dim, num_heads=num_heads, batch_first=True)
        self.query = nn.Parameter(torch.randn(1, 1, embed_dim))

    def weights(self, feats: torch.Tensor) -> torch.Tensor:
        """Per-head attention of the query over the frames: ``(N, T, D) -> (N, heads, T)``."""
        mha = self.attention
        d = feats.shape[-1]
        h = mha.num_heads
        w_q, w_k, _ = mha.in_proj_weight.chunk(3)
        b_q, b_k, _ = mha.in_proj_bias.chunk(3)
        q = nn.functional.linear(self.query[:, 0], w_q, b_q).reshape(1, h, 1, d // h)
        k = nn.functional.linear(feats, w_k, b_k).reshape(feats.shape[0], -1, h, d // h).transpose(1, 2)
        scores = (q * math.sqrt(1.0 / (d // h))) @ k.transpose(-2, -1)  # (N, h, 1, T)
        return scores.softmax(-1)[:, :, 0]

    def pool(self, feats: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Apply per-head ``weights`` (N, heads, T) to ``feats`` (N, T, D): values, weighted sum, out_proj."""
        mha = self.attention
        n, t, d = feats.shape
        h = mha.num_heads
        _, _, w_v = mha.in_proj_weight.chunk(3)
        _, _, b_v = mha.in_proj_bias.chunk(3)
        v = nn.functional.linear(feats, w_v, b_v).reshape(n, t, h, d // h).transpose(1, 2)  # (N, h, T, hd)
        out = (weights[:, :, None, :] @ v)[:, :, 0]  # (N, h, hd)
        return mha.out_proj(out.reshape(n, d))


def frame_weights(learner: ContextLearner, feats: torch.Tensor) -> torch.Tensor:
    """How each view's pooled feature weighs its frames, ``(N, heads, T)`` for ``feats`` (N, T, D).

    ``mean``: 1/T each (one head). ``attention``: the learned query's
    per-head weights. ``max`` picks a frame per feature dimension, which no
    frame weighting reproduces: its weights are each frame's share of the
    dimensions it wins (what an explainer can show), and :func:`pool_frames`
    takes the true maximum (through those weights, so it has a gradient).
    """
    n, t, _ = feats.shape
    if learner.pooling == "attention":
        return learner.temporal_pooling.weights(feats)
    if learner.pooling == "max":
        wins = nn.functional.one_hot(feats.argmax(1), t).to(feats.dtype)  # (N, D, T)
        return wins.mean(1)[:, None]
    return feats.new_full((n, 1, t), 1.0 / t)


def pool_frames(learner: ContextLearner, feats: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Prompt-tuning's temporal pooling of ``feats`` (N, T, D) -> (N, D).

    ``weights`` (from :func:`frame_weights`, possibly read back from an
    explainer's attention matrix) are used when given, so the output is
    computed from them; ``max`` always gives the true maximum.
    """
    if learner.pooling == "max":
        if weights is None:
            return feats.max(1).values
        # the same maximum, each frame's winning entries scaled by w_t / w_t (= 1): d(out)/dw exists
        wins = nn.functional.one_hot(feats.argmax(1), feats.shape[1]).transpose(1, 2).to(feats.dtype)
        w = weights[:, 0]
        unit = torch.where(
            w > 0,
            w / w.detach().clamp_min(torch.finfo(w.dtype).tiny),
            torch.zeros_like(w),
        )
        return (wins * feats * unit[..., None]).sum(1)
    if learner.pooling == "attention":
        return learner.temporal_pooling.pool(feats, frame_weights(learner, feats) if weights is None else weights)
    if weights is None:
        return feats.mean(1)
    return (weights[:, 0, :, None] * feats).sum(1)


class ContextLearner(nn.Module):
    """Every trained parameter of a prompt-tuning run, named as in its ``context_state_dict``."""

    def __init__(
        self,
        options: RunOptions,
        text_width: int,
        vision_width: int,
        vision_layers: int,
    ):
        super().__init__()
        o = options
        self.method = o.method
        self.pooling = o.temporal_pooling
        std = o.std_init
        self.context_vectors_text = nn.Parameter(torch.randn(o.ctx_len, text_width) * std)
        if o.temporal_pooling == "attention":
            # prompt-tuning sizes it by the text width (it pools projected features: equal widths in CLIP)
            self.temporal_pooling = AttentionPooling(text_width, o.pooling_heads)
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        if o.method in VISUAL_PROMPT_METHODS:
            self.context_vectors_vision = nn.Parameter(torch.randn(o.ctx_len_video, vision_width) * std)
        if o.method in SUMMARY_METHODS:
            frames = int(o.num_frames)  # checked by RunOptions
            self.summary_projection = nn.ModuleList(nn.Linear(vision_width, vision_width) for _ in range(vision_layers))
            self.layer_norms_pre_summary = nn.ModuleList(nn.LayerNorm(vision_width) for _ in range(vision_layers))
            self.summary_attention_layers = nn.ModuleList(
                nn.MultiheadAttention(embed_dim=vision_width, num_heads=o.summary_heads, batch_first=True)
                for _ in range(vision_layers)
            )
            self.frame_level_tokens = nn.Parameter(torch.randn(frames, o.num_frame_tokens, vision_width) * std)
        if o.method == "vilt":
            self._init_transfer(o, text_width, vision_width, vision_layers)
        if o.method == "stt":
            # None where a layer sends no summary to the text (no state_dict entry, as in prompt-tuning)
            self.summary_to_text_projections = nn.ModuleList(
                nn.Linear(vision_width * frames, text_width) if i in o.summary_to_text_layers else None
                for i in range(vision_layers)
            )

    def _init_transfer(self, o: RunOptions, text_width: int, vision_width: int, layers: int) -> None:
        """ViLT's per-layer prompts and modality translations (ContextLearners.py's ``ViLTContextLearner``).

        Layer ``i`` holds ``text_attention_context.i`` where its
        ``modality-transfer-text`` entry's first list is non-empty,
        ``vision_to_text_translations.i`` where the second is, and
        ``vision_attention_context.i`` / ``text_to_vision_translations.i``
        likewise for ``modality-transfer-vision`` (no entry elsewhere, as in
        prompt-tuning's state dict). :func:`vilt_layers` checks the lists.
        """
        vilt_layers(o, layers)
        text, vision = o.transfer_text[:layers], o.transfer_vision[:layers]
        self.text_attention_context = nn.ParameterList(
            nn.Parameter(torch.randn(o.tokens_per_layer_text, text_width)) if t else None for t, _ in text
        )
        self.vision_attention_context = nn.ParameterList(
            nn.Parameter(torch.randn(o.tokens_per_layer_vision, vision_width)) if v else None for v, _ in vision
        )
        self.vision_to_text_translations = nn.ModuleList(
            nn.Linear(vision_width, text_width) if v2t else None for _, v2t in text
        )
        self.text_to_vision_translations = nn.ModuleList(
            nn.Linear(text_width, vision_width) if t2v else None for _, t2v in vision
        )

    def translations(self) -> tuple[list[torch.Tensor | None], list[torch.Tensor | None]]:
        """ViLT's per-layer translated prompts: text->vision and vision->text (None where a layer has none)."""
        t2v = [
            f(c) if f is not None and c is not None else None
            for f, c in zip(self.text_to_vision_translations, self.text_attention_context)
        ]
        v2t = [
            f(c) if f is not None and c is not None else None
            for f, c in zip(self.vision_to_text_translations, self.vision_attention_context)
        ]
        return t2v, v2t

    def scale(self) -> torch.Tensor:
        """``exp(logit_scale)``, with prompt-tuning's clamp of ``logit_scale`` at ``log(100)``."""
        return self.logit_scale.clamp(max=math.log(100)).exp()

    def load_context_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a prompt-tuning ``context_state_dict`` strictly; every missing, extra or mis-shaped entry is named."""
        own = self.state_dict()
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        shapes = [
            f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
            for k in sorted(set(own) & set(state_dict))
            if tuple(state_dict[k].shape) != tuple(own[k].shape)
        ]
        if missing or unexpected or shapes:
            parts = []
            if shapes:
                parts.append("shape mismatches (" + "; ".join(shapes) + ")")
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            hint = (
                "the checkpoint was trained on another CLIP backbone than 'clip-model' names"
                if shapes
                else "the run config does not describe the run these weights come from "
                "(method, temporal-pooling, ctx-len, layers-with-summary-to-text)"
            )
            raise CheckpointError(
                f"the {self.method} context_state_dict does not fit the model built from its run config: "
                + ", ".join(parts)
                + f"; {hint}"
            )
        self.load_state_dict(state_dict, strict=True)
