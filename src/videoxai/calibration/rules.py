"""What the two conventions do differently in calibration, as parameters of the one set of estimators.

The estimators (:mod:`~videoxai.calibration.binned`, :mod:`~videoxai.calibration.suite`)
are written once; a convention is a :class:`ConventionParams` record passed into
them, the way torchmetrics' ``calibration_error`` takes ``bin_boundaries`` and
``norm``. The convention names themselves are defined once, in
:mod:`videoxai.conventions`; :data:`PARAMS` gives each its record.

``standard`` is the textbook form in float64. ``prompt-tuning`` reproduces
prompt-tuning's ``calibration.py`` (``CalibratedModel.eval``) and ``plots.py``
(``plot_reliability_diagram``) to 1e-6 without torch; ``origin-fixtures/calibration``
holds its golden numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from videoxai.conventions import CONVENTIONS as CONVENTIONS  # re-exported: videoxai.calibration.CONVENTIONS
from videoxai.conventions import PROMPT_TUNING, STANDARD, check_convention


@dataclass(frozen=True)
class BinningRule:
    """How confidences are put into bins and how the bins are shown.

    ``edge_dtype``
        ``"float64"``: edges ``np.linspace(0, 1, n_bins + 1)``. ``"float32"``: the
        float32 ``torch.linspace`` edges, bit for bit (0.2, 0.4 and 0.6 sit one ulp
        above their float32 values). Confidences are compared in the edges' dtype.
    ``closed``
        ``"left"``: bin ``b`` holds ``edges[b] <= c < edges[b + 1]``, the last bin
        closed on the right, so 0 is in the first bin and 1 in the last.
        ``"right"``: ``edges[b] < c <= edges[b + 1]`` (Guo et al.'s loop): a value on
        an edge counts in the bin below, and 0 is in no bin.
    ``equal_mass``
        Bin sizes of the equal-mass (adaptive) scheme, from a sample's position
        ``r`` in the sorted order of ``N``. ``"balanced"``: bin ``floor(n_bins * r / N)``,
        sizes differing by at most one. ``"floor"``: ``N // n_bins`` samples per
        bin and the rest in the last (all in the last when ``N < n_bins``).
    ``ties``
        Which position ``r`` tied confidences have. ``"shared"``: the tie group's
        first, so ties always share a bin and the result does not depend on the
        order of the rows. ``"row-order"``: their own, in row order (a stable sort),
        so a bin boundary can split a tie group (and the copies of a resampled row).
    ``empty_bins``
        Equal-width table (the reliability diagram): ``"nan"`` leaves an empty bin's
        statistics NaN (not drawn); ``"centre"`` draws it at accuracy 0 and
        confidence at the bin's centre, as ``plot_reliability_diagram`` does. An
        empty equal-mass bin is always NaN (it has no fixed centre).
    ``bin_accuracy``
        Equal-width table: ``"from-gap"`` averages a bin's signed residuals ``c - y``
        into its gap and shows accuracy as mean confidence minus gap; ``"mean"``
        averages the outcomes into the accuracy (``k / n`` exactly) and shows the gap
        as mean confidence minus accuracy, as ``plot_reliability_diagram`` forms its
        bars. Equal in exact arithmetic; they can differ in the last bit.
    """

    edge_dtype: Literal["float64", "float32"] = "float64"
    closed: Literal["left", "right"] = "left"
    equal_mass: Literal["balanced", "floor"] = "balanced"
    ties: Literal["shared", "row-order"] = "shared"
    empty_bins: Literal["nan", "centre"] = "nan"
    bin_accuracy: Literal["from-gap", "mean"] = "from-gap"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in _CHOICES[f.name]:
                raise ValueError(f"BinningRule.{f.name} must be one of {', '.join(_CHOICES[f.name])}, got {value!r}")


# the values each field of BinningRule takes (its Literal, readable at run time)
_CHOICES = {
    "edge_dtype": ("float64", "float32"),
    "closed": ("left", "right"),
    "equal_mass": ("balanced", "floor"),
    "ties": ("shared", "row-order"),
    "empty_bins": ("nan", "centre"),
    "bin_accuracy": ("from-gap", "mean"),
}


@dataclass(frozen=True)
class ConventionParams:
    """Everything a convention changes in calibration: the softmax's precision and the binning rule.

    ``softmax``: ``"float64"`` is ``exp(log_softmax(z / T))`` in float64 with the NLL
    from the log-softmax (always finite); ``"float32"`` is torch's float32 softmax
    (:func:`~videoxai.calibration.float32.softmax_float32`), every metric computed
    from those probabilities, the NLL as ``-log p_y`` (infinite when ``p_y``
    underflows to 0, as in prompt-tuning).
    """

    softmax: Literal["float64", "float32"] = "float64"
    binning: BinningRule = field(default_factory=BinningRule)

    def __post_init__(self) -> None:
        if self.softmax not in ("float64", "float32"):
            raise ValueError(f"ConventionParams.softmax must be float64 or float32, got {self.softmax!r}")


PARAMS: dict[str, ConventionParams] = {
    STANDARD: ConventionParams(),
    PROMPT_TUNING: ConventionParams(
        softmax="float32",
        binning=BinningRule(
            edge_dtype="float32",
            closed="right",
            equal_mass="floor",
            ties="row-order",
            empty_bins="centre",
            bin_accuracy="mean",
        ),
    ),
}


def convention_params(convention: str | ConventionParams) -> ConventionParams:
    """The record of a convention name (checked, one-line error), or a record as given."""
    if isinstance(convention, ConventionParams):
        return convention
    return PARAMS[check_convention(convention)]


def binning_rule(rule: str | BinningRule | ConventionParams) -> BinningRule:
    """A :class:`BinningRule` from a convention name, a convention's record, or a rule as given."""
    if isinstance(rule, BinningRule):
        return rule
    return convention_params(rule).binning
