"""Sample lists of video datasets: one entry point over the formats in :mod:`videoxai.data.formats`.

``load_split(fmt, root, split)`` returns the class names and one
:class:`Sample` per clip; ``load_split_info`` also says which listed clips
are missing on disk. Formats: ``ucf101``, ``hmdb51``, ``kinetics400``,
``folder``, ``csv``. Aliases ``demo`` (the embedded demo is UCF101-shaped),
``kinetics`` and ``k400`` are accepted.
"""

from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path
from typing import Any

from videoxai.data.formats import FORMATS
from videoxai.data.splits import SPLITS, DatasetError, Sample, SplitInfo, hmdb51_source, ucf101_group

__all__ = [
    "DatasetError",
    "FORMATS",
    "SPLITS",
    "Sample",
    "SplitInfo",
    "hmdb51_source",
    "load_split",
    "load_split_info",
    "ucf101_group",
]

log = logging.getLogger(__name__)

_ALIASES = {"demo": "ucf101", "kinetics": "kinetics400", "k400": "kinetics400", "kinetics-400": "kinetics400"}


def _normalise_opts(opts: dict[str, Any]) -> dict[str, Any]:
    # config files spell options with hyphens ('val-fraction'); Python with underscores
    return {k.replace("-", "_"): v for k, v in opts.items() if v is not None}


def load_split_info(fmt: str, root: str | os.PathLike[str], split: str, split_id: int = 1, **opts: Any) -> SplitInfo:
    """Class names, samples and the listed-but-missing clips of ``split`` of a dataset in format ``fmt``."""
    name = _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; known: {sorted(FORMATS)}")
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist or is not a folder")
    reader = FORMATS[name]
    opts = _normalise_opts(opts)
    accepted = set(inspect.signature(reader).parameters) - {"root", "split", "split_id"}
    unknown = sorted(set(opts) - accepted)
    if unknown:
        raise DatasetError(f"format {name!r} does not take option(s) {unknown}; it takes {sorted(accepted)}")
    info = reader(root, split, int(split_id), **opts)
    if info.missing or info.duplicates:
        log.warning("%s %s split of %s: %s", name, split, root, info.report())
    return info


def load_split(
    fmt: str, root: str | os.PathLike[str], split: str, split_id: int = 1, **opts: Any
) -> tuple[list[str], list[Sample]]:
    """Class names and samples of ``split`` (``train`` | ``val`` | ``test``) of a dataset in format ``fmt``.

    ``opts`` are format specific (``annotations`` folder, ``videos`` folder,
    ``val_fraction``, ``val_seed``, ``classes``, ``drop_missing``, ...; see
    :mod:`videoxai.data.formats`). Sample ids are paths relative to the
    dataset's video folder. Missing clips are logged (see :func:`load_split_info`).
    """
    info = load_split_info(fmt, root, split, split_id, **opts)
    return info.class_names, info.samples
