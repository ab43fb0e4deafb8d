"""The demo models of the prompt-tuning families: space-time video tower + CoOp class prompts.

logits = exp(logit_scale) * cosine(video embedding, class text embedding).
The video embedding is the tower's global token, projected and passed
through a BatchNorm without affine parameters (on the demo this keeps the
video embeddings spread out, so their cosines to the class prompts can
separate). The families differ only in the tower's tokens:

* ``video_coop``: one global CLS token;
* ``dual_coop``: plus learned visual prompt tokens in every frame's spatial
  attention (kept through all blocks, or only the first);
* ``stt``: a video-level token and one summary token per frame that attend
  among themselves after every spatial attention (the video token reads
  frames only through the frame tokens).

This tower is the documented ``demo`` backbone (``model.backbone: demo``, the
default; ``spacetime`` is the same). A config with ``model.backbone: clip``
under the same method names is prompt-tuning's model on a CLIP backbone: the
registry (:func:`videoxai.models.families.registry.family_of`) sends it to
:mod:`videoxai.models.families.prompt_tuning`, never to these classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.models.base import GradCamTarget, InputSpec, TokenLayout, VideoClassifier
from videoxai.models.families.demo.prompt_text import PromptTextConfig, PromptTextEncoder
from videoxai.models.families.demo.tokenizer import WordTokenizer
from videoxai.models.families.demo.tower import SpaceTimeConfig, SpaceTimeTower
from videoxai.models.families.registry import register_method

DEMO_MEAN = (0.5, 0.5, 0.5)
DEMO_STD = (0.25, 0.25, 0.25)


def forward_views(model: nn.Module, video: torch.Tensor, fn: Callable[[torch.Tensor], Any]) -> Any:
    """Accept ``(B, T, C, H, W)`` or multi-view ``(B, V, T, C, H, W)`` (logits averaged over views)."""
    if video.ndim == 6:
        b, v = video.shape[:2]
        out = fn(video.flatten(0, 1))
        if isinstance(out, tuple):
            return (out[0].reshape(b, v, -1).mean(1),) + out[1:]
        return out.reshape(b, v, -1).mean(1)
    return fn(video)


class PromptVideoModel(VideoClassifier):
    """Divided space-time tower + learned-context class prompts, cosine logits (base of the families)."""

    method = ""

    def __init__(
        self,
        class_names: Sequence[str],
        tower: SpaceTimeConfig | None = None,
        text: PromptTextConfig | None = None,
        tokenizer: WordTokenizer | None = None,
        mean: Sequence[float] = DEMO_MEAN,
        std: Sequence[float] = DEMO_STD,
        embed_bn: bool = True,
    ):
        super().__init__()
        tower = self.check_tower(tower or self.default_tower())
        text = text or PromptTextConfig(embed_dim=tower.width)
        # the class names' words only (as the shipped demo checkpoints have): a handcrafted template's
        # other words get fixed fallback vectors, so the vocabulary never depends on the template
        tokenizer = tokenizer or WordTokenizer.from_texts(class_names)
        self.class_names = list(class_names)
        self.input_spec = InputSpec(
            num_frames=tower.num_frames,
            size=tower.image_size,
            mean=tuple(mean),
            std=tuple(std),
        )
        self.tower = SpaceTimeTower(tower)
        self.video_projection = nn.Linear(tower.width, text.embed_dim)
        self.embed_norm = nn.BatchNorm1d(text.embed_dim, affine=False) if embed_bn else nn.Identity()
        self.text = PromptTextEncoder(text, tokenizer, class_names)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self._embed_bn = embed_bn

    @classmethod
    def default_tower(cls) -> SpaceTimeConfig:
        return SpaceTimeConfig()

    @classmethod
    def check_tower(cls, tower: SpaceTimeConfig) -> SpaceTimeConfig:
        """Families constrain the tower's token options; a wrong config fails here, not silently."""
        return tower

    # ---- configuration (what config.json stores; build_model rebuilds from it) ----
    def get_config(self) -> dict:
        return {
            "class_names": list(self.class_names),
            "model": {
                "tower": self.tower.cfg.to_dict(),
                "text": self.text.cfg.to_dict(),
                "embed_bn": self._embed_bn,
            },
            "tokenizer": self.text.tokenizer.to_dict(),
            "input_spec": self.input_spec.to_dict(),
        }

    @classmethod
    def from_config(cls, config: dict) -> PromptVideoModel:
        m = config.get("model", {})
        backbone = m.get("backbone", "spacetime")
        if backbone not in ("spacetime", "demo"):
            raise ValueError(
                f"model.backbone must be 'demo' (alias 'spacetime': the demo's space-time tower) for a demo "
                f"model, got {backbone!r}; a 'clip' backbone is prompt-tuning's model, built by "
                "videoxai.models.families.registry.build_model"
            )
        spec = config.get("input_spec", {})
        tok = config.get("tokenizer")
        return cls(
            config["class_names"],
            tower=replace(cls.default_tower(), **m["tower"]) if "tower" in m else None,
            text=PromptTextConfig(**m.get("text", {})),
            tokenizer=WordTokenizer.from_dict(tok) if tok else None,
            mean=spec.get("mean", DEMO_MEAN),
            std=spec.get("std", DEMO_STD),
            embed_bn=m.get("embed_bn", True),
        )

    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Evaluate on another class list (dataset transfer): only the text prompts change."""
        self.text.set_class_names(class_names)
        self.class_names = list(class_names)

    def set_handcrafted_prompts(self, on: bool = True, template: str | None = None) -> None:
        """Prompt-tuning's ``use-handcrafted-prompts``: a template such as "a video of a person {}." replaces the learned context.

        Demo models know only the words of their class names: the template's
        other words get fixed per-word vectors (the same on every run), and
        the learned-prompt numbers are untouched when switched back.
        """
        self.text.set_handcrafted_prompts(on, template)

    # ---- the adapter interface ----
    @property
    def token_layout(self) -> TokenLayout:
        return self.tower.token_layout

    def _logits(self, feature: torch.Tensor) -> torch.Tensor:
        video = F.normalize(self.embed_norm(self.video_projection(feature)), dim=-1)
        text = F.normalize(self.text(), dim=-1)
        return self.logit_scale.clamp(max=math.log(100.0)).exp() * video @ text.t()

    def _forward(self, video: torch.Tensor) -> torch.Tensor:
        feature, _ = self.tower(video)
        return self._logits(feature)

    def _forward_attn(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feature, attn = self.tower(video, need_weights=True)
        return self._logits(feature), attn

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return forward_views(self, video, self._forward)

    def forward_with_attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and, per block, the temporal, the spatial (and for stt the summary) attention, each ``(B, H, N, N)``.

        ``N`` = ``token_layout.num_tokens``: global token, frame tokens, patches. Each
        matrix times the joint value matrix reproduces that factor's output exactly.
        """
        if video.ndim == 6:
            raise ValueError("forward_with_attention takes one view (B, T, C, H, W)")
        return self._forward_attn(video)

    def gradcam_target(self) -> GradCamTarget:
        """The last block's spatial-attention LayerNorm: its image tokens reach the output via CLS attention.

        (The last block's *output* is useless for Grad-CAM: only CLS leaves the
        encoder, so the image tokens there have exactly zero gradient.)
        """
        return GradCamTarget(
            module=self.tower.blocks[-1].norm_s,
            to_grid=self.tower.spatial_tokens_to_grid,
        )


@register_method("video_coop")
class VideoCoOp(PromptVideoModel):
    """``video_coop``: one global CLS token reads every frame (mean of its per-frame spatial attention)."""

    @classmethod
    def check_tower(cls, tower: SpaceTimeConfig) -> SpaceTimeConfig:
        if tower.frame_tokens or tower.summary_attention or not tower.global_in_spatial:
            raise ValueError("video_coop has no frame tokens or summary attention (those are dual_coop / stt)")
        return tower


@register_method("dual_coop")
class DualCoOp(PromptVideoModel):
    """``dual_coop``: CoOp text context plus learned visual prompt tokens in every frame's spatial attention.

    ``frame_token_layers`` = None keeps the prompts through all blocks; 1 drops them after the first.
    The prompts are prefix tokens of the token layout, so attention maps over image tokens exclude them.
    """

    @classmethod
    def default_tower(cls) -> SpaceTimeConfig:
        return SpaceTimeConfig(frame_tokens=2)

    @classmethod
    def check_tower(cls, tower: SpaceTimeConfig) -> SpaceTimeConfig:
        if tower.frame_tokens < 1 or tower.summary_attention or not tower.global_in_spatial:
            raise ValueError("dual_coop needs frame_tokens >= 1 (visual prompts) and no summary attention")
        if tower.frame_token_layers is not None and not 1 <= tower.frame_token_layers <= tower.layers:
            raise ValueError(
                f"frame_token_layers must be in [1, {tower.layers}] or None, got {tower.frame_token_layers}"
            )
        return tower


@register_method("stt")
class STT(PromptVideoModel):
    """``stt``: a video-level token over per-frame summary tokens, by summary attention in every block."""

    @classmethod
    def default_tower(cls) -> SpaceTimeConfig:
        return SpaceTimeConfig(frame_tokens=1, global_in_spatial=False, summary_attention=True)

    @classmethod
    def check_tower(cls, tower: SpaceTimeConfig) -> SpaceTimeConfig:
        if tower.frame_tokens < 1 or not tower.summary_attention or tower.global_in_spatial:
            raise ValueError(
                "stt needs frame_tokens >= 1, summary_attention=True and global_in_spatial=False "
                "(the video token sees frames only through their summary tokens)"
            )
        if tower.frame_token_layers is not None:
            raise ValueError("stt keeps its frame summary tokens through all blocks (frame_token_layers=None)")
        return tower
