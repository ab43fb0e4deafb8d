"""Prompt-tuning's ``dual_coop`` (DualModel, src/modeling/Dual.py): CoOp text prompts plus visual prompts.

``ctx-len-video`` learned visual prompt vectors are appended *after* every
frame's patch tokens, before ``pre_layrnorm``; with
``keep-vision-prompts-throughout`` false they are dropped after every layer
(so they take part in the first layer only), else they run through all
layers. The CLS token then gives the frame feature, which is **not**
normalised before the temporal pooling (Dual.py:20, ``normalize=False``).
"""

from __future__ import annotations

import torch

from videoxai.models.families.prompt_tuning.config import per_frame_tokens
from videoxai.models.families.prompt_tuning.coop import CoOpModel
from videoxai.models.families.prompt_tuning.layers import encoder_layer


class DualModel(CoOpModel):
    """``dual_coop`` with a CLIP backbone: prompt-tuning's ``DualModel``."""

    method = "dual_coop"
    normalise_frames = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # per-frame prefix tokens of the joint layout (excluded from maps)
        self.extra_tokens_per_frame = per_frame_tokens(self.options, self.clip.config.vision_config.num_hidden_layers)

    def vision_prompts(self) -> tuple[torch.Tensor | None, bool]:
        """Prompt-tuning's explainer appends the learned visual prompts (``context_vectors_vision``) to every frame."""
        return self.context_learner.context_vectors_vision, bool(self.options.keep_vision_prompts)

    def _tower(self, pixels: torch.Tensor, b: int, t: int, need: bool | str) -> tuple[torch.Tensor, list]:
        prompts = self.context_learner.context_vectors_vision
        x = self._embedded(pixels, prompts)
        n_keep = x.shape[1] if self.options.keep_vision_prompts else x.shape[1] - prompts.shape[0]
        attn: list[torch.Tensor] = []
        for layer in self.clip.vision_model.encoder.layers:
            extra = x.shape[1] - 1 - self.grid * self.grid  # prompts still in the sequence
            x, p = encoder_layer(layer, x, need=need, embed=self._layer_embedding(b, t, extra, need))
            x = x[:, :n_keep]
            if need:
                attn.append(p)
        return x[:, 0], attn
