"""Grad-CAM (Selvaraju et al. 2017) on any model's ``gradcam_target()``, 3-D CNNs and token models alike.

The hooked module's output ``A`` and the gradient of the target logit with
respect to it are both mapped to a ``(B, D, T', h, w)`` grid by the target's
``to_grid`` (a pure re-indexing: drop prefix tokens, reshape, permute), then
``cam = relu(sum_c w_c A_c)`` with ``w_c`` the gradient's mean over
``(T', h, w)``, stretched in time to the clip's ``T`` frames.

On token models the hooked layer must still feed the CLS token: the input of
the last block's attention (its first LayerNorm), not the last block's
output, where image tokens have exactly zero gradient because only CLS
leaves the encoder.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from videoxai.explain.base import (
    Explainer,
    Explanation,
    choose_targets,
    each_clip,
    joined,
    target_scores,
    upsample_time,
)
from videoxai.explain.options import METHOD_OPTIONS
from videoxai.models.base import GradCamTarget


class ZeroGradientError(RuntimeError):
    """The target layer received no gradient: it does not influence the explained logit."""


def activations_and_gradients(
    model: torch.nn.Module, target: GradCamTarget, video: torch.Tensor, labels: torch.Tensor | None, target_class: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward once with a hook on ``target.module``; return its output, d(target logit)/d(output), logits, targets."""
    store: dict[str, torch.Tensor] = {}

    def hook(_module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            output = output[0]  # e.g. MViT blocks return (tokens, thw)
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"Grad-CAM needs a module whose output is a tensor, got {type(output).__name__}")
        store["activation"] = output

    handle = target.module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            # the input requires grad so the graph exists even when every weight is frozen
            logits = model(video.detach().requires_grad_(True))
            if "activation" not in store:
                raise RuntimeError("the Grad-CAM target module was not called during the forward pass")
            targets = choose_targets(logits, labels, target_class)
            (grad,) = torch.autograd.grad(target_scores(logits, targets), store["activation"])
    finally:
        handle.remove()
    return store["activation"].detach(), grad.detach(), logits.detach(), targets


def grad_cam(activation_grid: torch.Tensor, gradient_grid: torch.Tensor) -> torch.Tensor:
    """Channel-weighted map ``relu(sum_c mean(grad_c) * A_c)``: ``(B, D, T', h, w)`` x2 -> ``(B, T', h, w)``."""
    weights = gradient_grid.float().mean(dim=(2, 3, 4))
    return torch.relu(torch.einsum("bc,bcthw->bthw", weights, activation_grid.float()))


class GradCAM(Explainer):
    """Grad-CAM on the layer the model names in ``gradcam_target()``: the template of every Grad-CAM form.

    The pipeline: the hooked layer's activations and gradients as grids
    (:meth:`activations_and_gradients`), combined into a map (:meth:`cam`: the
    CAM weights and how they weigh the activations), the map made final
    (:meth:`to_maps`), stretched to the clip's frames. A convention overrides
    those steps (:class:`videoxai.explain.prompt_tuning.PromptTuningGradCAM`).
    """

    name = "grad-cam"
    options: dict[str, Any] = METHOD_OPTIONS["grad-cam"]
    per_clip: ClassVar[bool] = True  # one clip's graph at a time (each_clip); False: the batch at once

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        """One clip's graph at a time (:func:`each_clip`); a batch none of whose clips gets any gradient raises."""
        if self.per_clip:
            parts = each_clip(self.model, self._explain, video, labels, target)
        else:
            parts = [self._explain(video, labels, target)]
        if not any(reached for _, reached in parts):
            raise ZeroGradientError(
                f"the Grad-CAM layer of {type(self.model).__name__} gets exactly zero gradient: its image tokens do "
                "not reach the output (for a transformer, hook the last block's first LayerNorm, not its output)"
            )
        return joined([expl for expl, _ in parts])

    def _explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> tuple[Explanation, bool]:
        a_grid, g_grid, logits, targets = self.activations_and_gradients(video, labels, target)
        if a_grid.ndim != 5 or a_grid.shape[0] != video.shape[0]:
            raise ValueError(
                f"gradcam_target().to_grid must give (B, D, T', h, w) with B={video.shape[0]}, "
                f"got {tuple(a_grid.shape)}"
            )
        cam = upsample_time(self.to_maps(self.cam(a_grid, g_grid)), video.shape[1])
        return Explanation(cam, logits, targets), bool(torch.any(g_grid != 0))

    # ---- the steps a convention overrides ----
    def activations_and_gradients(
        self, video: torch.Tensor, labels: torch.Tensor | None, target: str
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The hooked layer's output and d(target logit)/d(output) as grids ``(B, D, T', h, w)``, logits, targets."""
        tgt = self.model.gradcam_target()
        act, grad, logits, targets = activations_and_gradients(self.model, tgt, video, labels, target)
        return tgt.to_grid(act), tgt.to_grid(grad), logits, targets

    def cam(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """The CAM weights and the weighted activations: here a weight per channel, :func:`grad_cam`."""
        return grad_cam(activations, gradients)

    def to_maps(self, cam: torch.Tensor) -> torch.Tensor:
        """The map ``(B, T', h, w)`` as the explainer returns it: here as it is (normalised later, per clip)."""
        return cam
