"""Prompt-tuning's explanation maps, reproduced: ``conventions: prompt-tuning``, as overrides of the standard steps.

Each explainer here is the standard one (:mod:`videoxai.explain.rollout`,
:mod:`videoxai.explain.gradcam`) with the steps prompt-tuning does otherwise
overridden, nothing else: the attention it reads, the discard rule, the layer
order, the normalisation, the head fusions it allows and the CAM weights.

Prompt-tuning (``src/modeling/explainer.py``) explains each frame of a per-frame
CLIP image tower on its own (the model's ``per_frame_attentions`` /
``per_frame_gradcam``: :class:`videoxai.models.attention.PerFrameAttention`) and
differs from the standard rollout in three ways that change the maps:

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

:func:`prompt_tuning_rollout` runs the same explainer steps on attentions
recorded beforehand, ``(F, heads, N, N)`` per layer (``F`` frames explained
independently, CLS at ``cls_index``, image tokens from ``num_prefix`` on), as
the golden fixtures store them.

What ``prompt-tuning`` means on models prompt-tuning never had (the demo's divided
space-time towers, torchvision, custom): the same product order over
``forward_with_attention``'s joint matrices in list order (each factor one
layer), the CLS row restricted to image tokens, each frame of the grid
divided by its maximum, importance the frame mean. A factor in which CLS
reads no image token (the temporal one) drops out of the CLS-only product and
the CLS weight (see :func:`videoxai.explain.rollout.reads_patches`). Grad-CAM applies the
prompt-tuning's formula to the model's own ``gradcam_target()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from videoxai.explain.base import Explainer, choose_targets
from videoxai.explain.gradcam import GradCAM, ZeroGradientError
from videoxai.explain.options import PROMPT_TUNING_METHOD_OPTIONS
from videoxai.explain.rollout import (
    AttentionRollout,
    AttentionRolloutCLS,
    AttentionRolloutCLSWeighted,
    Rollout,
)
from videoxai.models.attention import AttentionLayer, PerFrameAttention
from videoxai.models.base import TokenLayout, VideoClassifier

# the golden tests call prompt-tuning's Grad-CAM layer on a CLIP module directly (the models: per_frame_gradcam)
from videoxai.models.families.prompt_tuning.per_frame import (  # noqa: F401
    layer_norm2_gradients as prompt_tuning_grad_cam_inputs,
)

PROMPT_TUNING_HEAD_FUSIONS = ("mean", "max")
ROLLOUT_TYPES = ("full", "cls", "cls_weighted")
# The explainer name -> prompt-tuning's rollout_type.
PROMPT_TUNING_ROLLOUTS = {
    "attention-rollout": "full",
    "attention-rollout-cls": "cls",
    "attention-rollout-cls-weighted": "cls_weighted",
}
LOG_EPS = 1e-10  # prompt-tuning's constant in the CLS-only variant


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


def token_weighted_cam(activations: torch.Tensor, gradients: torch.Tensor, channels: int = 1) -> torch.Tensor:
    """Prompt-tuning's Grad-CAM: a weight per *token* ``mean_c |g_c|`` times the token's ``sum_c a_c``, no ReLU."""
    return gradients.float().abs().mean(dim=channels) * activations.float().sum(dim=channels)


def prompt_tuning_grad_cam(activations: torch.Tensor, gradients: torch.Tensor, num_prefix: int = 1) -> torch.Tensor:
    """Prompt-tuning's Grad-CAM on tokens, ``(F, N, D)`` x2 -> ``(F, N - num_prefix)``, before normalisation."""
    if activations.shape != gradients.shape or activations.ndim != 3:
        raise ValueError(
            f"activations and gradients must both be (F, N, D), got {tuple(activations.shape)} and "
            f"{tuple(gradients.shape)}"
        )
    return token_weighted_cam(activations[:, num_prefix:], gradients[:, num_prefix:], channels=-1)


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


class PromptTokensError(ValueError):
    """Prompt-tuning's rollout cannot lay a frame's tokens on a square patch grid: visual prompts are among them."""


def _patch_side(attentions: Sequence[torch.Tensor], explainer: Explainer) -> int:
    """The side of the square patch grid behind a frame's CLS token, as prompt-tuning's ``_process_cam`` takes it.

    With ``keep-vision-prompts-throughout: true`` (dual_coop, vidop) the visual prompts stay in every frame's
    attention, after the patches: the CLS row then holds patches and prompts, which form no square grid, and
    prompt-tuning's ``cam.view(B, V, T, side, side)`` raises. Refused here in one line instead.
    """
    if not attentions:
        return 0
    tokens = attentions[0].shape[-1] - 1
    side = int(tokens**0.5)
    if side * side != tokens:
        raise PromptTokensError(
            f"{explainer.name} under conventions: prompt-tuning cannot map {type(explainer.model).__name__}: each "
            f"frame's attention has {tokens} tokens after CLS, not a square patch grid (its visual prompts stay in "
            "every layer, keep-vision-prompts-throughout: true; prompt-tuning's explainer fails on them too). "
            "Use conventions: standard for this explainer."
        )
    return side


class UndefinedMapError(ZeroGradientError):
    """Prompt-tuning's normalisation divides a frame's map by a zero maximum: the map is NaN (0 / 0)."""


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


# --------------------------------------------------------------------------- the tests' view of the model


def clip_backbone(model: VideoClassifier) -> PerFrameAttention | None:
    """The model as prompt-tuning's per-frame explainer path reads it, or None where it has none.

    Prompt-tuning's own models have it (:class:`~videoxai.models.attention.PerFrameAttention`);
    the demo towers, torchvision and custom models are explained through
    ``forward_with_attention`` / ``gradcam_target`` instead.
    """
    return model if isinstance(model, PerFrameAttention) else None


def recorded_attentions(
    model: VideoClassifier, video: torch.Tensor, backbone: PerFrameAttention | None = None
) -> list[torch.Tensor]:
    """The per-frame attention ``(B*T, heads, N, N)`` prompt-tuning's explainer rolls out for one view ``video``."""
    return (model if backbone is None else backbone).per_frame_attentions(video)


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


# --------------------------------------------------------------------------- the explainers: overridden steps


class PromptTuningRolloutSteps(Rollout):
    """Prompt-tuning's steps of every rollout variant: its attention, discard rule, layer order and normalisation.

    On prompt-tuning's models the attention is prompt-tuning's per-frame CLIP
    attention (``per_frame_attentions``: each frame a sequence ``[CLS,
    patches]``); on any other attention model it is ``forward_with_attention``'s
    joint attention over ``token_layout``, in list order, and "frame" is one
    time step of the patch grid.
    """

    convention = "prompt-tuning"

    def check_params(self) -> None:
        check_prompt_tuning_options(self.name, self.params)

    def attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[AttentionLayer], TokenLayout]:
        """Prompt-tuning's per-frame attention where the model has it, else its joint dense matrices."""
        with torch.no_grad():
            if isinstance(self.model, PerFrameAttention):
                logits = self.model(video)
                attentions = self.model.per_frame_attentions(video)
                side = _patch_side(attentions, self)
                layout = TokenLayout(num_prefix=1, frames=1, height=side, width=side)
            else:
                logits, attentions = self.model.forward_with_attention(video)
                layout = self.model.token_layout
        return logits, [AttentionLayer(a) for a in attentions], layout

    def discard(self, values: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        """Keep the entries ``>=`` the ``k``-th largest of the whole matrix (or row), CLS ranked with the rest."""
        return prompt_tuning_discard(values, float(self.params["discard-ratio"]))

    def fold(self, product: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
        """``R @ Â_l``: prompt-tuning multiplies later layers on the right."""
        return product @ layer

    def to_maps(self, tokens: torch.Tensor, layout: TokenLayout, video: torch.Tensor) -> torch.Tensor:
        """Each frame divided by its own maximum (:func:`per_frame_max`); a 0 / 0 frame is refused."""
        maps = per_frame_max(tokens, layout.frames, layout.height, layout.width)
        return _check_defined(maps.reshape(video.shape[0], -1, layout.height, layout.width), self)


class PromptTuningAttentionRollout(PromptTuningRolloutSteps, AttentionRollout):
    """Prompt-tuning's ``full`` rollout: the CLS row of ``Â_0 ... Â_{L-1}``."""

    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["attention-rollout"]


class PromptTuningAttentionRolloutCLS(PromptTuningRolloutSteps, AttentionRolloutCLS):
    """Prompt-tuning's ``cls`` rollout: its CLS rows discarded, ``exp(sum log(a + 1e-10))`` unshifted, every layer kept."""

    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["attention-rollout-cls"]
    log_eps = LOG_EPS

    def check_cls_layers(self, count: torch.Tensor) -> None:
        """Prompt-tuning refuses nothing here: a frame no layer reads stays constant (``exp(0)``)."""

    def cls_product(self, log_sum: torch.Tensor) -> torch.Tensor:
        """Unshifted, as prompt-tuning: an underflow to 0 becomes a 0 / 0 frame, refused by :meth:`to_maps`."""
        return torch.exp(log_sum)


class PromptTuningAttentionRolloutCLSWeighted(PromptTuningRolloutSteps, AttentionRolloutCLSWeighted):
    """Prompt-tuning's ``cls_weighted``: the full CLS row times the product over layers of the mean CLS attention."""

    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["attention-rollout-cls-weighted"]

    def add_weight(self, weight: Any, row: torch.Tensor, kept_row: torch.Tensor, used: torch.Tensor) -> torch.Tensor:
        """Times the layer's mean discarded CLS-to-patch attention, a scalar per frame (1 where CLS reads no patch)."""
        w = kept_row.mean(dim=1, keepdim=True)
        w = torch.where(used, w, torch.ones_like(w))
        return w if weight is None else weight * w

    def apply_weight(self, rolled: torch.Tensor, weight: Any) -> torch.Tensor:
        return rolled * (torch.ones_like(rolled[:, :1]) * weight)


_BY_ROLLOUT_TYPE: dict[str, type[PromptTuningRolloutSteps]] = {
    "full": PromptTuningAttentionRollout,
    "cls": PromptTuningAttentionRolloutCLS,
    "cls_weighted": PromptTuningAttentionRolloutCLSWeighted,
}


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

    The explainer's own steps (:meth:`Rollout.roll_out` of the ``rollout_type``'s
    class) on ``attentions``: per layer ``(F, heads, N, N)``, forward order (a list or a
    stacked ``(L, F, heads, N, N)`` tensor). ``use_cls_token=False`` (videoxai's
    option, which prompt-tuning lacks) takes the mean of all rows of the product
    instead of the CLS row; it applies to ``full`` and ``cls_weighted``.
    """
    if rollout_type not in ROLLOUT_TYPES:
        raise ValueError(f"rollout_type must be one of {list(ROLLOUT_TYPES)}, got {rollout_type!r}")
    layers = [AttentionLayer(a) for a in attentions]
    if not layers:
        raise ValueError("no attention layers given: nothing to roll out")
    steps = _BY_ROLLOUT_TYPE[rollout_type].without_model(
        **{"head-fusion": head_fusion, "discard-ratio": discard_ratio, "use-cls-token": use_cls_token}
    )
    n = layers[0].probs.shape[-1]
    return steps.roll_out(
        layers, TokenLayout(num_prefix, frames=1, height=1, width=n - num_prefix, cls_index=cls_index)
    )


class PromptTuningGradCAM(GradCAM):
    """Prompt-tuning's Grad-CAM: token weight ``mean_c |g|`` times ``sum_c a``, each frame over its maximum.

    On prompt-tuning's models it hooks prompt-tuning's layer (``per_frame_gradcam``:
    the last CLIP layer's ``layer_norm2``, plain vision path, the model's
    normalised CoOp-path class text features): the maps are 0 / 0 and the
    explainer raises :class:`UndefinedMapError` saying so. On other models it
    weighs the model's own ``gradcam_target()`` (videoxai's layer; prompt-tuning's
    has no counterpart there) with prompt-tuning's formula and normalisation.
    The batch is explained at once, as prompt-tuning does.
    """

    options: dict[str, Any] = PROMPT_TUNING_METHOD_OPTIONS["grad-cam"]
    convention = "prompt-tuning"
    per_clip = False

    def check_params(self) -> None:
        check_prompt_tuning_options(self.name, self.params)

    def activations_and_gradients(
        self, video: torch.Tensor, labels: torch.Tensor | None, target: str
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if not isinstance(self.model, PerFrameAttention):
            return super().activations_and_gradients(video, labels, target)
        with torch.no_grad():
            logits = self.model(video)
        targets = choose_targets(logits, labels, target)
        act, grad = self.model.per_frame_gradcam(video, targets)
        return act, grad, logits, targets

    def cam(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """A weight per token, not per channel (:func:`token_weighted_cam`)."""
        return token_weighted_cam(activations, gradients)

    def to_maps(self, cam: torch.Tensor) -> torch.Tensor:
        """Each frame divided by its own maximum; a 0 / 0 frame is refused (:class:`UndefinedMapError`)."""
        return _check_defined(cam / cam.amax(dim=(2, 3), keepdim=True), self)


PROMPT_TUNING_EXPLAINERS: dict[str, type[Explainer]] = {
    cls.name: cls
    for cls in (
        PromptTuningAttentionRollout,
        PromptTuningAttentionRolloutCLS,
        PromptTuningAttentionRolloutCLSWeighted,
        PromptTuningGradCAM,
    )
}
