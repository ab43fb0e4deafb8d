"""Prompt-tuning's ``vita`` (ViTaModel, src/modeling/ViTa.py): per-layer summary tokens over each frame.

Vision (ViTa.py:37-115): every vision layer runs the summary step that
``stt`` extends (:mod:`.summary`): a summary token from the frame's CLS, the
learned frame-level tokens (of that frame's index, plus the previous layer's
normalised CLS with ``has-discriminative-conditioning``) and the learned
video tokens join the frame's tokens for that layer only. Then CLS ->
post_layernorm -> visual_projection per frame, **not** normalised, masked
frames zeroed, pooled, normalised.

Text: the CoOp prompt through CLIP's text encoder (``encode_texts``),
normalised. With hand-crafted prompts prompt-tuning passes
``get_text_features`` to ``forward`` as they are, and ViTa's ``forward``
(unlike CoOp's) does not normalise text features it is given: the
hand-crafted logits use **unnormalised** text features, kept here.

Prompt-tuning's explainer records the attention of this path (each frame's
CLS and patch tokens of every layer), not the plain CLIP tower's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from videoxai.models.families.prompt_tuning.common import RecordsOwnAttentions, check_frames
from videoxai.models.families.prompt_tuning.config import per_frame_tokens
from videoxai.models.families.prompt_tuning.coop import CoOpModel
from videoxai.models.families.prompt_tuning.summary import learned_tokens, summary_layer


class ViTaModel(RecordsOwnAttentions, CoOpModel):
    """``vita`` with a CLIP backbone: prompt-tuning's ``ViTaModel``."""

    method = "vita"
    normalise_frames = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # per-frame prefix tokens of the joint layout (excluded from maps)
        self.extra_tokens_per_frame = per_frame_tokens(self.options, self.clip.config.vision_config.num_hidden_layers)

    def text_features(self) -> torch.Tensor:
        """Learned prompts normalised (K, D); hand-crafted ones as CLIP gives them (see the module docstring)."""
        raw = self._text_cache.get(self, self.raw_text_features)
        return raw if self.handcrafted else F.normalize(raw, dim=-1)

    def _tower(
        self, pixels: torch.Tensor, b: int, t: int, need: bool, record: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        check_frames(self, t)
        learner = self.context_learner
        x = self._embedded(pixels)
        n_v = x.shape[1]
        frame_tokens, video_tokens = learned_tokens(learner, b)
        condition = self.options.discriminative_conditioning
        prev_cls = None
        attn: list[torch.Tensor] = []
        for i, layer in enumerate(self.clip.vision_model.encoder.layers):
            embed = None if record else self._layer_embedding(b, t, self.extra_tokens_per_frame, need)
            x, cls_norm, _, p = summary_layer(
                learner, i, layer, x, prev_cls, frame_tokens, video_tokens, need=need, embed=embed
            )
            prev_cls = cls_norm if condition else None
            if need:
                attn.append(p[..., :n_v, :n_v] if record else p)
        return x[:, 0], attn
