"""Model keys ``{method}/{dataset-train}/{run-id}``, as prompt-tuning names models, and split variants (``test+tta``: every setting that changes a result)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from numpy import format_float_positional

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
# videoxai.data.corruptions names them (shot_noise, h264_crf, ...); never "ckpt" (the checkpoint file's suffix)
CORRUPTION_NAME = r"(?!ckpt-)[a-z][a-z0-9_]*"
SEVERITIES = (1, 2, 3, 4, 5)
# resolved.json of a run folder's other weights file: resolved{CHECKPOINT_SUFFIX}{file}.json (resolved+ckpt-3.pt.json)
CHECKPOINT_SUFFIX = "+ckpt-"
# The n-bins whose results keep the plain name (the schema's default); bootstrap only sets how many resamples the
# intervals take (recorded in metrics.json), not a result's numbers, so it is no part of the name.
DEFAULT_BINS = 15
_FILE = r"[A-Za-z0-9_.-]+"
# The config's ``precision`` and its suffix (float32, the default, has none: today's file names).
PRECISION_SUFFIXES: dict[str, str] = {"bfloat16": "bf16", "float16": "fp16"}
_PRECISION_OF = {s: p for p, s in PRECISION_SUFFIXES.items()}
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def number_text(value: float) -> str:
    """A number in a file name: the shortest positional text that reads back to the same float (1.5, 2, 0.07)."""
    return format_float_positional(float(value), trim="-")


@dataclass(frozen=True)
class SplitVariant:
    """A dataset split with every setting that changes a result made from it: ``test+tta+hand+v2+s1+pt+b10+ts``.

    A result's identity is every setting that changes its numbers, so each one
    not at its default suffixes the split name, and two variants never
    overwrite each other. Evaluation options (predictions): ``+tta`` test-time
    augmentation, ``+hand`` hand-crafted prompts, ``+v{V}`` / ``+s{S}`` temporal
    / spatial views (none: the model's own), ``+f{N}`` N frames per view where a
    model runs on frames other than its own (:mod:`videoxai.setup.frames`), ``+{corruption}-{severity}`` clips
    corrupted while decoding (e.g. ``+shot_noise-3``), ``+ckpt-{file}`` a run folder's
    weights file (``checkpoint-file``), ``+bf16`` / ``+fp16`` the forward pass in that precision (none: float32),
    ``+compiled`` the extraction's model through torch.compile (``compile: true``). Analysis settings: ``+pt`` the
    prompt-tuning conventions, ``+b{N}`` n-bins, ``+ts`` temperature scaling
    fitted on val or ``+T{t}`` a fixed temperature. The suffixes come in that order; :meth:`parse` and ``str`` are
    each other's inverse, and :data:`SPLIT_VARIANT_PATTERN` is the Snakemake
    wildcard for it. Each stage names its files by the part that changes its
    numbers (:meth:`for_predictions`, :meth:`for_explanations`): changing
    n-bins makes new calibration files and reuses the predictions.
    """

    split: str
    augmentation: bool = False
    handcrafted_prompts: bool = False
    temporal_views: int | None = None
    spatial_views: int | None = None
    frames: int | None = None
    corruption: str | None = None
    severity: int | None = None
    checkpoint_file: str | None = None
    convention: str = "standard"
    n_bins: int = DEFAULT_BINS
    temperature_scaling: bool = False
    temperature: float | None = None
    precision: str = "float32"  # +bf16 / +fp16 after +ckpt-{file} (the forward pass's autocast dtype)
    compiled: bool = False  # +compiled after the precision (videoxai.setup.device.compiled)

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise SplitVariantError(f"split must be one of {list(SPLITS)}, got {self.split!r}")
        v = self.temporal_views
        if v is not None and not _positive_int(v):
            raise SplitVariantError(f"num-temporal-views must be a positive integer or null, got {v!r}")
        s = self.spatial_views
        if s is not None and (isinstance(s, bool) or s not in SPATIAL_VIEWS):
            raise SplitVariantError(f"num-spatial-views must be one of {list(SPATIAL_VIEWS)} or null, got {s!r}")
        f = self.frames
        if f is not None and not _positive_int(f):
            raise SplitVariantError(f"num-frames must be a positive integer or null, got {f!r}")
        c, sev = self.corruption, self.severity
        if (c is None) != (sev is None):
            raise SplitVariantError(f"a corruption needs both a name and a severity, got {c!r} and {sev!r}")
        if c is not None and not re.fullmatch(CORRUPTION_NAME, str(c)):
            raise SplitVariantError(f"corruption name {c!r} must be lower-case letters, digits and '_' (e.g. 'fog')")
        if sev is not None and (isinstance(sev, bool) or sev not in SEVERITIES):
            raise SplitVariantError(f"corruption severity must be one of {list(SEVERITIES)}, got {sev!r}")
        c = self.checkpoint_file
        if c is not None and (not isinstance(c, str) or not re.fullmatch(_FILE, c) or c in {".", ".."}):
            raise SplitVariantError(
                f"checkpoint-file must be a file name of letters, digits, '_', '.', '-' (it names the results), "
                f"got {c!r}: rename the file, or give its path under checkpoint-paths with a model key of its own"
            )
        if self.precision != "float32" and self.precision not in PRECISION_SUFFIXES:
            raise SplitVariantError(
                f"precision must be one of {['float32', *PRECISION_SUFFIXES]}, got {self.precision!r}"
            )
        if self.convention not in ("standard", "prompt-tuning"):
            raise SplitVariantError(f"conventions must be standard or prompt-tuning, got {self.convention!r}")
        if not _positive_int(self.n_bins):
            raise SplitVariantError(f"n-bins must be a positive integer, got {self.n_bins!r}")
        t = self.temperature
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not t > 0):
            raise SplitVariantError(f"temperature must be a positive number or null, got {t!r}")
        if t is not None and self.temperature_scaling:
            raise SplitVariantError(
                "config keys 'temperature-scaling' and 'temperature': fit a temperature or fix one, not both"
            )

    @classmethod
    def parse(cls, name: str) -> SplitVariant:
        """``test+tta+v2+b10`` -> SplitVariant('test', augmentation=True, temporal_views=2, n_bins=10); anything
        else is an error."""
        m = _SPLIT_RE.match(name)
        if not m:
            raise SplitVariantError(
                f"invalid split {name!r}: expected a split ({'|'.join(SPLITS)}) followed by any of "
                f"{', '.join('+' + s for s in VARIANT_SUFFIXES.values())}, +v{{V}}, +s{{S}}, +f{{N}}, "
                "+{corruption}-{severity}, +ckpt-{file}, +bf16|+fp16, +compiled, +pt, +b{N}, +ts or +T{t} in that order (e.g. 'test+tta+v2', "
                "'test+fog-3')"
            )
        split, tta, hand, views, spatial, frames, corruption, severity, ckpt, low, comp, pt, bins, ts, temp = m.groups()
        return cls(
            split,
            tta is not None,
            hand is not None,
            int(views) if views else None,
            int(spatial) if spatial else None,
            int(frames) if frames else None,
            corruption,
            int(severity) if severity else None,
            ckpt,
            "prompt-tuning" if pt else "standard",
            int(bins) if bins else DEFAULT_BINS,
            ts is not None,
            float(temp) if temp else None,
            _PRECISION_OF[low] if low else "float32",
            comp is not None,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], model_key: str | None = None) -> SplitVariant:
        """The variant the config asks for (of ``model_key``'s results, where ``checkpoint-file`` names one of its
        files): ``split``, ``use-augmentation``, ``use-handcrafted-prompts``, ``num-temporal-views``,
        ``num-spatial-views``, ``checkpoint-file``, ``conventions``, ``n-bins``, ``temperature-scaling``,
        ``temperature``, ``precision``, ``compile``."""
        return cls(
            config["split"],
            bool(config["use-augmentation"]),
            bool(config["use-handcrafted-prompts"]),
            config["num-temporal-views"],
            config.get("num-spatial-views"),
            checkpoint_file=(config.get("checkpoint-file") or {}).get(model_key) if model_key else None,
            convention=config.get("conventions", "standard"),
            n_bins=config.get("n-bins", DEFAULT_BINS),
            temperature_scaling=bool(config.get("temperature-scaling", False)),
            temperature=config.get("temperature"),
            precision=config.get("precision") or "float32",
            compiled=bool(config.get("compile", False)),
        )

    def __str__(self) -> str:
        flags = {"use-augmentation": self.augmentation, "use-handcrafted-prompts": self.handcrafted_prompts}
        parts = [self.split, *(s for k, s in VARIANT_SUFFIXES.items() if flags[k])]
        parts += [f"v{self.temporal_views}"] if self.temporal_views is not None else []
        parts += [f"s{self.spatial_views}"] if self.spatial_views is not None else []
        parts += [f"f{self.frames}"] if self.frames is not None else []
        parts += [f"{self.corruption}-{self.severity}"] if self.corruption is not None else []
        parts += [f"ckpt-{self.checkpoint_file}"] if self.checkpoint_file is not None else []
        parts += [PRECISION_SUFFIXES[self.precision]] if self.precision != "float32" else []
        parts += ["compiled"] if self.compiled else []
        parts += ["pt"] if self.convention == "prompt-tuning" else []
        parts += [f"b{self.n_bins}"] if self.n_bins != DEFAULT_BINS else []
        parts += ["ts"] if self.temperature_scaling else []
        parts += [f"T{number_text(self.temperature)}"] if self.temperature is not None else []
        return "+".join(parts)

    def with_split(self, split: str) -> SplitVariant:
        """The same options on another split (temperature scaling fits on ``val`` with the test's options)."""
        return dataclasses.replace(self, split=split)

    def with_corruption(self, corruption: str | None, severity: int | None) -> SplitVariant:
        """The same options with clips corrupted (``None, None``: clean)."""
        return dataclasses.replace(self, corruption=corruption, severity=severity)

    def for_predictions(self, label_order_differs: bool) -> SplitVariant:
        """The part that names the predictions: the evaluation options and the checkpoint file; the conventions
        only where they change how labels meet the logits (``videoxai.conventions.label_order``)."""
        return SplitVariant(
            self.split,
            self.augmentation,
            self.handcrafted_prompts,
            self.temporal_views,
            self.spatial_views,
            self.frames,
            self.corruption,
            self.severity,
            self.checkpoint_file,
            self.convention if label_order_differs else "standard",
            precision=self.precision,
            compiled=self.compiled,
        )

    def for_explanations(self, convention_matters: bool) -> SplitVariant:
        """The part that names an explainer's results: the predictions' part, and the conventions where the
        explainer (or the label order) follows them; calibration's settings never."""
        return dataclasses.replace(
            self.for_predictions(False), convention=self.convention if convention_matters else "standard"
        )

    def settings(self) -> dict[str, Any]:
        """Every setting of the variant by config name: the summary's columns."""
        return {
            **self.options(),
            "num-spatial-views": self.spatial_views,
            "num-frames": self.frames,
            "corruption": self.corruption,
            "severity": self.severity,
            "checkpoint-file": self.checkpoint_file,
            "conventions": self.convention,
            "n-bins": self.n_bins,
            "temperature-scaling": self.temperature_scaling,
            "temperature": self.temperature,
            "precision": self.precision,
            "compile": self.compiled,
        }

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
        if self.precision != "float32":  # as num-spatial-views: float32 results keep their parameters
            options["precision"] = self.precision
        if self.compiled:
            options["compile"] = True
        return options


# The split wildcard's pattern: a split, then the suffixes in the order str() writes them.
_SUFFIXES = (
    "".join(rf"(?:\+({s}))?" for s in VARIANT_SUFFIXES.values())
    + r"(?:\+v([1-9][0-9]*))?(?:\+s([1-9][0-9]*))?(?:\+f([1-9][0-9]*))?"
    + rf"(?:\+({CORRUPTION_NAME})-([1-5]))?"
    + rf"(?:\+ckpt-({_FILE}))?(?:\+({'|'.join(PRECISION_SUFFIXES.values())}))?(?:\+(compiled))?(?:\+(pt))?(?:\+b([1-9][0-9]*))?(?:\+(ts))?(?:\+T({_NUMBER}))?"
)
_SPLIT_RE = re.compile(rf"^({'|'.join(SPLITS)}){_SUFFIXES}$")
SPLIT_VARIANT_PATTERN = rf"(?:{'|'.join(SPLITS)}){_SUFFIXES}"
