"""The explanation summary of one explainer folder: ``aggregated_stats.json``, from the heatmaps file alone.

Counts, the mean temporal-importance curve and the spatial spread of the maps,
overall and per class; on data with object masks (the demo) the ground-truth
scores (pointing game, energy in mask, against a random-map and a centre-prior
baseline), the temporal visibility check and the VideoMix scores; the
faithfulness and sanity scores the explain stage kept per clip, averaged.

numpy only (no torch). The ground-truth scores themselves are in :mod:`videoxai.explain.localisation`
(the annotation scores of :mod:`videoxai.explain.ground_truth` and the explain stage use them too). The VideoMix region is
:func:`videoxai.explain.mix.mix_region`, the one the explain stage mixed the clips with. It reads the heatmaps
file once, and never the rendered videos: the summary does not wait for encoding.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# the ground-truth scores are the summary's names too (callers read them here): hence the full list
from videoxai.explain.localisation import (
    centre_prior,
    clip_masks,
    energy_in_mask,
    map_scores,
    mask_scores,
    nanmean_or_none,
    pointing_hits,
    random_maps,
)
from videoxai.explain.maps import upsample_bilinear
from videoxai.explain.mix import mix_region, mixed_mask
from videoxai.explain.store import HeatmapSet, load_maps
from videoxai.explain.undefined import flags_or_none, undefined_counts, without_undefined
from videoxai.io import write_json

log = logging.getLogger("videoxai.explain")

# --------------------------------------------------------------------------- folder statistics


def spatial_entropy(maps: np.ndarray) -> np.ndarray:
    """Normalised Shannon entropy of each (h, w) map taken as a distribution: 0 = one pixel, 1 = uniform.

    Input (..., h, w); output (...) float64, NaN for all-zero maps (no distribution to measure).
    """
    m = np.asarray(maps, dtype=np.float64)
    flat = m.reshape(*m.shape[:-2], -1)
    total = flat.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = flat / total
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    n = flat.shape[-1]
    h = h / np.log(n) if n > 1 else np.zeros_like(h)
    return np.where(total[..., 0] > 0, h, np.nan)


def _is_correct(clip: Mapping[str, Any]) -> bool:
    if "pred" in clip and "target" in clip:
        return clip["pred"] == clip["target"]
    return clip.get("pred_name") == clip.get("target_name")


def _class_of(clip: Mapping[str, Any], i: int) -> str:
    for k in ("class_name", "target_name"):
        if clip.get(k) is not None:
            return str(clip[k])
    raise ValueError(f"clip {i} ({clip.get('sample_id')}) has neither class_name nor target_name in its metadata")


def _group_stats(ti: np.ndarray, ent: np.ndarray, clips: list[dict[str, Any]], undefined: np.ndarray) -> dict[str, Any]:
    n = len(clips)
    correct = [_is_correct(c) for c in clips]
    conf = [float(c["confidence"]) for c in clips if c.get("confidence") is not None]
    # undefined frames are left out of the curve (a frame index undefined in every clip: 0) and of the spread
    defined = ~undefined
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = (ti * defined).sum(axis=0) / np.maximum(defined.sum(axis=0), 1) if n else np.zeros(0)
    valid = ent[np.isfinite(ent) & defined]
    return {
        "n_clips": n,
        "n_correct": int(sum(correct)),
        "accuracy": float(np.mean(correct)) if n else None,
        "mean_confidence": float(np.mean(conf)) if conf else None,
        "temporal_importance_mean": [float(x) for x in curve],
        "temporal_peak_frame": int(np.argmax(curve)) if curve.size else None,
        "spatial_entropy_mean": float(valid.mean()) if valid.size else None,
        "spatial_entropy_std": float(valid.std()) if valid.size else None,
        "n_empty_maps": int((~np.isfinite(ent) & defined).sum()),
        "n_undefined_frames": int(undefined.sum()),
    }


def folder_stats(hs: HeatmapSet, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Counts, mean temporal importance and spatial entropy, overall and per class, of maps already read.

    ``extra`` (e.g. evaluation scores) is merged in at the top level; a key that clashes with ours is an
    error rather than a silent overwrite.
    """
    clips, params = hs.clips, hs.params
    maps = np.asarray(hs.heatmaps, dtype=np.float32)
    ti = np.asarray(hs.temporal_importance, dtype=np.float64)
    ent = spatial_entropy(maps)  # (N, T)
    undefined = hs.undefined_flags()
    classes = [_class_of(c, i) for i, c in enumerate(clips)]
    per_class = {}
    for name in sorted(set(classes)):
        sel = np.array([c == name for c in classes])
        per_class[name] = _group_stats(ti[sel], ent[sel], [c for c, s in zip(clips, sel) if s], undefined[sel])
    stats: dict[str, Any] = {
        "n_clips": len(clips),
        "n_classes": len(per_class),
        "n_frames": int(maps.shape[1]) if maps.ndim == 4 else 0,
        "map_size": [int(maps.shape[2]), int(maps.shape[3])] if maps.ndim == 4 else [],
        "params": params,
        "overall": _group_stats(ti, ent, clips, undefined),
        "undefined_frames": undefined_counts(undefined),
        "per_class": per_class,
    }
    if extra:
        clash = sorted(set(stats) & set(extra))
        if clash:
            raise ValueError(f"extra stats reuse reserved keys {clash}: rename them (e.g. nest under 'evaluation')")
        stats.update(extra)
    return stats


def aggregate_stats(
    heatmaps_path: str | os.PathLike[str],
    out_json: str | os.PathLike[str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write :func:`folder_stats` of a heatmaps file to ``out_json`` (reads the maps and metadata, never the frames)."""
    stats = folder_stats(load_maps(heatmaps_path), extra)
    write_json(out_json, stats)
    return stats


# --------------------------------------------------------------------------- ground truth (object masks)


def temporal_visibility(importance: np.ndarray, masks: np.ndarray) -> dict[str, Any]:
    """Mean temporal importance of frames where the object is visible vs hidden (clips that have both).

    On the demo's blinking clips a temporal importance that means anything gives hidden frames less.
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


def _mean_of(clips: list[dict[str, Any]], key: str) -> float | None:
    vals = [c["evaluation"][key] for c in clips if c.get("evaluation", {}).get(key) is not None]
    return float(np.mean(vals)) if vals else None


def evaluation_summary(
    maps: np.ndarray,
    importance: np.ndarray,
    clips: list[dict[str, Any]],
    masks: np.ndarray | None,
    seed: int = 0,
    undefined: np.ndarray | None = None,
    randomised: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Everything that goes under ``evaluation`` in ``aggregated_stats.json`` (clips without VideoMix).

    ``masks`` (N, T, H, W) are the ground-truth object masks aligned with the maps' frames, or None when the
    dataset has none (only faithfulness and sanity scores, computed in the explain stage and kept per clip, are
    summarised then). ``undefined`` (N, T): frames whose map is undefined; the mask scores skip them, the temporal
    scores skip the clips that have any, and ``undefined_frames`` says how many. ``randomised``: the module names
    each sanity step randomised (the heatmaps file's ``params.evaluation.sanity_randomised``).
    """
    out: dict[str, Any] = {}
    undefined = flags_or_none(undefined, len(clips), int(np.shape(importance)[-1]) if len(clips) else 0)
    if undefined.any():
        out["undefined_frames"] = {
            **undefined_counts(undefined),
            "skipped_by": "mask scores skip these frames; temporal scores skip these clips",
        }
    if masks is not None:
        masks = without_undefined(masks, undefined)
        whole = ~undefined.any(axis=1)
        out["ground_truth"] = mask_scores(maps, masks, seed)
        out["ground_truth"]["per_class"] = {}
        # per class only the map's own scores are kept: no baselines, and the maps upsampled once for all classes
        up = upsample_bilinear(np.asarray(maps, dtype=np.float32), tuple(masks.shape[-2:]))
        names = [c.get("class_name", str(c.get("class_index"))) for c in clips]
        for name in sorted(set(names)):
            sel = np.array([n == name for n in names])
            out["ground_truth"]["per_class"][name] = {"n_clips": int(sel.sum()), **map_scores(up[sel], masks[sel])}
        out["temporal_visibility"] = temporal_visibility(np.asarray(importance)[whole], masks[whole])
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
        off = [
            c["evaluation"].get("random_logit_spearman")
            for c in evaluated
            if "random_logit_spearman" in c["evaluation"]
        ]
        if off:  # Sixt et al. 2020: low = the map depends on the class explained
            out["random_logit"] = {
                "spearman": nanmean_or_none(np.array([v if v is not None else np.nan for v in off], dtype=np.float64)),
                "n_clips": len(off),
                "n_undefined": int(sum(v is None for v in off)),
            }
        out["sanity"] = sanity_summary(evaluated, randomised)
    return out


def _nanmean(values: Sequence[float | None]) -> float | None:
    return nanmean_or_none(np.array([v if v is not None else np.nan for v in values], dtype=np.float64))


def sanity_summary(
    clips: list[dict[str, Any]], randomised: Sequence[Sequence[str]] | None = None
) -> list[dict[str, Any]]:
    """Per cascading-randomisation step: the clip means of the Spearman and SSIM (a file made before the SSIM was
    kept has none: None) with the trained model's map, and the modules that step randomised when known."""
    spearman = list(zip(*[c["evaluation"]["sanity_spearman"] for c in clips], strict=True))
    ssim = [c["evaluation"].get("sanity_ssim") for c in clips]
    per_step_ssim = list(zip(*ssim, strict=True)) if all(x is not None for x in ssim) else [()] * len(spearman)
    out = []
    for s, (vals, ssims) in enumerate(zip(spearman, per_step_ssim, strict=True)):
        step: dict[str, Any] = {
            "step": s + 1,
            "spearman": _nanmean(vals),
            "n_undefined": int(sum(v is None for v in vals)),
            "ssim": _nanmean(ssims) if ssims else None,
        }
        if randomised is not None and s < len(randomised):
            step["randomised"] = list(randomised[s])
        out.append(step)
    return out


def _clip_means(per_frame: np.ndarray) -> list[float | None]:
    """(N, T) with NaN where a frame is not scored -> one mean per clip (None where none is)."""
    return [nanmean_or_none(row) for row in per_frame]


def per_clip_scores(
    maps: np.ndarray,
    importance: np.ndarray,
    clips: list[dict[str, Any]],
    masks: np.ndarray | None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Each clip's scores (the unit the leaderboard's intervals resample): against the masks, the map's, the
    random map's and the centre prior's pointing game and energy in mask, and the temporal in-tube share (the part
    of the temporal importance on frames where the object is visible); from the explain stage, deletion and
    insertion AUC and the last randomisation step's Spearman (and every step's Spearman and SSIM, lists, empty where
    the clip was not evaluated). A score a clip has not is None."""
    rows: list[dict[str, Any]] = [{"sample_id": c.get("sample_id")} for c in clips]
    if masks is not None and len(clips):
        size = tuple(masks.shape[-2:])
        maps = np.asarray(maps, dtype=np.float32)
        for prefix, m in (
            ("", maps),
            ("random_", random_maps(maps.shape, seed)),
            ("centre_", centre_prior(maps.shape)),
        ):
            up = upsample_bilinear(m, size)
            for name, scores in (
                ("pointing_game", pointing_hits(up, masks)),
                ("energy_in_mask", energy_in_mask(up, masks)),
            ):
                for row, value in zip(rows, _clip_means(scores), strict=True):
                    row[prefix + name] = value
        visible = masks.reshape(*masks.shape[:2], -1).any(axis=2)
        ti = np.asarray(importance, dtype=np.float64)
        for row, t, v in zip(rows, ti, visible, strict=True):
            row["temporal_in_tube"] = float(t[v].sum() / t.sum()) if v.any() and t.sum() > 0 else None
    for row, c in zip(rows, clips, strict=True):
        ev = c.get("evaluation") or {}
        row["deletion_auc"] = ev.get("deletion_auc")
        row["insertion_auc"] = ev.get("insertion_auc")
        sanity = ev.get("sanity_spearman") or []
        row["sanity_spearman"] = sanity[-1] if sanity else None
        # every step, for the similarity curve over layers (videoxai.explain.sanity)
        row["sanity_spearman_steps"] = list(sanity)
        row["sanity_ssim_steps"] = list(ev.get("sanity_ssim") or [])
    return rows


def videomix_summary(maps: np.ndarray, clips: list[dict[str, Any]], root: Path | None, size: int) -> dict[str, Any]:
    """Per explained class (the base clip's or the pasted clip's): map share in the pasted region, GT scores."""
    t = maps.shape[1]
    regions = np.stack([mix_region(t, size, c["mix"]["mode"], c["mix"]["seed"]) for c in clips])
    others = np.array([c["mix"]["explains"] == "other" for c in clips])
    with_masks = root is not None and all(
        _mask_file(root / x).is_file() for c in clips for x in (c["sample_id"], c["mix"]["sample_id"])
    )
    masks = None
    if with_masks:
        masks = np.stack(
            [
                mixed_mask(
                    clip_masks(root / c["sample_id"], c["frame_indices"], size),
                    clip_masks(root / c["mix"]["sample_id"], c["mix"]["frame_indices"], size),
                    r,
                    c["mix"]["explains"] == "other",
                )
                for c, r in zip(clips, regions, strict=True)
            ]
        )
    out: dict[str, Any] = {}
    for name, sel in (("base_class", ~others), ("pasted_class", others)):
        if not sel.any():
            continue
        up = upsample_bilinear(maps[sel], size).astype(np.float64)
        total = up.sum(axis=(1, 2, 3))
        share = np.where(total > 0, (up * regions[sel]).sum(axis=(1, 2, 3)) / np.maximum(total, 1e-300), np.nan)
        out[name] = {
            "n_clips": int(sel.sum()),
            "energy_in_pasted_region": nanmean_or_none(share),
            "pasted_area": float(regions[sel].mean()),
        }
        if masks is not None:
            out[name]["ground_truth"] = mask_scores(maps[sel], masks[sel])
    return out


def _mask_file(video_path: Path) -> Path:
    from videoxai.data.masks import mask_path

    return mask_path(video_path)


# --------------------------------------------------------------------------- the rule's entry point


def summarize_explanations(
    heatmaps_path: str | os.PathLike[str],
    stats_path: str | os.PathLike[str],
    dataset: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``aggregated_stats.json`` of one explainer folder: folder statistics plus ``evaluation``.

    Ground-truth scores are computed when the dataset has masks beside its clips (the demo), and under
    ``evaluation.annotations`` when its entry names ``ground-truth`` annotations
    (:mod:`videoxai.explain.ground_truth`); faithfulness and
    sanity scores come from the explain stage, kept per clip in the heatmaps file, which is read once.
    """
    hs = load_maps(heatmaps_path)
    clips, params, heat, importance = hs.clips, hs.params, hs.heatmaps, hs.temporal_importance
    seed = int(params.get("evaluation", {}).get("evaluation-seed", 0))
    size = int(params.get("input_spec", {}).get("size", heat.shape[-1]))
    plain = np.array(["mix" not in c for c in clips], dtype=bool)
    plain_clips = [c for c in clips if "mix" not in c]
    root = Path(dataset["root"]) if dataset is not None else None
    masks = None
    if root is not None and plain_clips and all(_mask_file(root / c["sample_id"]).is_file() for c in plain_clips):
        masks = np.stack([clip_masks(root / c["sample_id"], c["frame_indices"], size) for c in plain_clips])
    undefined = hs.undefined_flags()
    randomised = params.get("evaluation", {}).get("sanity_randomised")
    evaluation = evaluation_summary(
        heat[plain], importance[plain], plain_clips, masks, seed, undefined[plain], randomised
    )
    if not plain.all():
        evaluation["videomix"] = videomix_summary(heat[~plain], [c for c in clips if "mix" in c], root, size)
    if dataset is not None and dataset.get("ground-truth") and plain_clips:
        # the dataset's own annotations (UCF101-24 tubes, J-HMDB masks; the demo's too)
        from videoxai.explain.ground_truth import annotation_scores

        spec = params.get("input_spec") or {"size": size}
        evaluation["annotations"] = annotation_scores(
            heat[plain], importance[plain], plain_clips, dataset, spec, seed, undefined[plain]
        )
    stats = folder_stats(
        hs,
        extra={
            "evaluation": evaluation,
            # undefined frames skipped as the folder's scores skip them (their masks emptied)
            "per_clip": per_clip_scores(
                heat[plain],
                importance[plain],
                plain_clips,
                None if masks is None else without_undefined(masks, undefined[plain]),
                seed,
            ),
        },
    )
    write_json(stats_path, stats)
    log.info("wrote %s", stats_path)
    return stats
