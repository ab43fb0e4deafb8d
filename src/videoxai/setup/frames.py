"""Frames per model: each model's own frame count, the config's ``num-frames`` override, and whether they fit.

Runs trained with different frame counts share one config: ``num-frames``
is ``null`` (every model takes its own frame count, from its checkpoint's
``config.json``), one integer for every model, or a mapping
``{model key: frames}`` (listed models get theirs, the others their own).
What a model supports is read while planning (no torch):

* a prompt-tuning run: its own count is ``num-frames-temporal`` (else
  ``num-frames``); ``stt`` and ``vita`` learn per-frame tokens, so they take
  exactly that count; ``video_coop``, ``dual_coop``, ``vidop`` and ``vilt``
  encode each frame alone and pool, so they take any count;
* a videoxai checkpoint (the demo's models, torchvision, custom): its
  ``input_spec.num_frames``, exactly;
* anything else (a wandb artifact not fetched yet): not known while planning;
  the job checks it when the model is built.

Frames are part of a result's identity: a model run on frames other than its
own gets ``+f{N}`` on its split name (``test+f16``), so two frame counts of
one model never share a file; at its own count the name has no suffix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videoxai.models.checkpoints.config import is_run_folder_config
from videoxai.models.families.prompt_tuning.config import SUMMARY_METHODS, RunOptions


@dataclass(frozen=True)
class FrameSupport:
    """What frame counts a model takes: ``own`` (None: not known while planning) and whether only that one."""

    own: int | None
    fixed: bool = True
    source: str = ""  # the file that says so (named in messages)

    def takes(self, frames: int) -> bool:
        return self.own is None or frames == self.own or not self.fixed


UNKNOWN = FrameSupport(None)


def frame_support(config_file: str | os.PathLike[str] | None) -> FrameSupport:
    """The frames a checkpoint's ``config.json`` lets its model take (UNKNOWN where it does not say)."""
    if config_file is None or not Path(config_file).is_file():
        return UNKNOWN
    try:
        config = json.loads(Path(config_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UNKNOWN  # a malformed checkpoint config is reported by its own check
    return frame_support_of(config, os.fspath(config_file))


def frame_support_of(config: Any, source: str = "") -> FrameSupport:
    """:func:`frame_support` of a parsed ``config.json``."""
    if not isinstance(config, Mapping):
        return UNKNOWN
    if is_run_folder_config(config):
        try:
            opts = RunOptions.from_run_config(config)
        except (TypeError, ValueError):
            return UNKNOWN
        return FrameSupport(opts.frames_per_view, opts.method in SUMMARY_METHODS, source)
    spec = config.get("input_spec")
    n = spec.get("num_frames") if isinstance(spec, Mapping) else None
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return FrameSupport(n, True, source)
    return UNKNOWN


def requested_frames(value: int | Mapping[str, int | None] | None, key: str) -> int | None:
    """What the config's ``num-frames`` asks of model ``key``: an integer, or None (the model's own)."""
    if isinstance(value, Mapping):
        value = value.get(key)
    return None if value is None else int(value)


@dataclass(frozen=True)
class FramePlan:
    """The frames one model runs on, and what its file names say about them."""

    key: str
    frames: int | None  # what the job is given (None: the model's own, not known while planning)
    suffix: int | None  # +f{N} on its split: set only when it runs on frames other than its own
    problem: str | None = None  # one line when the model cannot take the frames asked for


def plan_frames(key: str, value: int | Mapping[str, int | None] | None, support: FrameSupport) -> FramePlan:
    """The frames of model ``key`` under the config's ``num-frames`` (``value``) and what it supports."""
    asked = requested_frames(value, key)
    if asked is None:
        return FramePlan(key, support.own, None)
    if support.own is None:
        return FramePlan(key, asked, None)  # checked when the model is built (videoxai.setup.model_split)
    if asked == support.own:
        return FramePlan(key, asked, None)
    if support.fixed:
        where = f" ({support.source})" if support.source else ""
        return FramePlan(
            key,
            asked,
            None,
            f"config key 'num-frames' is {asked} for model {key}, but model {key} takes exactly {support.own} frames"
            f"{where}; set num-frames to null (each model's own) or {{{key}: {support.own}}}",
        )
    return FramePlan(key, asked, asked)
