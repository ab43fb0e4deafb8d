"""Prompt-tuning's ``vilt`` (ViLTModel, src/modeling/ViLT.py): text and vision layers with per-layer prompts.

Layer ``i`` of each tower runs side by side (ViLT.py:34-152). Where the
layer's ``modality-transfer-text`` / ``modality-transfer-vision`` lists are
non-empty (:class:`~.config.LayerTransfer`) it appends learned tokens to its
input and drops every appended token after the layer:

- text: ``text_attention_context[j]`` and, where the layer also appends
  vision context, ``vision_to_text_translations[j](vision_attention_context[j])``;
- vision: ``vision_attention_context[j]`` and, where the layer also appends
  text context, ``text_to_vision_translations[j](text_attention_context[j])``.

Other layers run plainly. The frames start as ``[CLS, patches, visual
prompts]`` (``ctx-len-video`` vectors appended before ``pre_layrnorm``), so
the visual prompts take part until the first such layer drops them. The
text starts as the CoOp prompt; its layers get the raw 0/1 prompt mask as
an additive attention bias, no causal mask. Neither side depends on the
other's input: the exchange goes through learned parameters only, so the
class text features are the same for every clip (computed once, cached).

Features: text ``final_layer_norm`` -> ``text_projection`` on every token,
EOS pooling; vision CLS -> post_layernorm -> visual_projection, masked
frames zeroed, pooled. **Neither is normalised** before the logits
(``exp(logit_scale) * <video, text>``), as in prompt-tuning. ViLT's forward
replaces any text features it is given, so hand-crafted prompts change
nothing (prompt-tuning's hand-crafted logits equal the learned ones).
``raw_text_features()`` stays the CoOp path (``encode_texts``), which
prompt-tuning's Grad-CAM scores frames against.

Prompt-tuning's explainer records attention only in the layers that append
tokens (10 of ViT-B/16's 12 with the published lists).
"""

from __future__ import annotations

import torch

from videoxai.models.families.prompt_tuning.common import RecordsOwnAttentions, append_tokens
from videoxai.models.families.prompt_tuning.config import per_frame_tokens, vilt_layers
from videoxai.models.families.prompt_tuning.coop import CoOpModel
from videoxai.models.families.prompt_tuning.layers import encoder_layer
from videoxai.models.families.prompt_tuning.text import last_real_token


class ViLTModel(RecordsOwnAttentions, CoOpModel):
    """``vilt`` with a CLIP backbone: prompt-tuning's ``ViLTModel``."""

    method = "vilt"
    normalise_frames = False
    normalise_video = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tc, vc = self.clip.config.text_config, self.clip.config.vision_config
        if tc.num_hidden_layers != vc.num_hidden_layers:
            raise ValueError(
                f"vilt runs text and vision layers side by side, but this CLIP has {tc.num_hidden_layers} text and "
                f"{vc.num_hidden_layers} vision layers"
            )
        self.transfer = vilt_layers(self.options, vc.num_hidden_layers)
        self.extra_tokens_per_frame = per_frame_tokens(self.options, vc.num_hidden_layers)

    def text_features(self) -> torch.Tensor:
        """ViLT's class text features (K, D), unnormalised, the same for every clip (cached outside autograd)."""
        return self._text_cache.get(self, self.joint_text_features)

    def joint_text_features(self) -> torch.Tensor:
        """The learned prompts through ViLT's text layers (see the module docstring)."""
        learner, text_model = self.context_learner, self.clip.text_model
        x, mask = self.prompt()
        k, n_t = x.shape[:2]
        _, v2t = learner.translations()
        for layer, step in zip(text_model.encoder.layers, self.transfer):
            extras = [learner.text_attention_context[j] for j in step.text_context]
            extras += [v2t[j] for j in step.vision_to_text]
            seq = append_tokens(x, extras)
            bias = torch.cat([mask, mask.new_ones(k, seq.shape[1] - n_t)], dim=1)
            x, _ = encoder_layer(layer, seq, bias[:, None, None, :].to(seq.dtype))
            x = x[:, :n_t]
        x = self.clip.text_projection(text_model.final_layer_norm(x))
        return last_real_token(x, mask)

    def _tower(
        self, pixels: torch.Tensor, b: int, t: int, need: bool, record: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        learner = self.context_learner
        x = self._embedded(pixels, learner.context_vectors_vision)
        n_v = 1 + self.grid * self.grid
        t2v, _ = learner.translations()
        attn: list[torch.Tensor] = []
        for layer, step in zip(self.clip.vision_model.encoder.layers, self.transfer):
            extras = [learner.vision_attention_context[j] for j in step.vision_context]
            extras += [t2v[j] for j in step.text_to_vision]
            seq = append_tokens(x, extras)
            keep = need and (step.joint or not record)  # prompt-tuning records the joint layers only
            embed = None if record else self._layer_embedding(b, t, seq.shape[1] - n_v, need)
            x, p = encoder_layer(layer, seq, need=keep, embed=embed)
            if step.joint:
                x = x[:, :n_v]
            if keep:
                attn.append(p[..., :n_v, :n_v] if record else p)
        return x[:, 0], attn
