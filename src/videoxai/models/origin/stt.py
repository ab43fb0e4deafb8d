"""The origin's ``stt`` (STTModel, src/modeling/STT.py): text and vision layers run side by side.

Per layer ``i`` (over ``zip(text layers, vision layers)``, STT.py:59-220):

- vision: each frame's CLS goes through ``summary_projection[i]``, a
  LayerNorm and ``summary_attention_layers[i]``; the origin calls that
  attention on ``(B*V*T, 1, D)`` with ``batch_first``, so each frame's
  summary attends to itself only, plus a residual. The layer then sees
  ``[frame tokens, summary, frame-level tokens (+ the previous layer's
  normalised CLS), video prompt tokens]`` and only the frame tokens are kept;
- text: the learned prompts of every class, per clip and view, plus (in the
  layers of ``layers-with-summary-to-text``) one token
  ``Linear(T x D_vision -> D_text)`` of the frames' summaries; the raw 0/1
  prompt mask is an additive attention bias, with no causal mask.

After the last layer: ``final_layer_norm`` and ``text_projection`` on every
text token, EOS pooling; text features ``(B, V, K, D)`` that depend on the
clip and are **not** normalised. Video: CLS -> post_layernorm ->
visual_projection per frame, masked frames zeroed, pooled, normalised.

Two of the origin's behaviours are kept because its logits depend on them:

- the prompt mask is repeated class-major (``repeat_interleave`` over B, then
  V) while the text rows are clip-major, so text row ``(b, v, k)`` uses the
  mask of class ``((b*V + v)*K + k) // (B*V)``, both as the attention bias and
  for the EOS position. The logits therefore depend on how many clips and
  views are in a batch (not only on each clip): for the origin's numbers,
  batch as the origin did;
- ``use-handcrafted-prompts`` changes nothing: STTModel.forward ignores the
  text features the evaluation passes (so do the hand-crafted logits here).

Explainers (``forward_with_attention``, Grad-CAM) use **this** vision path,
the one that produces the logits: each layer's attention over a frame's
``[CLS, patches, summary, frame-level tokens, video prompts]``, embedded in
the joint token set (the per-frame extra tokens are prefix tokens, left out
of the maps), then the temporal pooling. The origin's own explainer instead
ran the plain CLIP vision tower for stt; the seed convention reproduces that.
"""

from __future__ import annotations

import torch

from .common import OriginPromptModel, as_views, check_frames, normalise
from .layers import encoder_layer
from .text import last_real_token


class OriginSTT(OriginPromptModel):
    """``stt`` with a CLIP backbone: the origin's ``STTModel``."""

    method = "stt"
    batch_independent = False  # the class-major prompt mask (module docstring): logits depend on the batch

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        o = self.options
        # summary token, frame-level tokens, video prompt tokens: per-frame prefix tokens
        self.extra_tokens_per_frame = 1 + o.num_frame_tokens + o.ctx_len_video

    def text_features(self) -> torch.Tensor:
        raise NotImplementedError(
            "stt's text features depend on the clip (its layers read the video's summary tokens): "
            "use origin_forward(video)[1], shape (B, V, K, D)"
        )

    def _run(
        self, video: torch.Tensor, mask: torch.Tensor | None, need: bool | str
    ) -> tuple[torch.Tensor, torch.Tensor, list]:
        """Text features (B, V, K, D) unnormalised, video features (B, V, D) normalised, attentions."""
        video, mask = as_views(video, mask)
        b, v, t = video.shape[:3]
        check_frames(self, t)
        learner, clip = self.context_learner, self.clip
        vm = clip.vision_model
        bvt = b * v * t

        embeds, prompt_mask = self.prompt()  # (K, Nt, Dt), (K, Nt)
        k, nt, dt = embeds.shape
        text = embeds.unsqueeze(0).expand(b * v, -1, -1, -1).reshape(b * v * k, nt, dt)
        row_mask = prompt_mask.repeat_interleave(b * v, dim=0)  # class-major rows, used on clip-major text rows

        x = vm.pre_layrnorm(vm.embeddings(self._pixels(video)))
        if torch.is_grad_enabled() and not x.requires_grad:
            x = x.detach().requires_grad_(True)  # frozen backbone: keep a graph for Grad-CAM
        n_v, d = x.shape[1], x.shape[2]
        prev_cls = None
        frame_tokens = learner.frame_level_tokens.unsqueeze(0).expand(b * v, -1, -1, -1).reshape(bvt, -1, d)
        video_tokens = learner.context_vectors_vision.unsqueeze(0).expand(bvt, -1, -1)
        attn: list[torch.Tensor] = []
        extra = self.extra_tokens_per_frame
        for i, (text_layer, vision_layer) in enumerate(zip(clip.text_model.encoder.layers, vm.encoder.layers)):
            cls_norm = learner.layer_norms_pre_summary[i](learner.summary_projection[i](x[:, :1]))
            summary, _ = learner.summary_attention_layers[i](cls_norm, cls_norm, cls_norm)
            summary = summary + cls_norm  # (BVT, 1, D)
            ft = frame_tokens if prev_cls is None else frame_tokens + prev_cls
            seq = torch.cat([x, summary, ft, video_tokens.to(x.dtype)], dim=1)
            x, p = encoder_layer(
                vision_layer,
                seq,
                need=need,
                embed=self._layer_embedding(b * v, t, extra, need),
            )
            x = x[:, :n_v]
            if need:
                attn.append(p)
            prev_cls = cls_norm

            to_text = learner.summary_to_text_projections[i]
            bias = row_mask
            seq_t = text
            if to_text is not None:
                s = to_text(summary.reshape(b * v, t * d))  # (BV, Dt)
                s = s[:, None, None, :].expand(-1, k, 1, -1).reshape(b * v * k, 1, dt)
                seq_t = torch.cat([text, s], dim=1)
                bias = torch.cat(
                    [
                        row_mask,
                        torch.ones(row_mask.shape[0], 1, device=row_mask.device),
                    ],
                    dim=1,
                )
            out, _ = encoder_layer(text_layer, seq_t, bias[:, None, None, :].to(seq_t.dtype))
            text = out[:, :nt]

        text = clip.text_projection(clip.text_model.final_layer_norm(text))
        text_features = last_real_token(text, row_mask).reshape(b, v, k, -1)

        cls = clip.visual_projection(vm.post_layernorm(x[:, 0]))  # (BVT, D)
        feats = cls.reshape(b, v, t, -1)
        if mask is not None:
            feats = feats * mask[..., None].to(feats.dtype)
        pooled = self._pool(feats.reshape(b * v, t, -1), need, attn)
        return text_features, normalise(pooled.reshape(b, v, -1)), attn

    def origin_forward(
        self,
        video: torch.Tensor,
        mask: torch.Tensor | None = None,
        softmax: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The origin's ``forward``: logits (B, K), text features (B, V, K, D) unnormalised, video (B, V, D)."""
        text, video_features, _ = self._run(video, mask, False)
        return self.logits(video_features, text, softmax), text, video_features

    def _forward_attention(self, video: torch.Tensor, form: str) -> tuple[torch.Tensor, list]:
        text, video_features, attn = self._run(video, None, form)
        return self.logits(video_features, text), attn
