"""videoxai: are a video classifier's confidences honest, and what does it look at?"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing videoxai stays free of torch: the workflow plans with it
    import pandas as pd

    from videoxai.models.base import VideoClassifier

__version__ = "0.1.0"


def load_model(
    key: str,
    *,
    checkpoint_paths: str | os.PathLike[str] | dict | None = None,
    checkpoints_root: str | os.PathLike[str] | None = None,
    class_names: Sequence[str] | None = None,
    checkpoint_file: str | None = None,
) -> VideoClassifier:
    """The model of a key such as ``video_coop/ucf101/best-mean``, in eval mode, for notebooks and checks.

    Resolved as the workflow resolves it: ``checkpoint_paths`` is prompt-tuning's
    ``checkpoint_paths.json`` (a path; relative entries are relative to it),
    a mapping ``{model key: path}``, or prompt-tuning's nested mapping;
    otherwise ``{checkpoints_root}/{method}/{train}/{run}/`` (default
    ``checkpoints``, then the demo checkpoints shipped with the package).
    A run folder's ``best.pt`` is used unless ``checkpoint_file`` names
    another file of it (``"3.pt"``). A prompt-tuning run's CLIP backbone comes
    from the Hugging Face cache (``HF_HOME``; never downloaded). Prompt-tuning runs
    record no class names: pass ``class_names``. ``model(video)`` takes
    ``(B, V, T, C, H, W)`` normalised frames and returns logits ``(B, K)``
    over ``class_names``, averaged over the V views.
    """
    from videoxai.demo.bundled import bundled_checkpoints_root
    from videoxai.models.checkpoints.resolve import load_key

    return load_key(
        key,
        checkpoint_paths=checkpoint_paths,
        checkpoints_root=checkpoints_root,
        class_names=class_names,
        checkpoint_file=checkpoint_file,
        fallback_root=bundled_checkpoints_root(),
    )


def results(root: str | os.PathLike[str] = "results") -> pd.DataFrame:
    """Every calibration result of a run folder as a pandas DataFrame, one row per model x test x variant: every
    metric with its 95% interval, the variant's settings in columns (docs/comparisons.md). Pick rows and pass them
    to :func:`plot_reliability`."""
    from videoxai.calibration.catalog import results_table

    return results_table(root)


def leaderboard(root: str | os.PathLike[str] = "figures", resamples: int = 1000) -> pd.DataFrame:
    """The explanation leaderboard of a run folder's figures as a pandas DataFrame: models x explainers x scores,
    each a clip mean with its bootstrap 95% interval, and the random-map / centre-prior baselines."""
    from videoxai.explain.leaderboard import leaderboard_table

    return leaderboard_table(root, resamples)


def plot_reliability(
    rows: pd.DataFrame | Iterable[Any], out_png: str | os.PathLike[str], labels: Sequence[str] | None = None
) -> None:
    """Draw the reliability curves of chosen rows of :func:`results` (a DataFrame, or an iterable of its rows) on
    one axis, as ``out_png`` and the PDF beside it."""
    from videoxai.calibration.stage import compare_reliability

    items = [row for _, row in rows.iterrows()] if hasattr(rows, "iterrows") else list(rows)
    compare_reliability(items, out_png, labels=labels)
