"""The origin's ``dual_coop`` (DualModel, src/modeling/Dual.py): CoOp text prompts plus visual prompts.

``ctx-len-video`` learned visual prompt vectors are appended *after* every
frame's patch tokens, before ``pre_layrnorm``; with
``keep-vision-prompts-throughout`` false they are dropped after every layer
(so they take part in the first layer only), else they run through all
layers. The CLS token then gives the frame feature, which is **not**
normalised before the temporal pooling (Dual.py:20, ``normalize=False``).
"""

from __future__ import annotations

import torch

from .coop import OriginCoOp
from .layers import encoder_layer


class OriginDual(OriginCoOp):
    """``dual_coop`` with a CLIP backbone: the origin's ``DualModel``."""

    method = "dual_coop"
    normalise_frames = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the visual prompts are per-frame prefix tokens of the joint layout (excluded from maps)
        self.extra_tokens_per_frame = self.options.ctx_len_video

    def _tower(self, pixels: torch.Tensor, b: int, t: int, need: bool | str) -> tuple[torch.Tensor, list]:
        vm = self.clip.vision_model
        prompts = self.context_learner.context_vectors_vision
        x = vm.embeddings(pixels)
        x = torch.cat([x, prompts.unsqueeze(0).expand(x.shape[0], -1, -1).to(x.dtype)], dim=1)
        n_keep = x.shape[1] if self.options.keep_vision_prompts else x.shape[1] - prompts.shape[0]
        x = vm.pre_layrnorm(x)
        attn: list[torch.Tensor] = []
        for layer in vm.encoder.layers:
            extra = x.shape[1] - 1 - self.grid * self.grid  # prompts still in the sequence
            x, p = encoder_layer(layer, x, need=need, embed=self._layer_embedding(b, t, extra, need))
            x = x[:, :n_keep]
            if need:
                attn.append(p)
        return x[:, 0], attn
