"""videoxai: are a video classifier's confidences honest, and what does it look at?"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing videoxai stays free of torch: the workflow plans with it
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
