"""Prompt-tuning's ``video_coop`` (CoOpModel, src/modeling/CoOp.py): CoOp text prompts, per-frame plain CLIP.

Video side (CoOp.py:144-188, 261-274): every frame through CLIP's image tower
(``get_image_features``: CLS -> post_layernorm -> visual_projection),
L2-normalised per frame, masked frames zeroed, pooled over time (mean,
max, or attention pooling), normalised again.
"""

from __future__ import annotations

import torch

from videoxai.models.families.prompt_tuning.common import PromptTuningModel, as_views, normalise
from videoxai.models.families.prompt_tuning.layers import encoder_layer


class CoOpModel(PromptTuningModel):
    """``video_coop`` with a CLIP backbone: prompt-tuning's ``CoOpModel``."""

    method = "video_coop"
    normalise_frames = True  # CoOp.py:178 (Dual.py:20 turns it off)
    normalise_video = True  # the pooled feature (ViLT.py leaves it as it is)

    def _tower(self, pixels: torch.Tensor, b: int, t: int, need: bool | str) -> tuple[torch.Tensor, list]:
        """CLS token of every frame after the vision encoder, ``(N, width)``, and the embedded attentions."""
        x = self._embedded(pixels)
        attn: list[torch.Tensor] = []
        emb = self._layer_embedding(b, t, 0, need)
        for layer in self.clip.vision_model.encoder.layers:
            x, p = encoder_layer(layer, x, need=need, embed=emb)
            if need:
                attn.append(p)
        return x[:, 0], attn

    def frame_features(self, video: torch.Tensor, need: bool | str = False) -> tuple[torch.Tensor, list]:
        """Per-frame features ``(B, V, T, D)`` as prompt-tuning pools them, and the attentions when ``need``."""
        b, v, t = video.shape[:3]
        cls, attn = self._tower(self._pixels(video), b * v, t, need)
        feats = self.clip.visual_projection(self.clip.vision_model.post_layernorm(cls))
        if self.normalise_frames:
            feats = normalise(feats)
        return feats.reshape(b, v, t, -1), attn

    def video_features(
        self, video: torch.Tensor, mask: torch.Tensor | None = None, need: bool | str = False
    ) -> tuple[torch.Tensor, list]:
        """Pooled, normalised video features ``(B, V, D)`` (and the attentions, with the pooling entry)."""
        video, mask = as_views(video, mask)
        b, v, t = video.shape[:3]
        feats, attn = self.frame_features(video, need)
        if mask is not None:
            feats = feats * mask[..., None].to(feats.dtype)  # zeroed, still counted (CoOp.py:268-270)
        pooled = self._pool(feats.reshape(b * v, t, -1), need, attn).reshape(b, v, -1)
        return (normalise(pooled) if self.normalise_video else pooled), attn

    def upstream_forward(
        self,
        video: torch.Tensor,
        mask: torch.Tensor | None = None,
        softmax: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompt-tuning's ``forward``: logits (B, K), normalised text features (K, D), video features (B, V, D)."""
        video_features, _ = self.video_features(video, mask)
        text = self.text_features()
        return self.logits(video_features, text, softmax), text, video_features

    def _forward_attention(self, video: torch.Tensor, form: str) -> tuple[torch.Tensor, list]:
        video_features, attn = self.video_features(video, None, need=form)
        return self.logits(video_features, self.text_features()), attn
