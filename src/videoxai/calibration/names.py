"""The metrics' names as ``metrics.json`` and ``summary.csv`` write them, and prompt-tuning's names for them.

``accuracy``, ``nll``, ``brier``, ``ece``, ``rms_ce``, ``mce``, ``adaptive_ece``,
``classwise_ece``, ``smooth_ece``. Prompt-tuning's ``calibration.py`` names them
the same except ``brier_score`` (here ``brier``); it has no ``rms_ce`` or ``smooth_ece``.
"""

from __future__ import annotations

#: the metrics every convention reports, in table order
METRICS = (
    "accuracy",
    "nll",
    "brier",
    "ece",
    "rms_ce",
    "mce",
    "adaptive_ece",
    "classwise_ece",
    "smooth_ece",
)
#: the metrics prompt-tuning's ``CalibratedModel.eval`` reports, under metrics.json's names
PROMPT_TUNING_METRICS = ("nll", "ece", "accuracy", "brier", "mce", "adaptive_ece", "classwise_ece")
#: prompt-tuning's metric names -> metrics.json's names (all others are the same)
PROMPT_TUNING_NAMES = {"brier_score": "brier"}
#: the calibration errors: plug-in estimates biased upward, reported with a debiased estimate and its interval
CALIBRATION_ERRORS = ("ece", "rms_ce", "mce", "adaptive_ece", "classwise_ece", "smooth_ece")
#: those with Kumar et al.'s analytic bias correction (``<name>_debiased`` from ``MetricSuite.evaluate``);
#: the others (``mce``, ``smooth_ece``) are corrected by the bootstrap itself
ANALYTIC_DEBIAS = ("ece", "rms_ce", "adaptive_ece", "classwise_ece")
#: the chi-square test of perfect calibration each error's interval consults (cells it is computed on)
TEST_OF = {
    "ece": "equal-width",
    "rms_ce": "equal-width",
    "mce": "equal-width",
    "smooth_ece": "equal-width",
    "adaptive_ece": "equal-mass",
    "classwise_ece": "class-wise",
}
