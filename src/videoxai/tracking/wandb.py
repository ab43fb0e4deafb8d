"""Optional wandb logging of calibration and explanation results, offline by default.

Every function takes paths to files the workflow already wrote, so the tracking rule is a leaf: turning wandb
on or off never reruns anything upstream. One run per analysis, named like prompt-tuning (``Calibration-{key}``,
``GRADCAM-{key}``), grouped by model key, with a deterministic id: a rerun resumes the same run. Offline runs
land in ``wandb-dir``; upload them later with ``wandb sync <wandb-dir>/wandb/offline-run-*``. The API key is only
ever read by wandb itself from the environment (or ``wandb login``); nothing here writes it anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoxai.checks import check_mp4
from videoxai.io import read_json, write_json
from videoxai.keys import ModelKey

WANDB_MODES: tuple[str, ...] = ("offline", "online", "disabled")
RASTER_SUFFIXES = {".png", ".jpg", ".jpeg"}
_SECRET = re.compile(r"api[_-]?key|token|secret|password", re.IGNORECASE)


@dataclass(frozen=True)
class WandbSettings:
    """What the config's ``use-wandb``, ``wandb-mode``, ``wandb-dir``, ``wandb-project``, ``wandb-entity`` say."""

    enabled: bool = False
    mode: str = "offline"
    dir: Path = field(default=Path("results/wandb"))
    project: str = "videoxai"
    entity: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in WANDB_MODES:
            raise ValueError(f"wandb-mode must be one of {', '.join(WANDB_MODES)}, got {self.mode!r}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WandbSettings:
        """Read the prompt-tuning-style keys of the workflow config (all optional)."""
        return cls(
            enabled=bool(config.get("use-wandb", False)),
            mode=str(config.get("wandb-mode", "offline")),
            dir=Path(config.get("wandb-dir", "results/wandb")),
            project=str(config.get("wandb-project", "videoxai")),
            entity=config.get("wandb-entity"),
        )

    @property
    def active(self) -> bool:
        return self.enabled and self.mode != "disabled"


def explainer_label(explainer: str) -> str:
    """``grad-cam`` -> ``GRADCAM``, ``attention-rollout`` -> ``ATTENTIONROLLOUT`` (prompt-tuning's run-name style)."""
    return re.sub(r"[^A-Za-z0-9]", "", explainer).upper()


def run_name(analysis: str, key: str | ModelKey) -> str:
    """``Calibration-{key}`` or ``{EXPLAINER}-{key}``, as prompt-tuning named its runs."""
    return f"{analysis}-{ModelKey.parse(str(key))}"


def run_id(analysis: str, key: str | ModelKey, test: str, split: str) -> str:
    """A stable wandb id for one analysis of one model on one test split (same inputs -> same id -> resume)."""
    k = ModelKey.parse(str(key))
    identity = f"{analysis}|{k}|{test}|{split}"
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{analysis}-{k.slug}-{test}-{split}").lower()[:48]
    return f"{readable}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def scrub(obj: Any) -> Any:
    """Drop any mapping entry whose key looks like a credential, at any depth, before it reaches wandb config."""
    if isinstance(obj, Mapping):
        return {k: scrub(v) for k, v in obj.items() if not _SECRET.search(str(k))}
    if isinstance(obj, (list, tuple)):
        return [scrub(v) for v in obj]
    return obj


def flatten_numbers(obj: Mapping[str, Any], prefix: str = "") -> dict[str, float | int | bool]:
    """Nested dict -> ``{"a/b": number}`` for the scalar numbers in it (lists and strings are skipped)."""
    out: dict[str, float | int | bool] = {}
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten_numbers(v, name + "/"))
        elif isinstance(v, (bool, int, float)):
            out[name] = v
    return out


def _settings(s: WandbSettings | Mapping[str, Any]) -> WandbSettings:
    return s if isinstance(s, WandbSettings) else WandbSettings.from_config(s)


@contextlib.contextmanager
def open_run(
    settings: WandbSettings,
    analysis: str,
    key: str | ModelKey,
    test: str,
    split: str,
    job_type: str,
    config: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
) -> Iterator[Any]:
    """Start (or resume) the analysis's run; finish it on exit (failed if the body raised) and flush it to disk."""
    import wandb

    settings.dir.mkdir(parents=True, exist_ok=True)
    k = ModelKey.parse(str(key))
    run = wandb.init(
        project=settings.project,
        entity=settings.entity,
        id=run_id(analysis, k, test, split),
        name=run_name(analysis, k),
        group=str(k),
        job_type=job_type,
        tags=[t for t in tags if t][:20],
        config=scrub(
            {
                "model_key": str(k),
                "method": k.method,
                "dataset_train": k.train,
                "run_id": k.run,
                "dataset_test": test,
                "split": split,
                **(config or {}),
            }
        ),
        dir=str(settings.dir),
        mode=settings.mode,
        resume="allow",
        settings=wandb.Settings(
            console="off", silent=True, disable_git=True, disable_code=True, save_code=False, x_disable_stats=True
        ),
    )
    try:
        yield run
    except BaseException:
        run.finish(exit_code=1)
        wandb.teardown()
        raise
    run.finish()
    # finish() can return before wandb's service has flushed the run file; teardown waits for it, so the
    # rule's output record is only written once everything it points to is on disk
    wandb.teardown()


def _record(settings: WandbSettings, run: Any, logged: list[str]) -> dict[str, Any]:
    return {
        "enabled": True,
        "mode": settings.mode,
        "project": settings.project,
        "run_id": run.id,
        "run_name": run.name,
        "group": run.group,
        "run_dir": str(Path(run.dir).parent),
        "logged": sorted(logged),
    }


def _disabled(settings: WandbSettings, out_json: str | os.PathLike[str] | None) -> dict[str, Any]:
    why = "use-wandb is false" if not settings.enabled else "wandb-mode is disabled"
    record = {"enabled": False, "mode": settings.mode, "reason": why}
    if out_json is not None:
        write_json(out_json, record)
    return record


def _table_rows(path: str | os.PathLike[str]) -> tuple[list[str], list[list[Any]]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = [
        [v if isinstance(v, (bool, int, float, str)) or v is None else str(v) for v in row.values()]
        for row in table.to_pylist()
    ]
    return table.column_names, rows


def log_calibration(
    metrics_json: str | os.PathLike[str],
    bins_parquet: str | os.PathLike[str],
    diagrams: Sequence[str | os.PathLike[str]],
    key: str,
    test: str,
    split: str,
    settings: WandbSettings | Mapping[str, Any],
    out_json: str | os.PathLike[str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Log one model's calibration: scalar metrics, the bins as a ``wandb.Table``, reliability diagrams as images.

    ``diagrams`` may include PDFs next to the PNGs: only raster files are logged. Writes a small record of the
    run (id, name, dir, logged keys) to ``out_json`` (the rule's output) and returns it.
    """
    s = _settings(settings)
    if not s.active:
        return _disabled(s, out_json)
    import wandb

    metrics = read_json(metrics_json)
    columns, rows = _table_rows(bins_parquet)
    images = [Path(p) for p in diagrams if Path(p).suffix.lower() in RASTER_SUFFIXES]
    with open_run(s, "Calibration", key, test, split, "calibration", config, tags=[test, split]) as run:
        numbers = flatten_numbers(metrics)
        payload: dict[str, Any] = {**numbers, "calibration/bins": wandb.Table(columns=columns, data=rows)}
        for p in images:
            payload[f"reliability_diagram/{p.stem}"] = wandb.Image(str(p), caption=f"{key} on {test}/{split}")
        run.log(payload)
        record = _record(s, run, list(payload))
    if out_json is not None:
        write_json(out_json, record)
    return record


def log_explanations(
    stats_json: str | os.PathLike[str],
    videos: Sequence[str | os.PathLike[str]],
    pngs: Sequence[str | os.PathLike[str]],
    key: str,
    explainer: str,
    test: str,
    split: str,
    settings: WandbSettings | Mapping[str, Any],
    out_json: str | os.PathLike[str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Log one model x explainer: videos by path, attention-map PNGs, temporal importance per class as a line
    chart, a per-class table, and the aggregated stats as the run summary. Same record/``out_json`` as above.
    """
    s = _settings(settings)
    if not s.active:
        return _disabled(s, out_json)
    import wandb

    stats = read_json(stats_json)
    label = explainer_label(explainer)
    with open_run(
        s, label, key, test, split, "explain", {"explainer": explainer, **(config or {})}, tags=[test, split, explainer]
    ) as run:
        payload: dict[str, Any] = {}
        for p in map(Path, videos):
            check_mp4(p, deep=True)  # a broken video names itself instead of uploading
            payload[f"videos/{p.stem}"] = wandb.Video(str(p), format=p.suffix.lstrip(".").lower() or "mp4")
        for p in map(Path, pngs):
            payload[f"attention_maps/{p.stem}"] = wandb.Image(str(p), caption=p.stem)
        curves = {name: c["temporal_importance_mean"] for name, c in sorted(stats.get("per_class", {}).items())}
        if stats.get("overall", {}).get("temporal_importance_mean"):
            curves["overall"] = stats["overall"]["temporal_importance_mean"]
        curves = {k: v for k, v in curves.items() if v}
        if curves:
            n = max(len(v) for v in curves.values())
            payload["temporal_importance"] = wandb.plot.line_series(
                xs=list(range(n)),
                ys=list(curves.values()),
                keys=list(curves),
                title="Temporal importance",
                xname="frame",
            )
        per_class = stats.get("per_class", {})
        if per_class:
            cols = ["class", "n_clips", "accuracy", "mean_confidence", "spatial_entropy_mean", "temporal_peak_frame"]
            payload["per_class"] = wandb.Table(
                columns=cols, data=[[name] + [c.get(k) for k in cols[1:]] for name, c in sorted(per_class.items())]
            )
        run.log(payload)
        summary = {f"stats/{k}": v for k, v in flatten_numbers(stats).items()}
        run.summary.update(summary)
        record = _record(s, run, [*payload, *summary])
    if out_json is not None:
        write_json(out_json, record)
    return record


__all__ = [
    "WANDB_MODES",
    "WandbSettings",
    "explainer_label",
    "flatten_numbers",
    "log_calibration",
    "log_explanations",
    "open_run",
    "run_id",
    "run_name",
    "scrub",
]
