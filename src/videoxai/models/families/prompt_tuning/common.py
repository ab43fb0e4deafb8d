"""What the three prompt-tuning families share: the CLIP backbone, the context learner, text, logits, views.

A model takes normalised clips ``(B, V, T, C, H, W)`` (or one view,
``(B, T, C, H, W)``) and an optional frame mask ``(B, V, T)`` (``True`` =
real frame), as prompt-tuning's ``video_masks``: masked frames are zeroed after
the vision tower and still counted by the pooling. Logits are computed per
view, ``exp(logit_scale) * cos(video, class text)``, then averaged over views
(CoOp.py:210-236).

Explainers see one view at a time through ``forward_with_attention``: the
per-frame CLIP layers are embedded block-diagonally in one joint token set
``[video token, T frame CLS tokens, T x P per-frame extra tokens, T x h x w
patches]`` (see :attr:`token_layout`), followed by one last entry for the
temporal pooling whose video-token row holds each frame's weight. The output
is computed from probabilities read back out of those joint matrices, so they
are in the autograd graph (grad-rollout). ``attention_layers`` gives the same
layers with each kept as its per-frame blocks (:mod:`videoxai.models.attention`):
the dense joint matrices are 8x larger at ViT-B/16 size and 8 frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.models.attention import AttentionLayer
from videoxai.models.base import GradCamTarget, InputSpec, TokenLayout, VideoClassifier
from videoxai.models.families.demo.tower import embed_frames, embed_subset, frames_embedding
from videoxai.models.families.prompt_tuning import per_frame
from videoxai.models.families.prompt_tuning.config import SUMMARY_METHODS, RunOptions
from videoxai.models.families.prompt_tuning.context import ContextLearner, frame_weights, pool_frames
from videoxai.models.families.prompt_tuning.layers import Embedding
from videoxai.models.families.prompt_tuning.text import (
    coop_text_features,
    handcrafted_text_features,
    load_tokenizer,
    prompt_embeddings,
    tokenize,
)
from videoxai.models.frozen_cache import FrozenCache

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def append_tokens(x: torch.Tensor, tokens: Sequence[torch.Tensor]) -> torch.Tensor:
    """``x`` (N, L, D) with the learned ``tokens`` (each (n, D), shared by all N sequences) appended."""
    return torch.cat([x, *(t.to(x.dtype).unsqueeze(0).expand(x.shape[0], -1, -1) for t in tokens)], dim=1)


def as_views(video: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(B, T, C, H, W)`` -> one view ``(B, 1, T, C, H, W)``; the mask to ``(B, V, T)`` bool."""
    if video.ndim == 5:
        video = video[:, None]
        if mask is not None and mask.ndim == 2:
            mask = mask[:, None]
    if video.ndim != 6 or video.shape[3] != 3:
        raise ValueError(f"expected clips (B, V, T, 3, H, W) or (B, T, 3, H, W), got shape {tuple(video.shape)}")
    if mask is not None and tuple(mask.shape) != tuple(video.shape[:3]):
        raise ValueError(
            f"the frame mask must have shape (B, V, T) = {tuple(video.shape[:3])}, got {tuple(mask.shape)}"
        )
    return video, mask


class PromptTuningModel(VideoClassifier):
    """Base of prompt-tuning's ``video_coop``, ``dual_coop`` and ``stt`` on a ``transformers.CLIPModel``."""

    method = ""
    extra_tokens_per_frame = 0  # per-frame tokens besides CLS and patches in the joint token layout

    def __init__(
        self,
        options: RunOptions,
        class_names: Sequence[str],
        clip: nn.Module,
        tokenizer: Any | None = None,
    ):
        super().__init__()
        self.options = options
        self.clip = clip
        self.clip.requires_grad_(False)  # prompt-tuning trains the context learner only
        vc, tc = clip.config.vision_config, clip.config.text_config
        self.context_learner = ContextLearner(options, tc.hidden_size, vc.hidden_size, vc.num_hidden_layers)
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(clip)
        self.grid = vc.image_size // vc.patch_size
        self.size = vc.image_size
        self.input_spec = InputSpec(
            num_frames=options.frames_per_view,
            size=vc.image_size,
            mean=CLIP_MEAN,
            std=CLIP_STD,
            num_views=options.temporal_views,
            fixed_size=True,
            pipeline="prompt-tuning",
            spatial_views=options.spatial_views,  # 1 or 3 as in prompt-tuning's loader (InputSpec checks)
            dtype="bfloat16",
            remove_black_strips=options.remove_black_strips,
            resize_protocol=options.resize_protocol,
        )
        self.handcrafted = False
        self.template = options.handcrafted_template
        self._frames_seen = options.frames_per_view
        self.set_class_names(class_names)
        self.eval()

    @property
    def fixed_num_frames(self) -> bool:
        """Only the families with per-frame learned tokens (stt, vita) take exactly their run's frame count; the
        others encode each frame alone and pool (videoxai.setup.frames says the same while planning)."""
        return self.options.method in SUMMARY_METHODS

    def set_num_frames(self, t: int) -> None:
        """Run on ``t`` frames per view (the config's ``num-frames`` for this model): its input spec and the token
        layout explainers read follow, so maps are drawn over the frames the model saw."""
        if t != self.input_spec.num_frames and self.fixed_num_frames:
            raise ValueError(f"this {self.method} model takes exactly {self.input_spec.num_frames} frames, not {t}")
        self.input_spec = dataclasses.replace(self.input_spec, num_frames=int(t))
        self._frames_seen = int(t)

    # ---- checkpoints and configuration ----
    def load_context_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a prompt-tuning ``.pt``'s ``context_state_dict``; mismatches raise ``CheckpointError`` naming each."""
        self.context_learner.load_context_state_dict(state_dict)

    def context_state_dict(self) -> dict[str, torch.Tensor]:
        return self.context_learner.state_dict()

    def get_config(self) -> dict:
        """The registry's config: the prompt-tuning run config and where the backbone comes from."""
        name = getattr(self.clip, "name_or_path", "") or ""
        model: dict[str, Any] = {
            "backbone": "clip",
            "run_config": dict(self.options.raw) or {},
        }
        if name:
            model["clip_model"] = name
        else:
            model["clip_config"] = self.clip.config.to_dict()
        model["run_config"].setdefault("prompt-optimisation-method", self.method)
        return {
            "class_names": list(self.class_names),
            "model": model,
            "input_spec": self.input_spec.to_dict(),
        }

    @property
    def logit_scale(self) -> nn.Parameter:
        """The learned (log) temperature, the context learner's ``logit_scale``."""
        return self.context_learner.logit_scale

    # ---- text ----
    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Tokenize another class list (dataset transfer): the learned context is shared by all classes."""
        if not class_names:
            raise ValueError("a model needs at least one class name")
        device = self.context_learner.context_vectors_text.device
        names = list(class_names)
        ids, mask = tokenize(self.tokenizer, names, device)
        if self.handcrafted:
            h_ids, h_mask = tokenize(self.tokenizer, [self.template.format(c) for c in names], device)
        else:
            h_ids, h_mask = ids[:, :0], mask[:, :0]
        self.register_buffer("token_ids", ids, persistent=False)
        self.register_buffer("token_mask", mask, persistent=False)
        self.register_buffer("handcrafted_ids", h_ids, persistent=False)
        self.register_buffer("handcrafted_mask", h_mask, persistent=False)
        self.class_names = names
        self._text_cache = FrozenCache()

    def set_handcrafted_prompts(self, on: bool = True, template: str | None = None) -> None:
        """Prompt-tuning's ``use-handcrafted-prompts``: ``"{regularisation-text} {class}"`` through plain CLIP.

        ``template`` (with ``{}`` where the class name goes) replaces the run
        config's. The learned context is untouched; switching back restores
        the learned-prompt numbers exactly.
        """
        if template is not None and "{}" not in template:
            raise ValueError(f"a prompt template needs a '{{}}' where the class name goes, got {template!r}")
        self.handcrafted = bool(on)
        if template is not None:
            self.template = template
        self.set_class_names(self.class_names)

    def prompt(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned prompts before the text encoder: embeddings (K, n_ctx+L, D), mask (K, n_ctx+L)."""
        return prompt_embeddings(
            self.clip,
            self.context_learner.context_vectors_text,
            self.token_ids,
            self.token_mask,
        )

    def raw_text_features(self) -> torch.Tensor:
        """Unnormalised class text features (K, D): the learned prompts, or the hand-crafted ones."""
        if self.handcrafted:
            return handcrafted_text_features(self.clip, self.handcrafted_ids, self.handcrafted_mask)
        return coop_text_features(self.clip, *self.prompt())

    def text_features(self) -> torch.Tensor:
        """L2-normalised class text features (K, D), reused across inference batches while nothing changes."""
        return F.normalize(self._text_cache.get(self, self.raw_text_features), dim=-1)

    # ---- logits ----
    def scale(self) -> torch.Tensor:
        return self.context_learner.scale()

    def logits(
        self,
        video_features: torch.Tensor,
        text_features: torch.Tensor,
        softmax: bool = False,
    ) -> torch.Tensor:
        """``exp(logit_scale) * <video, text>`` per view, averaged over views (prompt-tuning's ``_get_logits``).

        ``video_features`` (B, V, D); ``text_features`` (K, D) or (B, V, K, D).
        """
        if text_features.ndim == 2:  # as prompt-tuning: expanded to (B, V, K, D), the same float32 sums
            text_features = text_features[None, None].expand(*video_features.shape[:2], -1, -1)
        per_view = torch.einsum("bvd,bvcd->bvc", video_features, text_features)
        out = (self.scale() * per_view).mean(dim=1)
        return out.softmax(-1) if softmax else out

    def upstream_forward(
        self,
        video: torch.Tensor,
        mask: torch.Tensor | None = None,
        softmax: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompt-tuning's ``forward``: logits (B, K), text features, video features (B, V, D) normalised."""
        raise NotImplementedError

    def forward(self, video: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, K) of normalised clips (B, V, T, C, H, W) or (B, T, C, H, W), averaged over views."""
        return self.upstream_forward(video, mask)[0]

    # ---- vision, shared pieces ----
    def _pixels(self, video: torch.Tensor) -> torch.Tensor:
        b, v, t, c, h, w = video.shape
        if h != self.size or w != self.size:
            raise ValueError(
                f"this model's CLIP takes {self.size}x{self.size} frames, got {h}x{w} "
                f"(input_spec.size is {self.input_spec.size})"
            )
        self._frames_seen = t
        return video.reshape(b * v * t, c, h, w).to(self.clip.dtype)

    def _embedded(self, pixels: torch.Tensor, prompts: torch.Tensor | None = None) -> torch.Tensor:
        """Patch embeddings of every frame ``[CLS, patches, prompts..]`` after ``pre_layrnorm``, in a graph."""
        vm = self.clip.vision_model
        x = vm.embeddings(pixels)
        if prompts is not None:
            x = append_tokens(x, [prompts])
        x = vm.pre_layrnorm(x)
        if torch.is_grad_enabled() and not x.requires_grad:
            x = x.detach().requires_grad_(True)  # frozen backbone: keep a graph for Grad-CAM
        return x

    def _frame_index(self, t: int, extra: int) -> torch.Tensor:
        """Joint token indices of each frame's sequence ``[CLS, patches, its first `extra` extra tokens]``."""
        hw, p = self.grid * self.grid, self.extra_tokens_per_frame
        dev = self.context_learner.logit_scale.device
        tt = torch.arange(t, device=dev)[:, None]
        return torch.cat(
            [
                1 + tt,
                1 + t + t * p + tt * hw + torch.arange(hw, device=dev),
                1 + t + tt * p + torch.arange(extra, device=dev),
            ],
            1,
        )

    def _layer_embedding(self, b: int, t: int, extra: int, need: bool | str) -> Embedding | None:
        """How a per-frame layer's probabilities are returned: ``need`` ``"blocks"`` keeps them per frame
        (:class:`AttentionLayer`), any other true value embeds them densely (``forward_with_attention``)."""
        if not need:
            return None
        index, n = self._frame_index(t, extra), self.token_layout_for(t).num_tokens
        if need == "blocks":

            def blocks(p: torch.Tensor) -> tuple[AttentionLayer, torch.Tensor]:
                return AttentionLayer(p, lambda x, fill: embed_frames(x, b, index, n, False, fill)), p

            return blocks
        return frames_embedding(b, index, n, False)

    def token_layout_for(self, t: int) -> TokenLayout:
        return TokenLayout(
            num_prefix=1 + t + t * self.extra_tokens_per_frame,
            frames=t,
            height=self.grid,
            width=self.grid,
        )

    @property
    def token_layout(self) -> TokenLayout:
        """``[video token, T frame CLS, T x extra per-frame tokens, T x h x w patches]``; the video token is CLS."""
        return self.token_layout_for(self.input_spec.num_frames)

    def _pool(self, feats: torch.Tensor, need: bool | str, attn: list) -> torch.Tensor:
        """Pool ``feats`` (N, T, D) over frames; with ``need``, append the pooling entry and pool from it."""
        if not need:
            return pool_frames(self.context_learner, feats)
        n, t, _ = feats.shape
        w = frame_weights(self.context_learner, feats)  # (N, heads, T)
        heads = w.shape[1]
        pool = torch.zeros(n, heads, 1 + t, 1 + t, device=feats.device, dtype=w.dtype)
        pool[:, :, 0, 1:] = w
        pool[:, :, 1:, 1:] = torch.eye(t, device=feats.device, dtype=w.dtype)
        if torch.is_grad_enabled() and not pool.requires_grad:
            pool.requires_grad_(True)  # constant weights (mean): grad-rollout still asks for d/dA
        index, n = torch.arange(1 + t, device=feats.device), self.token_layout_for(t).num_tokens
        if need == "blocks":
            attn.append(AttentionLayer(pool, lambda x, fill: embed_subset(x, index, n, fill)))
            return pool_frames(self.context_learner, feats, pool[:, :, 0, 1 : 1 + t])
        joint = embed_subset(pool, index, n)
        attn.append(joint)
        return pool_frames(self.context_learner, feats, joint[:, :, 0, 1 : 1 + t])

    def gradcam_target(self) -> GradCamTarget:
        """The last vision layer's first LayerNorm (the last attention's input); its patch tokens as a grid.

        (Prompt-tuning's own Grad-CAM hooks ``layer_norm2`` of that layer, where only
        CLS reaches the output; the prompt-tuning convention reproduces that separately.)
        """
        layer = self.clip.vision_model.encoder.layers[-1]
        g = self.grid

        def to_grid(a: torch.Tensor) -> torch.Tensor:
            bt, _, d = a.shape
            t = self._frames_seen  # frames per view of the forward pass being explained
            return a[:, 1 : 1 + g * g].reshape(bt // t, t, g, g, d).permute(0, 4, 1, 2, 3)

        return GradCamTarget(module=layer.layer_norm1, to_grid=to_grid)

    def forward_with_attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, K) of one view ``(B, T, C, H, W)`` and every attention ``(B, heads, N, N)`` over ``token_layout``."""
        if video.ndim != 5:
            raise ValueError("forward_with_attention takes one view (B, T, C, H, W)")
        return self._forward_attention(video, "dense")

    def attention_layers(self, video: torch.Tensor) -> tuple[torch.Tensor, list[AttentionLayer]]:
        """As :meth:`forward_with_attention`, each layer kept as its per-frame blocks (:mod:`..attention`)."""
        if video.ndim != 5:
            raise ValueError("attention_layers takes one view (B, T, C, H, W)")
        return self._forward_attention(video, "blocks")

    def _forward_attention(self, video: torch.Tensor, form: str) -> tuple[torch.Tensor, list]:
        """Logits and the attentions, ``form`` ``"dense"`` (joint matrices) or ``"blocks"`` (AttentionLayer)."""
        raise NotImplementedError

    # ---- prompt-tuning's own explainer path (models.attention.PerFrameAttention) ----
    def vision_prompts(self) -> tuple[torch.Tensor | None, bool]:
        """The visual prompts prompt-tuning's explainer appends to every frame, and whether they stay through all layers.

        None for the families whose explainer runs the plain CLIP tower (video_coop, stt).
        """
        return None, False

    def per_frame_attentions(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Prompt-tuning's per-frame CLIP attention of one view ``(B, T, C, H, W)``: per layer ``(B*T, heads, N, N)``."""
        prompts, keep = self.vision_prompts()
        return per_frame.per_frame_attentions(self.clip, video.flatten(0, 1), prompts, keep)[1]

    def per_frame_gradcam(self, video: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt-tuning's Grad-CAM layer (the plain tower's last ``layer_norm2``) for ``targets`` (B,), as grids.

        Scored against the normalised CoOp-path class text features
        (``raw_text_features``, prompt-tuning's ``encode_texts``) at the model's
        scale; activations and gradients ``(B, D, T, h, w)``, CLS dropped.
        """
        b, t = video.shape[:2]
        with torch.no_grad():
            text = F.normalize(self.raw_text_features().float(), dim=-1)
            scale = self.scale()
        act, grad = per_frame.layer_norm2_gradients(
            self.clip, video.flatten(0, 1), text, targets.repeat_interleave(t), scale
        )
        g = self.grid

        def to_grid(x: torch.Tensor) -> torch.Tensor:
            return x[:, 1 : 1 + g * g].reshape(b, t, g, g, x.shape[-1]).permute(0, 4, 1, 2, 3)

        return to_grid(act), to_grid(grad)

    def per_frame_legrad(self, video: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """LeGrad read at every CLIP layer, each frame through the plain tower (as prompt-tuning's Grad-CAM), ``(B, T, h, w)``.

        Each layer's token mean is scored against the target's normalised
        CoOp-path class text feature (:func:`.per_frame.per_layer_text_legrad`).
        """
        b, t = video.shape[:2]
        with torch.no_grad():
            text = F.normalize(self.raw_text_features().float(), dim=-1)
        relevance = per_frame.per_layer_text_legrad(self.clip, video.flatten(0, 1), text[targets.repeat_interleave(t)])
        g = self.grid
        return relevance[:, : g * g].reshape(b, t, g, g)


class RecordsOwnAttentions:
    """A family whose own vision path is what prompt-tuning's explainer records (``vilt``, ``vita``).

    Their ``encode_video_batch(return_attentions=True)`` runs the model's
    ``forward`` and keeps, per recorded layer, the attention among each
    frame's CLS and patch tokens (cut, rows not re-normalised). The family's
    ``_tower(..., record=True)`` returns exactly those, and they are its
    ``per_frame_attentions``.
    """

    def per_frame_attentions(self, video: torch.Tensor) -> list[torch.Tensor]:
        return self.recorded_attentions(video)

    def recorded_attentions(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Per recorded layer ``(B*T, heads, N, N)`` of one view ``(B, T, C, H, W)``, N = CLS + patches."""
        b, t = video.shape[:2]
        _, attn = self._tower(self._pixels(video[:, None]), b, t, need=True, record=True)
        return attn


def check_frames(model: PromptTuningModel, t: int) -> None:
    """Frames per view must be what the learned per-frame parameters were sized for (stt)."""
    want = model.options.num_frames
    if want is not None and t != want:
        raise ValueError(f"this {model.method} model was trained on {want} frames per view (num-frames), got {t}")


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Prompt-tuning's ``x / x.norm(dim=-1, keepdim=True)`` (no epsilon: a zero vector gives NaN there too)."""
    return x / x.norm(dim=-1, keepdim=True)
