"""videoxai.calibration: calibration metrics, bootstrap intervals, temperature scaling, reliability diagrams.

Stage entry points (one call per workflow rule): :func:`calibrate`, :func:`summarize`.
Array-level metrics: :mod:`videoxai.calibration.metrics`. Bin conventions:
:mod:`videoxai.calibration.binning`.
"""

from videoxai.calibration.metrics import (
    accuracy,
    adaptive_calibration_error,
    brier_score,
    calibration_error,
    classwise_calibration_error,
    negative_log_likelihood,
    smooth_calibration_error,
    top_label,
)
from videoxai.calibration.scores import NonFiniteLogitsError, Scores
from videoxai.calibration.stage import calibrate, summarize
from videoxai.calibration.temperature import TemperatureFit, fit_temperature

__all__ = [
    "NonFiniteLogitsError",
    "Scores",
    "TemperatureFit",
    "accuracy",
    "adaptive_calibration_error",
    "brier_score",
    "calibrate",
    "calibration_error",
    "classwise_calibration_error",
    "fit_temperature",
    "negative_log_likelihood",
    "smooth_calibration_error",
    "summarize",
    "top_label",
]
