"""The explain stage's evaluation of each batch's maps, by the model itself.

Deletion/insertion faithfulness of every map, and the cascading
model-randomisation sanity check (Adebayo et al. 2018): the method is rerun
on ever more randomised copies of the model, and the rank correlation and
SSIM with the trained model's map are kept per step. On clips with ground-truth masks
(the demo) the randomised model's maps are scored against them too, the
floor the trained model's scores should clear. The kernels live in
:mod:`videoxai.explain.evaluate` (faithfulness, sanity) and :mod:`videoxai.explain.localisation` (ground-truth
scores, numpy); this module runs them on a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from videoxai.data.masks import mask_path
from videoxai.data.splits import Sample
from videoxai.explain import evaluate as ev
from videoxai.explain.base import Explainer, Explanation
from videoxai.explain.gradcam import ZeroGradientError
from videoxai.explain.localisation import clip_masks, energy_in_mask, nanmean_or_none, pointing_hits
from videoxai.explain.maps import upsample_bilinear
from videoxai.explain.options import EvaluationSettings
from videoxai.explain.undefined import without_undefined
from videoxai.models.base import VideoClassifier
from videoxai.progress import Progress
from videoxai.setup.device import precision_weights

log = logging.getLogger("videoxai.explain")
PHASE_QUIET_S = 30.0  # an evaluation phase shorter than this logs nothing (the demo's take seconds)


class BatchScorer:
    """Scores the maps of one explain job, batch by batch, with the job's method on randomised models."""

    def __init__(
        self,
        model: VideoClassifier,
        settings: EvaluationSettings,
        make_explainer: Callable[[torch.nn.Module], Explainer],
        precision: str = "float32",
    ):
        """``make_explainer(model)`` builds the job's method (target ``true``) on a randomised copy of the model.
        ``precision``: the trained model's forwards (deletion/insertion, the random logit) run with its weights
        cast once (:func:`~videoxai.setup.device.precision_weights`, under the caller's autocast); the randomised
        copies are made from its float32 weights, as under autocast alone."""
        self.model = model
        self.precision = precision
        self.settings = settings
        self.make_explainer = make_explainer
        self.modules: list | None = None  # the parameterised modules, top-down (found on the first batch)
        self.randomised: list[list[str]] = []  # the module names randomised at each sanity step

    def __call__(
        self,
        video: torch.Tensor,
        expl: Explanation,
        samples: list[Sample] | None,
        frame_indices: torch.Tensor,
        size: int,
    ) -> list[dict[str, Any]]:
        """Per-clip deletion/insertion AUCs, sanity-check Spearman and SSIM per step, random-logit Spearman (plus GT
        scores of the randomised model's maps).

        ``samples``: the clips, when their ground-truth masks (if any) match
        the frames shown (None for VideoMix clips).
        """
        s = self.settings
        if self.modules is None:
            self.modules = ev.parameterised_modules(self.model, video)
        masks = masks_if_any(samples, frame_indices, size) if samples is not None else None
        # an undefined frame (NaN map) has no ranking: its cells go last, as relevance 0; the count is kept per clip
        undefined = torch.isnan(expl.relevance.float()).flatten(2).any(-1)  # (B, T)
        # a batch's evaluation is most of an explain job at real size (an hour for 8 ViT-B/16 clips on a CPU
        # core): each phase logs its own progress, so the log never falls silent for longer than a clip
        deleted = Progress(video.shape[0], "evaluate: deletion/insertion", log, after=PHASE_QUIET_S)
        with precision_weights(self.model, self.precision):
            fi = ev.deletion_insertion(
                self.model,
                video,
                torch.nan_to_num(expl.relevance.float(), nan=0.0),
                expl.targets,
                s.deletion_steps,
                deletion_baseline=s.deletion_baseline,
                insertion_baseline=s.insertion_baseline,
                seed=int(s.seed),
                on_clip=lambda: deleted.update(1),
            )
        deleted.finish()

        def explain(m: torch.nn.Module) -> torch.Tensor:
            # the randomised models explain the trained model's target classes
            try:
                return self.make_explainer(m).explain(video, expl.targets, "true").relevance
            except ZeroGradientError:  # a randomised layer that no longer reaches the output: no map at all
                return torch.zeros_like(expl.relevance)

        # the random-logit test: the same method on the trained model, for a random other class
        num_classes = int(expl.logits.shape[1])
        off_logit: list[float | None] = [None] * video.shape[0]
        if num_classes > 1:
            off = ev.off_classes(expl.targets.cpu().numpy(), num_classes, int(s.seed))
            off_targets = torch.as_tensor(off, device=expl.targets.device)
            try:
                with precision_weights(self.model, self.precision):
                    other = self.make_explainer(self.model).explain(video, off_targets, "true").relevance
                off_logit = ev.spearman_per_clip(expl.relevance, other)
            except ZeroGradientError:
                pass  # no map for that class: no similarity to report
        randomised = Progress(
            len(ev.cascade_steps(self.modules, s.sanity_steps)),
            "evaluate: sanity check",
            log,
            unit="steps",
            after=PHASE_QUIET_S,
        )
        steps, random_maps = ev.cascading_randomisation(
            self.model,
            explain,
            expl.relevance,
            self.modules,
            s.sanity_steps,
            int(s.seed),
            size,
            on_step=lambda: randomised.update(1),
        )
        randomised.finish()
        self.randomised = [st["randomised"] for st in steps]
        scores = []
        for j in range(video.shape[0]):
            clip: dict[str, Any] = {k: float(v[j]) for k, v in fi.items()}
            clip["sanity_spearman"] = [st["spearman"][j] for st in steps]
            clip["sanity_ssim"] = [st["ssim"][j] for st in steps]
            clip["random_logit_spearman"] = off_logit[j]
            if bool(undefined[j].any()):
                clip["n_undefined_frames"] = int(undefined[j].sum())
            if masks is not None:
                final = random_maps[-1][j : j + 1].detach().float().cpu().numpy()
                final = upsample_bilinear(np.nan_to_num(final, nan=0.0), masks.shape[-1])
                m = without_undefined(masks[j : j + 1], undefined[j : j + 1].cpu().numpy())
                clip["randomised_model"] = {
                    "pointing_game": nanmean_or_none(pointing_hits(final, m)),
                    "energy_in_mask": nanmean_or_none(energy_in_mask(final, m)),
                }
            scores.append(clip)
        return scores


def masks_if_any(samples: list[Sample], frame_indices: torch.Tensor, size: int) -> np.ndarray | None:
    """Ground-truth masks of the clips' frames when every clip has one (the demo), else None."""
    if not all(mask_path(s.path).is_file() for s in samples):
        return None
    return np.stack([clip_masks(s.path, fi.tolist(), size) for s, fi in zip(samples, frame_indices, strict=True)])
