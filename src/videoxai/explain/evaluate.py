"""Scores that say which explanation to believe.

* Against ground truth (the demo's object masks): the pointing game (is the
  map's peak on the object?) and energy in mask (what share of the map lies on
  it?), beside a random-map and a centre-prior baseline scored the same way,
  and the chance level (the mask's area share).
* Faithfulness on any data (Petsiuk et al. 2018): deletion and insertion
  curves of the target probability as the most relevant grid cells are
  removed from / inserted into a blurred clip, and their AUCs, beside the
  same curves for a random cell order.
* Sanity (Adebayo et al. 2018): maps of the trained model against maps of the
  same model with its weights re-initialised from the top down, cascading;
  Spearman rank correlation per step. A method whose maps survive
  randomisation explains the input, not the model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torchvision.transforms.functional import gaussian_blur

from videoxai.explain.maps import upsample_bilinear

# --------------------------------------------------------------------------- ground-truth masks


def clip_masks(video_path: Any, frame_indices: Sequence[int], size: int) -> np.ndarray:
    """The demo mask of the frames the model saw, cropped and resized exactly as those frames were: bool (T, S, S)."""
    from videoxai.data.loader import resize_crop
    from videoxai.data.masks import load_mask

    mask = load_mask(video_path)[list(frame_indices)]
    rgb = np.repeat(mask[..., None].astype(np.uint8) * 255, 3, axis=-1)
    return resize_crop(rgb, size)[..., 0].numpy() >= 128


def pointing_hits(maps: torch.Tensor | np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per frame: 1 if the map's maximum lies on the object, 0 if not, NaN where the object is absent.

    Maps ``(N, T, H, W)`` at mask resolution (:func:`videoxai.explain.maps.upsample_bilinear`). A frame
    whose map is constant points nowhere and counts as a miss.
    """
    m = torch.as_tensor(maps).float().flatten(2)
    mk = torch.as_tensor(masks).flatten(2)
    peak = m.amax(dim=2, keepdim=True)
    on_object = ((m >= peak) & mk).any(dim=2)
    constant = m.amin(dim=2) >= peak[..., 0]
    hits = (on_object & ~constant).double().numpy()
    hits[~mk.any(dim=2).numpy()] = np.nan
    return hits


def energy_in_mask(maps: torch.Tensor | np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per frame: the share of the map's mass on the object; NaN where the object is absent or the map is zero."""
    m = torch.as_tensor(maps).double().clamp_min(0).flatten(2)
    mk = torch.as_tensor(masks).flatten(2)
    total = m.sum(dim=2)
    inside = (m * mk).sum(dim=2)
    out = torch.where(total > 0, inside / total.clamp_min(1e-300), torch.full_like(total, math.nan)).numpy()
    out[~mk.any(dim=2).numpy()] = np.nan
    return out


def random_maps(shape: Sequence[int], seed: int = 0) -> torch.Tensor:
    """Uniform noise on the maps' grid: the baseline any explanation must beat."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(tuple(shape), generator=g)


def centre_prior(shape: Sequence[int]) -> torch.Tensor:
    """An isotropic Gaussian at the frame centre (sigma = a quarter of the side): objects are often central."""
    *lead, h, w = shape
    y = (torch.arange(h, dtype=torch.float32) + 0.5) / h - 0.5
    x = (torch.arange(w, dtype=torch.float32) + 0.5) / w - 0.5
    g = torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * 0.25**2))
    return g.expand(*lead, h, w).clone()


def nanmean_or_none(a: np.ndarray) -> float | None:
    """Mean over the finite entries; None when there are none (JSON has no NaN)."""
    a = np.asarray(a, dtype=np.float64)
    return float(np.nanmean(a)) if np.isfinite(a).any() else None


def mask_scores(maps: torch.Tensor | np.ndarray, masks: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Pointing game and energy in mask of ``maps`` (N, T, h, w) against ``masks`` (N, T, H, W), with baselines.

    Scores are means over the frames where the object is visible.
    """
    maps = torch.as_tensor(np.asarray(maps, dtype=np.float32)) if isinstance(maps, np.ndarray) else maps.float()
    size = tuple(masks.shape[-2:])
    visible = masks.reshape(*masks.shape[:2], -1).any(axis=2)
    out: dict[str, Any] = {
        "n_clips": int(masks.shape[0]),
        "n_frames_scored": int(visible.sum()),
        "chance": nanmean_or_none(np.where(visible, masks.reshape(*masks.shape[:2], -1).mean(axis=2), np.nan)),
    }
    for name, m in (
        ("map", maps),
        ("random_map", random_maps(maps.shape, seed)),
        ("centre_prior", centre_prior(maps.shape)),
    ):
        up = upsample_bilinear(m.detach().cpu().numpy(), size)  # as the overlays are drawn
        out[name] = {
            "pointing_game": nanmean_or_none(pointing_hits(up, masks)),
            "energy_in_mask": nanmean_or_none(energy_in_mask(up, masks)),
        }
    return out


def temporal_visibility(importance: np.ndarray, masks: np.ndarray) -> dict[str, Any]:
    """Mean temporal importance of frames where the object is visible vs hidden (clips that have both).

    On the demo's blinking clips a temporal importance that means anything
    gives hidden frames less.
    """
    visible = masks.reshape(*masks.shape[:2], -1).any(axis=2)
    both = visible.any(axis=1) & (~visible).any(axis=1)
    if not both.any():
        return {"n_clips": 0, "visible": None, "hidden": None}
    ti = np.asarray(importance, dtype=np.float64)[both]
    vis = visible[both]
    return {
        "n_clips": int(both.sum()),
        "visible": float(np.mean([t[v].mean() for t, v in zip(ti, vis, strict=True)])),
        "hidden": float(np.mean([t[~v].mean() for t, v in zip(ti, vis, strict=True)])),
    }


# --------------------------------------------------------------------------- deletion / insertion


def blurred(video: torch.Tensor) -> torch.Tensor:
    """A heavily blurred copy of ``(B, T, C, H, W)``: the 'removed' state of a cell (keeps colour, drops shape)."""
    size = video.shape[-1]
    sigma = max(size / 16.0, 1.0)
    k = 2 * int(math.ceil(2 * sigma)) + 1
    return gaussian_blur(video.flatten(0, 1), [k, k], [sigma, sigma]).reshape(video.shape)


def _cell_index(grid: Sequence[int], size: Sequence[int], device: torch.device) -> torch.Tensor:
    """For each pixel of a ``(T, H, W)`` clip, the index of its cell in the ``(T, h, w)`` map grid."""
    t, h, w = grid
    idx = torch.arange(t * h * w, dtype=torch.float32, device=device).reshape(1, t, h, w)
    return F.interpolate(idx, size=tuple(size), mode="nearest")[0].long()  # (T, H, W)


@torch.no_grad()
def deletion_insertion(
    model: Callable[[torch.Tensor], torch.Tensor],
    video: torch.Tensor,
    relevance: torch.Tensor,
    targets: torch.Tensor,
    steps: int = 16,
    deletion_baseline: str = "mean",
    insertion_baseline: str = "blur",
    seed: int = 0,
    chunk: int = 17,
) -> dict[str, np.ndarray]:
    """Deletion and insertion AUCs of each clip, for the map's order and for a random order.

    Cells of the ``(T, h, w)`` map grid are ranked by relevance; ``steps + 1``
    points from none to all cells are evaluated. Deletion replaces the top
    cells with its baseline (lower AUC = more faithful); insertion starts from
    its baseline and restores the top cells (higher AUC = more faithful). The
    score is the softmax probability of the target class.

    Defaults follow RISE (Petsiuk et al. 2018): deletion fills with the mean
    (a constant, which removes the content), insertion starts from a blurred
    clip (which keeps colour but not detail). Deleting by blur is a weak test
    on small or coarse clips: a blurred object that still moves still gives
    the class away (on the demo, blur-deletion of the top cells scored *above*
    random for every method, mean-deletion well below).
    Returns arrays ``(B,)``: deletion_auc, insertion_auc, and the ``_random`` pair.
    """
    for name, value in (("deletion-baseline", deletion_baseline), ("insertion-baseline", insertion_baseline)):
        if value not in ("blur", "mean"):
            raise ValueError(f"{name} must be 'blur' or 'mean', got {value!r}")
    b, t, _, hh, ww = video.shape
    fills = {"blur": blurred(video), "mean": torch.zeros_like(video)}  # 0 = the spec mean once normalised
    bases = {"deletion": fills[deletion_baseline], "insertion": fills[insertion_baseline]}
    cells = _cell_index(relevance.shape[1:], (hh, ww), video.device) if relevance.shape[1] == t else None
    if cells is None:
        raise ValueError(f"maps have {relevance.shape[1]} frames but the clip has {t}")
    n_cells = int(relevance[0].numel())
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(fractions * n_cells).astype(int)
    gen = torch.Generator().manual_seed(seed)
    out = {k: np.zeros(b) for k in ("deletion_auc", "insertion_auc", "deletion_auc_random", "insertion_auc_random")}
    for i in range(b):
        orders = {
            "": torch.argsort(relevance[i].flatten().float().cpu(), descending=True, stable=True),
            "_random": torch.randperm(n_cells, generator=gen),
        }
        for suffix, order in orders.items():
            rank = torch.empty(n_cells, dtype=torch.long)
            rank[order] = torch.arange(n_cells)
            pixel_rank = rank.to(video.device)[cells]  # (T, H, W): when each pixel's cell is taken
            for kind in ("deletion", "insertion"):
                probs = []
                for start in range(0, len(counts), chunk):
                    ks = torch.as_tensor(counts[start : start + chunk], device=video.device)
                    taken = (pixel_rank[None] < ks[:, None, None, None])[:, :, None]  # (S, T, 1, H, W)
                    base = bases[kind][i : i + 1]
                    if kind == "deletion":
                        x = torch.where(taken, base, video[i : i + 1])
                    else:
                        x = torch.where(taken, video[i : i + 1], base)
                    probs.append(model(x).float().softmax(dim=1)[:, int(targets[i])].cpu())
                curve = torch.cat(probs).numpy()
                out[f"{kind}_auc{suffix}"][i] = float(np.trapezoid(curve, fractions))
    return out


# --------------------------------------------------------------------------- model randomisation


def parameterised_modules(model: torch.nn.Module, video: torch.Tensor) -> list[tuple[str, torch.nn.Module]]:
    """Modules that own parameters directly, in the order the forward pass first reaches them."""
    owners = {m: name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))}
    order: list[torch.nn.Module] = []

    def pre_hook(module: torch.nn.Module, _args: Any) -> None:
        if module not in order:
            order.append(module)

    handles = [m.register_forward_pre_hook(pre_hook) for m in owners]
    try:
        with torch.no_grad():
            model(video[:1])
    finally:
        for h in handles:
            h.remove()
    seen = [(owners[m], m) for m in order]
    return seen + [(n, m) for m, n in owners.items() if m not in order]  # never called: no effect, any place


def cascade_steps(modules: list[tuple[str, torch.nn.Module]], steps: int) -> list[list[tuple[str, torch.nn.Module]]]:
    """Split the modules, last-executed first, into ``steps`` chunks: step s randomises chunks 0..s (top-down)."""
    top_down = list(reversed(modules))
    steps = max(1, min(steps, len(top_down)))
    bounds = np.linspace(0, len(top_down), steps + 1).round().astype(int)
    return [top_down[bounds[s] : bounds[s + 1]] for s in range(steps)]


def randomise_(module: torch.nn.Module) -> None:
    """Re-initialise a module's own parameters: its ``reset_parameters`` if it has one, else N(0, std)."""
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    with torch.no_grad():
        for p in module.parameters(recurse=False):
            std = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.02
            p.normal_(0.0, std)


def spearman_per_clip(a: torch.Tensor, b: torch.Tensor) -> list[float | None]:
    """Spearman rank correlation of each clip's maps; None where either map is constant (no ranking)."""
    out: list[float | None] = []
    for x, y in zip(a.flatten(1).cpu().numpy(), b.flatten(1).cpu().numpy(), strict=True):
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            out.append(None)
        else:
            out.append(float(spearmanr(x, y).statistic))
    return out


def cascading_randomisation(
    model: torch.nn.Module,
    explain: Callable[[torch.nn.Module], torch.Tensor],
    trained: torch.Tensor,
    modules: list[tuple[str, torch.nn.Module]],
    steps: int = 4,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[torch.Tensor]]:
    """Re-initialise a copy of ``model`` top-down in ``steps`` chunks; after each, explain again and compare.

    ``explain(m)`` returns relevance ``(B, T, h, w)`` for the same clips and
    target classes with model ``m``. Each chunk is re-initialised under its
    own seed, so every batch of clips sees the same randomised weights.
    Returns per step ``{"randomised": [module names], "spearman": [per clip]}``
    and the randomised maps of every step.
    """
    names = {id(m): n for n, m in modules}
    clone = copy.deepcopy(model).eval()
    by_name = dict(clone.named_modules())
    results, maps = [], []
    for s, chunk in enumerate(cascade_steps(modules, steps)):
        with torch.random.fork_rng():
            torch.manual_seed(seed * 1000 + s)
            for _, m in chunk:
                randomise_(by_name[names[id(m)]])
        rel = explain(clone)
        maps.append(rel)
        results.append({"randomised": [n for n, _ in chunk], "spearman": spearman_per_clip(trained, rel)})
    return results, maps


# --------------------------------------------------------------------------- summary for aggregated_stats.json


def _mean_of(clips: list[dict[str, Any]], key: str) -> float | None:
    vals = [c["evaluation"][key] for c in clips if c.get("evaluation", {}).get(key) is not None]
    return float(np.mean(vals)) if vals else None


def evaluation_summary(
    maps: np.ndarray,
    importance: np.ndarray,
    clips: list[dict[str, Any]],
    masks: np.ndarray | None,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything that goes under ``evaluation`` in ``aggregated_stats.json``.

    ``masks`` (N, T, H, W) are the ground-truth object masks aligned with the
    maps' frames, or None when the dataset has none (only faithfulness and
    sanity scores, computed in the explain stage and kept per clip, are
    summarised then).
    """
    out: dict[str, Any] = {}
    if masks is not None:
        out["ground_truth"] = mask_scores(maps, masks, seed)
        out["ground_truth"]["per_class"] = {}
        names = [c.get("class_name", str(c.get("class_index"))) for c in clips]
        for name in sorted(set(names)):
            sel = np.array([n == name for n in names])
            s = mask_scores(maps[sel], masks[sel], seed)
            out["ground_truth"]["per_class"][name] = {"n_clips": s["n_clips"], **s["map"]}
        out["temporal_visibility"] = temporal_visibility(importance, masks)
        rand = [c["evaluation"]["randomised_model"] for c in clips if c.get("evaluation", {}).get("randomised_model")]
        if rand:
            out["ground_truth"]["randomised_model"] = {
                k: nanmean_or_none(np.array([r[k] if r[k] is not None else np.nan for r in rand], dtype=np.float64))
                for k in ("pointing_game", "energy_in_mask")
            }
    evaluated = [c for c in clips if c.get("evaluation")]
    if evaluated:
        out["faithfulness"] = {
            k: _mean_of(evaluated, k)
            for k in ("deletion_auc", "insertion_auc", "deletion_auc_random", "insertion_auc_random")
        }
        out["faithfulness"]["n_clips"] = len(evaluated)
        per_step = list(zip(*[c["evaluation"]["sanity_spearman"] for c in evaluated], strict=True))
        out["sanity"] = [
            {
                "step": s + 1,
                "spearman": nanmean_or_none(np.array([v if v is not None else np.nan for v in vals], dtype=np.float64)),
                "n_undefined": int(sum(v is None for v in vals)),
            }
            for s, vals in enumerate(per_step)
        ]
    return out
