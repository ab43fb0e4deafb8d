"""videoxai.calibration: calibration metrics, bootstrap intervals, temperature scaling, reliability diagrams.

Stage entry points (one call per workflow rule): :func:`calibrate`, :func:`summarize`.
Point estimates as the workflow writes them: :func:`point_metrics` (either
convention). Array-level metrics: :mod:`videoxai.calibration.metrics`. What the
conventions change, as parameters of the one set of estimators:
:mod:`videoxai.calibration.rules`; bin assignment: :mod:`videoxai.calibration.binning`.

Names load on first use, so importing one submodule (``suite``, ``metrics``) does
not load the others. Nothing here imports torch (numpy and scipy only).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "accuracy": "metrics",
    "adaptive_calibration_error": "metrics",
    "brier_score": "metrics",
    "calibration_error": "metrics",
    "classwise_calibration_error": "metrics",
    "negative_log_likelihood": "metrics",
    "smooth_calibration_error": "metrics",
    "top_label": "metrics",
    "NonFiniteLogitsError": "scores",
    "Scores": "scores",
    "calibrate": "stage",
    "summarize": "stage",
    "TemperatureFit": "temperature",
    "fit_temperature": "temperature",
    "point_metrics": "suite",
    "metric_suite": "suite",
    "MetricSuite": "suite",
    "BinningRule": "rules",
    "ConventionParams": "rules",
    "CONVENTIONS": "rules",
}

__all__ = [
    "accuracy",
    "adaptive_calibration_error",
    "brier_score",
    "calibration_error",
    "classwise_calibration_error",
    "negative_log_likelihood",
    "smooth_calibration_error",
    "top_label",
    "NonFiniteLogitsError",
    "Scores",
    "calibrate",
    "summarize",
    "TemperatureFit",
    "fit_temperature",
    "point_metrics",
    "metric_suite",
    "MetricSuite",
    "BinningRule",
    "ConventionParams",
    "CONVENTIONS",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
