"""Prompt-tuning's ``stt`` (STTModel, src/modeling/STT.py): text and vision layers run side by side.

Per layer ``i`` (over ``zip(text layers, vision layers)``, STT.py:59-220):

- vision: each frame's CLS goes through ``summary_projection[i]``, a
  LayerNorm and ``summary_attention_layers[i]``; prompt-tuning calls that
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

Two of prompt-tuning's behaviours are kept because its logits depend on them:

- the prompt mask is repeated class-major (``repeat_interleave`` over B, then
  V) while the text rows are clip-major, so text row ``(b, v, k)`` uses the
  mask of class ``((b*V + v)*K + k) // (B*V)``, both as the attention bias and
  for the EOS position. The logits therefore depend on how many clips and
  views are in a batch (not only on each clip): for prompt-tuning's numbers,
  batch as prompt-tuning did;
- ``use-handcrafted-prompts`` changes nothing: STTModel.forward ignores the
  text features the evaluation passes (so do the hand-crafted logits here).

Explainers (``forward_with_attention``, Grad-CAM) use **this** vision path,
the one that produces the logits: each layer's attention over a frame's
``[CLS, patches, summary, frame-level tokens, video prompts]``, embedded in
the joint token set (the per-frame extra tokens are prefix tokens, left out
of the maps), then the temporal pooling. Prompt-tuning's own explainer instead
ran the plain CLIP vision tower for stt; the prompt-tuning convention reproduces that.
"""

from __future__ import annotations

import torch

from videoxai.models.families.prompt_tuning.common import PromptTuningModel, as_views, check_frames, normalise
from videoxai.models.families.prompt_tuning.config import per_frame_tokens
from videoxai.models.families.prompt_tuning.layers import encoder_layer
from videoxai.models.families.prompt_tuning.summary import learned_tokens, summary_layer
from videoxai.models.families.prompt_tuning.text import last_real_token


class STTModel(PromptTuningModel):
    """``stt`` with a CLIP backbone: prompt-tuning's ``STTModel``."""

    method = "stt"
    batch_independent = False  # the class-major prompt mask (module docstring): logits depend on the batch

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # per-frame prefix tokens of the joint layout (excluded from maps)
        self.extra_tokens_per_frame = per_frame_tokens(self.options, self.clip.config.vision_config.num_hidden_layers)

    def text_features(self) -> torch.Tensor:
        raise NotImplementedError(
            "stt's text features depend on the clip (its layers read the video's summary tokens): "
            "use upstream_forward(video)[1], shape (B, V, K, D)"
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

        embeds, prompt_mask = self.prompt()  # (K, Nt, Dt), (K, Nt)
        k, nt, dt = embeds.shape
        text = embeds.unsqueeze(0).expand(b * v, -1, -1, -1).reshape(b * v * k, nt, dt)
        row_mask = prompt_mask.repeat_interleave(b * v, dim=0)  # class-major rows, used on clip-major text rows

        x = self._embedded(self._pixels(video))
        d = x.shape[2]
        prev_cls = None
        frame_tokens, video_tokens = learned_tokens(learner, b * v)
        attn: list[torch.Tensor] = []
        extra = self.extra_tokens_per_frame
        for i, (text_layer, vision_layer) in enumerate(zip(clip.text_model.encoder.layers, vm.encoder.layers)):
            embed = self._layer_embedding(b * v, t, extra, need)
            x, prev_cls, summary, p = summary_layer(
                learner, i, vision_layer, x, prev_cls, frame_tokens, video_tokens, need=need, embed=embed
            )
            if need:
                attn.append(p)

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

    def upstream_forward(
        self,
        video: torch.Tensor,
        mask: torch.Tensor | None = None,
        softmax: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompt-tuning's ``forward``: logits (B, K), text features (B, V, K, D) unnormalised, video (B, V, D)."""
        text, video_features, _ = self._run(video, mask, False)
        return self.logits(video_features, text, softmax), text, video_features

    def _forward_attention(self, video: torch.Tensor, form: str) -> tuple[torch.Tensor, list]:
        text, video_features, attn = self._run(video, None, form)
        return self.logits(video_features, text), attn
