"""Model keys ``{method}/{dataset-train}/{run-id}``, as prompt-tuning names models, and split variants (``test+tta``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEY_PART = r"[A-Za-z0-9_.-]+"
_KEY_RE = re.compile(rf"^({KEY_PART})/({KEY_PART})/({KEY_PART})$")


class ModelKeyError(ValueError):
    pass


@dataclass(frozen=True)
class ModelKey:
    method: str
    train: str
    run: str

    @classmethod
    def parse(cls, key: str) -> ModelKey:
        """Parse and validate: three parts, safe characters, no ``.``/``..`` parts.

        Validation here is what keeps a key from escaping the checkpoint
        registry root (``../../etc``) or naming an absolute path.
        """
        m = _KEY_RE.match(key)
        if not m or any(p in {".", ".."} for p in m.groups()):
            raise ModelKeyError(
                f"invalid model key {key!r}: expected '{{method}}/{{dataset-train}}/{{run-id}}', "
                f"three parts of letters, digits, '_', '.', '-' (e.g. 'video_coop/ucf101/best-attention-0')"
            )
        return cls(*m.groups())

    def __str__(self) -> str:
        return f"{self.method}/{self.train}/{self.run}"

    @property
    def slug(self) -> str:
        """A single path component (for file names and wandb ids)."""
        return f"{self.method}-{self.train}-{self.run}"


class SplitVariantError(ValueError):
    pass


# Prompt-tuning's evaluation options that change the numbers, and the suffix each adds to the split's file name.
VARIANT_SUFFIXES: dict[str, str] = {"use-augmentation": "tta", "use-handcrafted-prompts": "hand"}
SPLITS = ("train", "val", "test")
SPATIAL_VIEWS = (1, 3)  # the prompt-tuning pipeline's crops: the centre, or start / centre / end
CORRUPTION_NAME = r"[a-z][a-z0-9_]*"  # videoxai.data.corruptions names them (shot_noise, h264_crf, ...)
SEVERITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class SplitVariant:
    """A dataset split with the evaluation options that change its predictions: ``test+tta+hand+v2+s1+f16``.

    The options suffix the split name (``+tta``: test-time augmentation,
    ``+hand``: hand-crafted prompts, ``+v{V}``: V temporal views, ``+s{S}``:
    S spatial views; no ``+v`` / ``+s``: the model's own; ``+f{N}``: N frames
    per view, where a model runs on frames other than its own, see
    :mod:`videoxai.setup.frames`; ``+{corruption}-{severity}``: clips corrupted
    while decoding, e.g. ``+shot_noise-3``), so the predictions
    of two variants never overwrite each other. The suffixes come in that
    order; :meth:`parse` and ``str`` are each other's inverse, and
    :data:`SPLIT_VARIANT_PATTERN` is the Snakemake wildcard for it.
    """

    split: str
    augmentation: bool = False
    handcrafted_prompts: bool = False
    temporal_views: int | None = None
    spatial_views: int | None = None
    frames: int | None = None
    corruption: str | None = None
    severity: int | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise SplitVariantError(f"split must be one of {list(SPLITS)}, got {self.split!r}")
        v = self.temporal_views
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise SplitVariantError(f"num-temporal-views must be a positive integer or null, got {v!r}")
        s = self.spatial_views
        if s is not None and (isinstance(s, bool) or s not in SPATIAL_VIEWS):
            raise SplitVariantError(f"num-spatial-views must be one of {list(SPATIAL_VIEWS)} or null, got {s!r}")
        f = self.frames
        if f is not None and (isinstance(f, bool) or not isinstance(f, int) or f < 1):
            raise SplitVariantError(f"num-frames must be a positive integer or null, got {f!r}")
        c, sev = self.corruption, self.severity
        if (c is None) != (sev is None):
            raise SplitVariantError(f"a corruption needs both a name and a severity, got {c!r} and {sev!r}")
        if c is not None and not re.fullmatch(CORRUPTION_NAME, str(c)):
            raise SplitVariantError(f"corruption name {c!r} must be lower-case letters, digits and '_' (e.g. 'fog')")
        if sev is not None and (isinstance(sev, bool) or sev not in SEVERITIES):
            raise SplitVariantError(f"corruption severity must be one of {list(SEVERITIES)}, got {sev!r}")

    @classmethod
    def parse(cls, name: str) -> SplitVariant:
        """``test+tta+v2`` -> SplitVariant('test', augmentation=True, temporal_views=2); anything else is an error."""
        m = _SPLIT_RE.match(name)
        if not m:
            raise SplitVariantError(
                f"invalid split {name!r}: expected a split ({'|'.join(SPLITS)}) followed by any of "
                f"{', '.join('+' + s for s in VARIANT_SUFFIXES.values())}, +v{{V}}, +s{{S}}, +f{{N}}, "
                "+{corruption}-{severity} in that order (e.g. 'test+tta+v2', 'test+fog-3')"
            )
        split, tta, hand, views, spatial, frames, corruption, severity = m.groups()
        return cls(
            split,
            tta is not None,
            hand is not None,
            int(views) if views else None,
            int(spatial) if spatial else None,
            int(frames) if frames else None,
            corruption,
            int(severity) if severity else None,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SplitVariant:
        """The variant the config's ``split``, ``use-augmentation``, ``use-handcrafted-prompts``,
        ``num-temporal-views``, ``num-spatial-views`` ask for."""
        return cls(
            config["split"],
            bool(config["use-augmentation"]),
            bool(config["use-handcrafted-prompts"]),
            config["num-temporal-views"],
            config.get("num-spatial-views"),
        )

    def __str__(self) -> str:
        flags = {"use-augmentation": self.augmentation, "use-handcrafted-prompts": self.handcrafted_prompts}
        views = [f"v{self.temporal_views}"] if self.temporal_views is not None else []
        views += [f"s{self.spatial_views}"] if self.spatial_views is not None else []
        views += [f"f{self.frames}"] if self.frames is not None else []
        views += [f"{self.corruption}-{self.severity}"] if self.corruption is not None else []
        return "+".join([self.split, *(s for k, s in VARIANT_SUFFIXES.items() if flags[k]), *views])

    def with_split(self, split: str) -> SplitVariant:
        """The same options on another split (temperature scaling fits on ``val`` with the test's options)."""
        return dataclasses.replace(self, split=split)

    def with_corruption(self, corruption: str | None, severity: int | None) -> SplitVariant:
        """The same options with clips corrupted (``None, None``: clean)."""
        return dataclasses.replace(self, corruption=corruption, severity=severity)

    def options(self) -> dict[str, Any]:
        """The evaluation options by config name, as the extract stage takes (and records) them.

        ``num-spatial-views`` only when set: a job's parameters are compared by their ``repr``, and results made
        before the key existed (the run's own spatial views) must not rerun.
        """
        options = {
            "split": self.split,
            "use-augmentation": self.augmentation,
            "use-handcrafted-prompts": self.handcrafted_prompts,
            "num-temporal-views": self.temporal_views,
        }
        if self.spatial_views is not None:
            options["num-spatial-views"] = self.spatial_views
        if self.frames is not None:
            options["num-frames"] = self.frames
        if self.corruption is not None:
            options["corruption"] = {"name": self.corruption, "severity": self.severity}
        return options


# The split wildcard's pattern: a split, then the suffixes in the order str() writes them.
SPLIT_VARIANT_PATTERN = (
    rf"({'|'.join(SPLITS)})"
    + "".join(rf"(\+{s})?" for s in VARIANT_SUFFIXES.values())
    + r"(\+v[1-9][0-9]*)?(\+s[1-9][0-9]*)?(\+f[1-9][0-9]*)?"
    + rf"(\+{CORRUPTION_NAME}-[1-5])?"
)
_SPLIT_RE = re.compile(
    rf"^({'|'.join(SPLITS)})"
    + "".join(rf"(?:\+({s}))?" for s in VARIANT_SUFFIXES.values())
    + r"(?:\+v([1-9][0-9]*))?(?:\+s([1-9][0-9]*))?(?:\+f([1-9][0-9]*))?"
    + rf"(?:\+({CORRUPTION_NAME})-([1-5]))?$"
)
