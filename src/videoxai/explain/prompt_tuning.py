"""Prompt-tuning's (prompt-tuning repository's) explanation maps, reproduced: ``conventions: prompt-tuning``.

Prompt-tuning (``src/modeling/explainer.py``) explains each frame of a per-frame
CLIP image tower on its own and differs from :mod:`videoxai.explain.rollout`
in three ways that change the maps:

* **product order**: ``rollout = rollout @ Â_l`` for layers ``l = 0..L-1``
  (Abnar & Zuidema, and videoxai's ``standard``, multiply ``Â_l @ rollout``);
* **discard ratio**: per layer, keep the entries ``>=`` the ``k``-th largest of
  the whole fused ``(N, N)`` matrix, ``k = int(N*N * (1 - ratio))`` (ties kept,
  the CLS row and column ranked with the rest); the CLS-only variant ranks its
  CLS-to-patch row alone;
* **normalisation**: each frame's map is divided by its own maximum (no
  clip-wide min-max), and the temporal importance is each frame's mean.

Variants (``rollout_type`` in prompt-tuning): ``full`` (the CLS row of the
product), ``cls`` (``exp(sum_l log(a_l + 1e-10))`` of the per-layer
CLS-to-patch rows) and ``cls_weighted`` (the full CLS row times the product
over layers of the mean CLS-to-patch attention: a per-frame scalar, so after
the per-frame normalisation it equals ``full`` to rounding). Head fusion is
``mean`` or ``max``.

Prompt-tuning's Grad-CAM weights each *token* by the mean absolute gradient over
channels (not Grad-CAM's per-channel mean gradient) and sums the token's
activations: ``cam_i = mean_c |g_ic| * sum_c a_ic``, no ReLU, then the same
per-frame max normalisation. It hooks the last layer's ``layer_norm2`` (the
MLP's input), whose image tokens never reach the CLS output: their gradient is
exactly zero, the map is ``0 / 0`` and prompt-tuning's Grad-CAM maps are NaN on
every frame of every clip (the golden fixtures are). :func:`prompt_tuning_grad_cam`
reproduces that; the explain stage refuses to store such maps and says why.

The functions here take per-frame attention ``(F, heads, N, N)`` (``F`` frames
explained independently, CLS at ``cls_index``, image tokens from
``num_prefix`` on), so they apply to prompt-tuning's per-frame CLIP tokens as
stored in the fixtures and to a joint space-time layout alike (``F`` clips of
``T*h*w`` tokens; the frame split happens in :func:`per_frame_max`).

What ``prompt-tuning`` means on models prompt-tuning never had (the demo's divided
space-time towers, torchvision, custom): the same product order over
``forward_with_attention``'s joint matrices in list order (each factor one
layer), the CLS row restricted to image tokens, each frame of the grid
divided by its maximum, importance the frame mean. A factor in which CLS
reads no image token (the temporal one) drops out of the CLS-only product and
the CLS weight (see :func:`_cls_reads_patches`). Grad-CAM applies the
prompt-tuning's formula to the model's own ``gradcam_target()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from videoxai.explain.base import Explainer, Explanation, choose_targets, upsample_time
from videoxai.explain.gradcam import ZeroGradientError, activations_and_gradients
from videoxai.explain.options import PROMPT_TUNING_METHOD_OPTIONS
from videoxai.models.base import VideoClassifier

PROMPT_TUNING_HEAD_FUSIONS = ("mean", "max")
ROLLOUT_TYPES = ("full", "cls", "cls_weighted")
# The explainer name -> prompt-tuning's rollout_type.
PROMPT_TUNING_ROLLOUTS = {
    "attention-rollout": "full",
    "attention-rollout-cls": "cls",
    "attention-rollout-cls-weighted": "cls_weighted",
}
LOG_EPS = 1e-10  # prompt-tuning's constant in the CLS-only variant


def seed_fuse_heads(attention: torch.Tensor, how: str) -> torch.Tensor:
    """``(F, heads, N, N)`` -> ``(F, N, N)``: prompt-tuning's head fusion (``mean`` or ``max`` only)."""
    if how == "mean":
        return attention.mean(dim=1)
    if how == "max":
        return attention.max(dim=1).values
    raise ValueError(
        f"head-fusion under conventions: prompt-tuning must be one of {list(PROMPT_TUNING_HEAD_FUSIONS)}, got {how!r}"
    )


def prompt_tuning_discard(values: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero what is below the ``k``-th largest entry of each row's trailing dims, ``k = int(n * (1 - ratio))``.

    ``values`` is ``(F, N, N)`` (ranked over all ``N*N`` entries) or
    ``(F, M)``; entries equal to the threshold are kept, as in prompt-tuning.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"discard-ratio must be in [0, 1), got {ratio}")
    if ratio == 0:
        return values
    flat = values.flatten(1)
    keep = int(flat.shape[1] * (1 - ratio))
    if keep < 1:
        raise ValueError(f"discard-ratio {ratio} keeps no entry of {flat.shape[1]}")
    threshold = flat.topk(keep, dim=1).values[:, -1]
    threshold = threshold.reshape(-1, *([1] * (values.ndim - 1)))
    return torch.where(values >= threshold, values, torch.zeros_like(values))


def prompt_tuning_rollout(
    attentions: Sequence[torch.Tensor] | torch.Tensor,
    rollout_type: str = "full",
    head_fusion: str = "mean",
    discard_ratio: float = 0.0,
    *,
    cls_index: int = 0,
    num_prefix: int = 1,
    use_cls_token: bool = True,
) -> torch.Tensor:
    """Raw relevance of the image tokens ``(F, N - num_prefix)``, before the per-frame normalisation.

    ``attentions``: per layer ``(F, heads, N, N)``, forward order (a list or a
    stacked ``(L, F, heads, N, N)`` tensor). ``use_cls_token=False`` (videoxai's
    option, which prompt-tuning lacks) takes the mean of all rows of the product
    instead of the CLS row; it applies to ``full`` and ``cls_weighted``.
    """
    if rollout_type not in ROLLOUT_TYPES:
        raise ValueError(f"rollout_type must be one of {list(ROLLOUT_TYPES)}, got {rollout_type!r}")
    layers = list(attentions)
    if not layers:
        raise ValueError("no attention layers given: nothing to roll out")
    if rollout_type == "cls":
        log_sum = None
        for a in layers:
            row = seed_fuse_heads(a.detach().float(), head_fusion)[:, cls_index, num_prefix:]
            used = _cls_reads_patches(row)
            row = prompt_tuning_discard(row, discard_ratio)
            term = torch.log(row + LOG_EPS) * used
            log_sum = term if log_sum is None else log_sum + term
        return torch.exp(log_sum)
    product = None
    weight = None
    for a in layers:
        fused = seed_fuse_heads(a.detach().float(), head_fusion)
        used = _cls_reads_patches(fused[:, cls_index, num_prefix:])
        fused = prompt_tuning_discard(fused, discard_ratio)
        if rollout_type == "cls_weighted":
            w = fused[:, cls_index, num_prefix:].mean(dim=1, keepdim=True)
            w = torch.where(used, w, torch.ones_like(w))
            weight = w if weight is None else weight * w
        fused = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
        fused = fused / fused.sum(dim=-1, keepdim=True)
        product = fused if product is None else product @ fused
    row = product[:, cls_index] if use_cls_token else product.mean(dim=1)
    cam = row[:, num_prefix:]
    if weight is not None:
        cam = cam * (torch.ones_like(cam[:, :1]) * weight)
    return cam


def _cls_reads_patches(cls_row: torch.Tensor) -> torch.Tensor:
    """``(F, 1)``: whether a layer's CLS row (before discarding) reaches any image token at all.

    In CLIP it always does (softmax weights are positive), so on the
    prompt-tuning's models every layer counts. In a factorised (divided
    space-time) model the temporal factor leaves CLS out (its row is the
    identity): such a layer says nothing about where CLS looks, and its zero
    row would turn the CLS-only product into a constant and the CLS weight
    into 0 (maps 0 / 0). It is left out of those two, as in the standard
    variants; the full product keeps it (it moves no mass there).
    """
    return cls_row.sum(dim=1, keepdim=True) > 1e-6


def prompt_tuning_grad_cam(activations: torch.Tensor, gradients: torch.Tensor, num_prefix: int = 1) -> torch.Tensor:
    """Prompt-tuning's Grad-CAM on tokens, ``(F, N, D)`` x2 -> ``(F, N - num_prefix)``, before normalisation.

    ``cam_i = sum_c (mean_c' |g_ic'|) * a_ic``: a weight per token, not per
    channel, and no ReLU.
    """
    if activations.shape != gradients.shape or activations.ndim != 3:
        raise ValueError(
            f"activations and gradients must both be (F, N, D), got {tuple(activations.shape)} and "
            f"{tuple(gradients.shape)}"
        )
    weights = gradients.float().abs().mean(dim=-1)
    return (weights[:, num_prefix:].unsqueeze(-1) * activations.float()[:, num_prefix:]).sum(dim=-1)


def per_frame_max(cam: torch.Tensor, frames: int, height: int, width: int) -> torch.Tensor:
    """``(F, frames*height*width)`` -> ``(F, frames, height, width)``, each frame divided by its own maximum.

    As prompt-tuning's ``_process_cam``: a frame whose maximum is 0 becomes NaN
    (``0 / 0``), exactly as there; callers decide what to do with it.
    """
    grid = cam.reshape(cam.shape[0], frames, height * width)
    grid = grid / grid.max(dim=2, keepdim=True).values
    return grid.reshape(cam.shape[0], frames, height, width)


def prompt_tuning_importance(maps: torch.Tensor) -> torch.Tensor:
    """Prompt-tuning's temporal importance: each frame's mean normalised relevance, ``(..., T, h, w)`` -> ``(..., T)``."""
    return maps.mean(dim=(-2, -1))


def prompt_tuning_maps(cam: torch.Tensor, batch: int, views: int, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame raw relevance ``(B*V*T, P)`` -> prompt-tuning's ``cam`` ``(B, V, T, s, s)`` and ``importance`` ``(B, V, T)``.

    ``P`` must be a square number of image tokens (prompt-tuning's ``side = int(sqrt(P))``).
    """
    side = int(cam.shape[1] ** 0.5)
    if side * side != cam.shape[1]:
        raise ValueError(f"{cam.shape[1]} image tokens per frame do not form a square grid")
    maps = per_frame_max(cam, 1, side, side).reshape(batch, views, frames, side, side)
    return maps, prompt_tuning_importance(maps)


def check_prompt_tuning_options(method: str, params: dict[str, Any]) -> None:
    """Reject option values prompt-tuning has no meaning for, naming the option and the choices."""
    fusion = params.get("head-fusion", "mean")
    if fusion not in PROMPT_TUNING_HEAD_FUSIONS:
        raise ValueError(
            f"{method}: option head-fusion under conventions: prompt-tuning must be one of {list(PROMPT_TUNING_HEAD_FUSIONS)} "
            f"(prompt-tuning has no {fusion!r}), got {fusion!r}"
        )
    ratio = params.get("discard-ratio", 0.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
        raise ValueError(f"{method}: option discard-ratio must be a number in [0, 1), got {ratio!r}")


# --------------------------------------------------------------------------- prompt-tuning's per-frame CLIP path


def _clip_layer(layer: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One ``transformers`` CLIP encoder layer with explicit (eager) attention probabilities ``(F, heads, N, N)``.

    Calls the layer's own modules (``layer_norm1``, the projections,
    ``layer_norm2``, ``mlp``), so hooks on them fire as in prompt-tuning.
    """
    attn = layer.self_attn
    f, n, d = x.shape
    heads = attn.num_heads
    h = layer.layer_norm1(x)

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(f, n, heads, d // heads).transpose(1, 2)

    q, k, v = split(attn.q_proj(h)), split(attn.k_proj(h)), split(attn.v_proj(h))
    probs = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * attn.scale, dim=-1, dtype=torch.float32).to(q.dtype)
    x = x + attn.out_proj((probs @ v).transpose(1, 2).reshape(f, n, d))
    x = x + layer.mlp(layer.layer_norm2(x))
    return x, probs


def per_frame_attentions(
    clip: torch.nn.Module,
    pixels: torch.Tensor,
    visual_prompts: torch.Tensor | None = None,
    keep_prompts: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Prompt-tuning's ``encode_video_batch(return_attentions=True)``: CLIP image features and per-layer attention.

    ``pixels`` ``(F, C, H, W)``: every frame on its own. Without
    ``visual_prompts`` this is the plain CLIP vision path (video_coop, and stt,
    whose explainer never runs the STT layers). With them (dual_coop: its
    ``context_vectors_vision``) the prompts are appended after the patch
    tokens before ``pre_layrnorm``; unless ``keep_prompts`` they are dropped
    after each layer and the returned attention is cut to the CLS and patch
    tokens (rows not re-normalised), as Dual.py does. Returns the projected
    CLS features ``(F, D)`` and ``[(F, heads, N, N)]`` per layer.
    """
    vm = clip.vision_model
    x = vm.embeddings(pixels.to(vm.embeddings.patch_embedding.weight.dtype))
    if visual_prompts is not None:
        x = torch.cat([x, visual_prompts.to(x.dtype).expand(x.shape[0], -1, -1)], dim=1)
    keep = x.shape[1] if (visual_prompts is None or keep_prompts) else x.shape[1] - visual_prompts.shape[-2]
    x = vm.pre_layrnorm(x)
    attentions = []
    for layer in vm.encoder.layers:
        x, probs = _clip_layer(layer, x)
        attentions.append(probs[..., :keep, :keep])
        x = x[:, :keep]
    return clip.visual_projection(vm.post_layernorm(x[:, 0])), attentions


def prompt_tuning_grad_cam_inputs(
    clip: torch.nn.Module,
    pixels: torch.Tensor,
    text_features: torch.Tensor,
    class_idx: int | torch.Tensor,
    logit_scale: torch.Tensor | float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations and gradients of ``vision_model.encoder.layers[-1].layer_norm2``, as prompt-tuning's ``_gradcam``.

    The plain CLIP vision path (no prompts, no STT layers), unnormalised
    projected CLS features, ``logits = scale * feats . text_features``, score
    ``1000 * mean(logits[..., class_idx])`` (``class_idx``: one class, or one
    per frame). Returns ``(F, N, D)`` twice.
    """
    layer = clip.vision_model.encoder.layers[-1].layer_norm2
    store: dict[str, torch.Tensor] = {}

    def hook(_m: torch.nn.Module, _i: Any, out: torch.Tensor) -> None:
        store["a"] = out

    handle = layer.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            vm = clip.vision_model
            pixels = pixels.detach().to(vm.embeddings.patch_embedding.weight.dtype).requires_grad_(True)
            x = vm.pre_layrnorm(vm.embeddings(pixels))
            for lay in vm.encoder.layers:
                x, _ = _clip_layer(lay, x)
            feats = clip.visual_projection(vm.post_layernorm(x)[:, 0])
            logits = logit_scale * feats @ text_features.to(feats.dtype).t()
            idx = torch.as_tensor(class_idx, device=logits.device).reshape(-1, 1).expand(logits.shape[0], 1)
            score = logits.gather(1, idx).mean() * 1000
            (grad,) = torch.autograd.grad(score, store["a"])
    finally:
        handle.remove()
    return store["a"].detach(), grad.detach()


# --------------------------------------------------------------------------- explainers for the explain stage


class UndefinedMapError(ZeroGradientError):
    """Prompt-tuning's normalisation divides a frame's map by a zero maximum: the map is NaN (0 / 0)."""


def clip_backbone(model: VideoClassifier) -> tuple[torch.nn.Module, torch.Tensor | None, bool] | None:
    """``(clip, visual prompts or None, keep prompts)`` for prompt-tuning's own models, else None.

    Prompt-tuning's explainer runs each frame through ``model.clip`` (a
    ``transformers`` CLIPModel): plain for video_coop and stt, with the
    ``context_vectors_vision`` prompts for dual_coop and vidop (vilt and vita
    record their own path: :func:`recorded_attentions`). Other models (the demo
    towers, torchvision, custom) have no such path and are explained through
    ``forward_with_attention`` / ``gradcam_target``.
    """
    if not type(model).__module__.startswith("videoxai.models.families.prompt_tuning") or not hasattr(model, "clip"):
        return None
    prompts = None
    if getattr(model, "method", "") in ("dual_coop", "vidop"):
        found = [p for n, p in model.named_parameters() if n.endswith("context_vectors_vision")]
        if len(found) != 1:
            raise ValueError(
                f"{type(model).__name__}: a dual_coop prompt-tuning model needs exactly one 'context_vectors_vision' "
                f"parameter (its visual prompts) for prompt-tuning explainers, found {len(found)}"
            )
        prompts = found[0]
    options = getattr(model, "options", None)
    return model.clip, prompts, bool(getattr(options, "keep_vision_prompts", False))


def recorded_attentions(
    model: VideoClassifier, video: torch.Tensor, backbone: tuple[torch.nn.Module, torch.Tensor | None, bool]
) -> list[torch.Tensor]:
    """The per-frame attention ``(B*T, heads, N, N)`` prompt-tuning's explainer rolls out for one view ``video``.

    ``vilt`` and ``vita`` record it in their own forward (their
    ``recorded_attentions``: ViLT only in the layers that append prompts);
    the others run :func:`per_frame_attentions` on ``backbone``
    (:func:`clip_backbone`).
    """
    own = getattr(model, "recorded_attentions", None)
    if callable(own):
        return own(video)
    clip, prompts, keep = backbone
    return per_frame_attentions(clip, video.flatten(0, 1), prompts, keep)[1]


def raw_text_features_of(model: VideoClassifier) -> torch.Tensor:
    """The class text features prompt-tuning's Grad-CAM scores frames against, unnormalised ``(K, D)``.

    Prompt-tuning passes ``CoOpModel.encode_texts(class_names)``: the learned
    prompt through CLIP's text encoder (for stt too: its explainer never runs
    the STT layers), which the prompt-tuning models expose as ``raw_text_features()``.
    """
    fn = getattr(model, "raw_text_features", None)
    if not callable(fn):
        raise TypeError(
            f"grad-cam under conventions: prompt-tuning needs {type(model).__name__}.raw_text_features() (the class text "
            "features prompt-tuning's explainer scores frames against)"
        )
    return fn()


def _check_defined(maps: torch.Tensor, explainer: Explainer) -> torch.Tensor:
    """The maps, NaN where a frame is undefined (0 / 0); raises only when no frame of the batch is defined.

    A frame whose map is 0 / 0 (e.g. the CLS-only product underflowing to 0) is kept as NaN: the explain stage marks
    it undefined in the heatmaps file (:mod:`videoxai.explain.undefined`) and keeps the other frames.
    """
    bad = torch.isnan(maps).flatten(2).any(-1)  # (B, T) frames whose map is 0 / 0
    if bool(bad.all()):
        why = (
            "the layer it weighs passes no gradient to the image tokens (prompt-tuning's Grad-CAM hooks the last "
            "layer's layer_norm2, whose image tokens never reach the CLS output, so every prompt-tuning Grad-CAM map is "
            "NaN)"
            if explainer.name == "grad-cam"
            else "the CLS token's relevance to every image token of those frames is 0"
        )
        raise UndefinedMapError(
            f"{explainer.name} under conventions: prompt-tuning gives NaN maps (0 / 0, prompt-tuning divides each frame by its "
            f"maximum) on {int(bad.sum())} of {bad.numel()} frames of {type(explainer.model).__name__}: {why}. "
            "Use conventions: standard for this explainer."
        )
    return maps


class _PromptTuningExplainer(Explainer):
    convention = "prompt-tuning"

    def check_params(self) -> None:
        check_prompt_tuning_options(self.name, self.params)


class PromptTuningRollout(_PromptTuningExplainer):
    """Prompt-tuning's rollout variants: product ``Â_0 ... Â_{L-1}``, CLS row, each frame divided by its maximum.

    On prompt-tuning's models the attention is prompt-tuning's per-frame CLIP
    attention (:func:`per_frame_attentions`); on any other attention model
    it is ``forward_with_attention``'s joint attention over ``token_layout``,
    in list order, and "frame" is one time step of the patch grid.
    """

    def check_params(self) -> None:
        super().check_params()
        if clip_backbone(self.model) is None and not self.model.has_attention:
            raise ValueError(
                f"explainer {self.name!r} needs attention probabilities, but {type(self.model).__name__} has none "
                "(it is not a transformer); use 'grad-cam' for this model"
            )

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        kind = PROMPT_TUNING_ROLLOUTS[self.name]
        kw = {
            "head_fusion": self.params["head-fusion"],
            "discard_ratio": float(self.params["discard-ratio"]),
            "use_cls_token": bool(self.params.get("use-cls-token", True)),
        }
        backbone = clip_backbone(self.model)
        with torch.no_grad():
            if backbone is not None:
                b, t = video.shape[:2]
                logits = self.model(video)
                attentions = recorded_attentions(self.model, video, backbone)
                side = int((attentions[0].shape[-1] - 1) ** 0.5)
                cam = prompt_tuning_rollout(attentions, kind, **kw)
                maps = per_frame_max(cam, 1, side, side).reshape(b, t, side, side)
            else:
                layout = self.model.token_layout
                logits, attentions = self.model.forward_with_attention(video)
                cam = prompt_tuning_rollout(
                    attentions, kind, **kw, cls_index=layout.cls_index, num_prefix=layout.num_prefix
                )
                maps = per_frame_max(cam, layout.frames, layout.height, layout.width)
        return Explanation(_check_defined(maps, self), logits, choose_targets(logits, labels, target))


class PromptTuningAttentionRollout(PromptTuningRollout):
    name = "attention-rollout"
    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["attention-rollout"]


class PromptTuningAttentionRolloutCLS(PromptTuningRollout):
    name = "attention-rollout-cls"
    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["attention-rollout-cls"]


class PromptTuningAttentionRolloutCLSWeighted(PromptTuningRollout):
    name = "attention-rollout-cls-weighted"
    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["attention-rollout-cls-weighted"]


class PromptTuningGradCAM(_PromptTuningExplainer):
    """Prompt-tuning's Grad-CAM formula: token weight ``mean_c |g|`` times ``sum_c a``, each frame over its maximum.

    On prompt-tuning's models it hooks prompt-tuning's layer (the last CLIP layer's
    ``layer_norm2``, plain vision path, the model's normalised CoOp-path class
    text features): the maps are 0 / 0 and the explainer raises
    :class:`UndefinedMapError` saying so. On other models it weighs the
    model's own ``gradcam_target()`` (videoxai's layer; prompt-tuning's has no
    counterpart there) with prompt-tuning's formula and normalisation.
    """

    name = "grad-cam"
    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["grad-cam"]

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        backbone = clip_backbone(self.model)
        if backbone is not None:
            clip = backbone[0]
            b, t = video.shape[:2]
            with torch.no_grad():
                logits = self.model(video)
                text = F.normalize(raw_text_features_of(self.model).float(), dim=-1)
                scale = self.model.scale() if callable(getattr(self.model, "scale", None)) else 1.0
            targets = choose_targets(logits, labels, target)
            act, grad = prompt_tuning_grad_cam_inputs(
                clip, video.flatten(0, 1), text, targets.repeat_interleave(t), scale
            )
            cam = prompt_tuning_grad_cam(act, grad)
            side = int(cam.shape[1] ** 0.5)
            maps = per_frame_max(cam, 1, side, side).reshape(b, t, side, side)
            return Explanation(_check_defined(maps, self), logits, targets)
        tgt = self.model.gradcam_target()
        act, grad, logits, targets = activations_and_gradients(self.model, tgt, video, labels, target)
        a_grid, g_grid = tgt.to_grid(act).float(), tgt.to_grid(grad).float()  # (B, D, T', h, w)
        cam = g_grid.abs().mean(dim=1) * a_grid.sum(dim=1)  # (B, T', h, w)
        cam = cam / cam.amax(dim=(2, 3), keepdim=True)
        maps = upsample_time(_check_defined(cam, self), video.shape[1])
        return Explanation(maps, logits, targets)


PROMPT_TUNING_EXPLAINERS: dict[str, type[Explainer]] = {
    cls.name: cls
    for cls in (
        PromptTuningAttentionRollout,
        PromptTuningAttentionRolloutCLS,
        PromptTuningAttentionRolloutCLSWeighted,
        PromptTuningGradCAM,
    )
}
