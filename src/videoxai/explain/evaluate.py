"""Scores that need the model: which explanation to believe, on any data.

* Faithfulness (Petsiuk et al. 2018): deletion and insertion curves of the
  target probability as the most relevant grid cells are removed from /
  inserted into a blurred clip, and their AUCs, beside the same curves for a
  random cell order.
* Sanity (Adebayo et al. 2018): maps of the trained model against maps of the
  same model with its weights re-initialised from the top down, cascading;
  Spearman rank correlation and SSIM per step (both, as Adebayo et al. report). A method whose maps survive
  randomisation explains the input, not the model.
* Random logit (Sixt et al. 2020): the map of the target class against the
  map of a random other class; a class-sensitive method gives a low
  Spearman correlation.

The scores against ground truth (pointing game, energy in mask, their random
and centre-prior baselines) need only the maps and live, in numpy, in
:mod:`videoxai.explain.summary`; :mod:`videoxai.explain.scoring` runs both on a batch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from videoxai.data.prompt_tuning_frames import gaussian_blur

# --------------------------------------------------------------------------- deletion / insertion


def blurred(video: torch.Tensor) -> torch.Tensor:
    """A heavily blurred copy of ``(B, T, C, H, W)``: the 'removed' state of a cell (keeps colour, drops shape).

    In the clip's own dtype, outside any autocast: the fill is input, not the model's arithmetic, and a bfloat16
    depthwise 17 x 17 convolution took minutes where float32 takes milliseconds (AVX-512 CPU without AMX)."""
    size = video.shape[-1]
    sigma = max(size / 16.0, 1.0)
    k = 2 * int(math.ceil(2 * sigma)) + 1
    with torch.autocast(video.device.type, enabled=False):
        return gaussian_blur(video, k, sigma)


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
    on_clip: Callable[[], None] | None = None,
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
    Returns arrays ``(B,)``: deletion_auc, insertion_auc, and the ``_random`` pair. ``on_clip()`` is called as
    each clip's curves are done (progress: at ViT-B/16 size a clip is 68 forwards, minutes on a CPU).
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
        if on_clip is not None:
            on_clip()
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
    """Spearman rank correlation of each clip's maps; None where either map is constant (no ranking).

    Positions where either map is undefined (NaN: a frame prompt-tuning's normalisation leaves 0 / 0) are left out.
    """
    out: list[float | None] = []
    for x, y in zip(a.flatten(1).float().cpu().numpy(), b.flatten(1).float().cpu().numpy(), strict=True):
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            out.append(None)
        else:
            # as scipy.stats.spearmanr computes it (columns, rowvar=False): the same bits, not just the same value
            out.append(float(np.corrcoef(np.column_stack([_ranks(x), _ranks(y)]), rowvar=False)[1, 0]))
    return out


# SSIM's constants and window as scikit-image's ``structural_similarity`` defaults (Wang et al. 2004 with a uniform
# 7 x 7 window and the sample covariance); the unit test checks the value against scikit-image itself
SSIM_WINDOW = 7
_SSIM_K1, _SSIM_K2 = 0.01, 0.03


def ssim_2d(x: np.ndarray, y: np.ndarray, window: int = SSIM_WINDOW) -> float:
    """Mean structural similarity of two ``(H, W)`` images in [0, 1] (data range 1), as scikit-image computes it:
    local means, variances and covariance over a uniform ``window``, the border of half a window left out."""
    from scipy.ndimage import uniform_filter  # lazily: only the sanity check needs it

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = window**2
    cov_norm = n / (n - 1)  # the sample covariance
    ux, uy = uniform_filter(x, window), uniform_filter(y, window)
    uxx, uyy, uxy = uniform_filter(x * x, window), uniform_filter(y * y, window), uniform_filter(x * y, window)
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    c1, c2 = _SSIM_K1**2, _SSIM_K2**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (window - 1) // 2
    return float(s[pad : s.shape[0] - pad, pad : s.shape[1] - pad].mean())


def _unit_range(m: np.ndarray) -> np.ndarray | None:
    """A clip's maps min-max scaled to [0, 1] over its defined (finite) values; None if constant."""
    finite = m[np.isfinite(m)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return None
    return (m - finite.min()) / np.ptp(finite)


def ssim_per_clip(a: torch.Tensor, b: torch.Tensor, size: int) -> list[float | None]:
    """SSIM of each clip's ``(T, h, w)`` maps: each clip's maps scaled to [0, 1], upsampled to the clip's ``size``
    (bilinear, as the ground-truth scores see them), :func:`ssim_2d` per frame, the mean over frames.

    Frames undefined (NaN) in either map are left out; None where either clip's map is constant or no frame is left.
    """
    from videoxai.explain.maps import upsample_bilinear

    out: list[float | None] = []
    for x, y in zip(a.float().cpu().numpy(), b.float().cpu().numpy(), strict=True):
        x, y = _unit_range(x), _unit_range(y)
        if x is None or y is None:
            out.append(None)
            continue
        keep = np.isfinite(x).all(axis=(1, 2)) & np.isfinite(y).all(axis=(1, 2))
        if not keep.any():
            out.append(None)
            continue
        ux, uy = upsample_bilinear(x[keep], size), upsample_bilinear(y[keep], size)
        window = min(SSIM_WINDOW, size - (1 - size % 2))  # odd, at most the frame's side
        out.append(float(np.mean([ssim_2d(p, q, window) for p, q in zip(ux, uy, strict=True)])))
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties given their mean rank (scipy's ``rankdata``): scipy.stats alone would add ~0.7 s to every
    explain job's start, for one line of it."""
    order = np.argsort(x, kind="stable")
    sx = x[order]
    starts = np.flatnonzero(np.r_[True, sx[1:] != sx[:-1]])
    ends = np.r_[starts[1:], sx.size]
    mean_rank = (starts + ends + 1) / 2.0  # 1-based mean rank of each run of equal values
    ranks = np.empty(sx.size)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def off_classes(targets: np.ndarray, num_classes: int, seed: int = 0) -> np.ndarray:
    """A random class other than each clip's target, for the random-logit test (Sixt et al. 2020).

    Drawn as Quantus' ``RandomLogit`` draws it (the legacy generator seeded with ``seed`` for each batch, one
    index among the other classes per clip), so the same clips get the same classes there and here.
    """
    t = np.asarray(targets, dtype=np.int64).reshape(-1)
    if num_classes < 2:
        raise ValueError("the random-logit test needs at least two classes")
    picks = np.random.RandomState(seed).randint(0, num_classes - 1, len(t))
    return np.where(picks >= t, picks + 1, picks)  # the picks-th class of those left after removing the target


def cascading_randomisation(
    model: torch.nn.Module,
    explain: Callable[[torch.nn.Module], torch.Tensor],
    trained: torch.Tensor,
    modules: list[tuple[str, torch.nn.Module]],
    steps: int = 4,
    seed: int = 0,
    size: int | None = None,
    on_step: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], list[torch.Tensor]]:
    """Re-initialise a copy of ``model`` top-down in ``steps`` chunks; after each, explain again and compare.

    ``explain(m)`` returns relevance ``(B, T, h, w)`` for the same clips and
    target classes with model ``m``. Each chunk is re-initialised under its
    own seed, so every batch of clips sees the same randomised weights.
    ``size``: the clips' side, where the SSIM compares the maps (None: Spearman only).
    Returns per step ``{"randomised": [module names], "spearman": [per clip], "ssim": [per clip]}``
    and the randomised maps of every step; ``on_step()`` is called after each step (progress).
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
        step: dict[str, Any] = {"randomised": [n for n, _ in chunk], "spearman": spearman_per_clip(trained, rel)}
        if size is not None:
            step["ssim"] = ssim_per_clip(trained, rel, size)
        results.append(step)
        if on_step is not None:
            on_step()
    return results, maps
