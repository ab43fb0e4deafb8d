"""Smooth ECE (Błasiok & Nakkiran, 2023) with its automatic bandwidth.

Definition. With the reflected Gaussian kernel on [0, 1],
``K(t, f) = sum_m phi_s(t - f - 2m) + phi_s(t + f - 2m)`` (mirror images at 0 and 1,
so every kernel integrates to one over [0, 1]),

    smECE_s = integral_0^1 | (1/n) sum_i K(t, f_i) (f_i - y_i) | dt,

which equals ``integral |r_s(t)| d_s(t) dt`` for the Nadaraya-Watson residual ``r_s``
and the kernel density ``d_s`` of the paper. smECE_s never increases with ``s``;
the reported smooth ECE is ``smECE_{s*}`` at the fixed point ``smECE_{s*} = s*``.

Computation. The weighted residual mass is deposited linearly onto a grid of
``2**p + 1`` nodes over [0, 1] (spacing ``h <= s*/64`` on the final pass), mirrored
into a period-2 sequence, and smoothed by multiplying its FFT with the exact Fourier
coefficients of the periodised Gaussian, ``(L/2) exp(-pi^2 s^2 k^2 / 2)`` — periodising
a mirrored sequence is the same as summing every mirror image. The integral is the
trapezoid rule on the nodes, and ``s*`` comes from bisection (smECE_s - s is
decreasing). The deposit acts like a kernel widened by a few ``h^2``, a relative
error of order ``(h/s)^2 / 8``; the tests bound the total against a direct
kernel sum with fine quadrature.

Known difference from the reference package ``relplot`` (by the paper's authors):
its mirrored grid holds the node at 0 (and at 1) once instead of twice, so mass on
the boundary gets half its reflected weight, and it integrates on 200 points with
the bandwidth found to about 1e-3. On confidences away from 0 and 1 the two agree
to 1e-5 in our tests; with many confidences exactly 1 they differ by ~5e-3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from videoxai.calibration.scores import as_array

F64 = np.float64
MIN_POWER, MAX_POWER = 12, 18
POINTS_PER_SIGMA = 64


@dataclass(frozen=True)
class SmoothECE:
    value: float
    bandwidth: float


def grid_power(sigma: float, max_power: int = MAX_POWER) -> int:
    """Grid size exponent ``p`` (``2**p`` intervals) with spacing at most ``sigma / 64``."""
    if sigma <= 0:
        return max_power
    return int(min(max_power, max(MIN_POWER, math.ceil(math.log2(POINTS_PER_SIGMA / sigma)))))


class Smoother:
    """Residual mass of one data set (or a batch of resamples) on a grid, in Fourier space."""

    def __init__(self, confidence: Any, residual: Any, weights: Any = None, power: int = MIN_POWER):
        conf = np.clip(as_array(confidence, F64), 0.0, 1.0)
        res = as_array(residual, F64)
        intervals = 2**power
        self.nodes = intervals + 1
        self.period = 2 * intervals
        self.h = 1.0 / intervals
        u = conf * intervals
        left = np.minimum(np.floor(u).astype(np.int64), intervals - 1)
        frac = u - left
        if weights is None:
            self.total = np.array([float(conf.size)], dtype=F64)
            wr = res[None, :]
        else:
            w = as_array(weights).astype(F64)
            self.total = w.sum(axis=1)
            wr = w * res
        rows = wr.shape[0]
        # linear interpolation onto the nodes: every node adds its left-neighbour terms, then its right ones,
        # each in sample order (one bincount over both halves)
        index = np.concatenate([left, left + 1])[None, :] + (np.arange(rows, dtype=np.int64) * self.nodes)[:, None]
        src = np.concatenate([wr * (1.0 - frac), wr * frac], axis=1)
        mass = np.bincount(index.ravel(), weights=src.ravel(), minlength=rows * self.nodes).reshape(rows, self.nodes)
        ext = np.concatenate([mass, mass[:, -2:0:-1]], axis=1)
        # a point on the boundary coincides with its mirror image: twice the kernel
        ext[:, 0] *= 2.0
        ext[:, intervals] *= 2.0
        self.spectrum = np.fft.rfft(ext, axis=1)
        self.freq2 = np.arange(self.spectrum.shape[1], dtype=F64) ** 2

    def ece(self, sigma: Any, rows: np.ndarray | None = None) -> np.ndarray:
        """smECE at bandwidth ``sigma``: a scalar, or one per row of the batch (or of ``rows``, a subset of it)."""
        s = as_array(sigma, F64).reshape(-1, 1)
        # coefficients beyond k = 3.1 / s are below 1e-20 of the first: leave them out (irfft zero-pads)
        s_min = float(s.min())
        cut = self.freq2.size if s_min <= 0 else min(self.freq2.size, math.ceil(3.1 / s_min) + 1)
        # the subset's first cut coefficients only: a copy of whole rows would cost more than their FFT
        spectrum, total = (self.spectrum, self.total) if rows is None else (self.spectrum[rows, :cut], self.total[rows])
        kernel = (self.period / 2.0) * np.exp(-(math.pi**2) / 2.0 * s**2 * self.freq2[:cut])
        smoothed = np.abs(np.fft.irfft(spectrum[:, :cut] * kernel, n=self.period, axis=1)[:, : self.nodes])
        integral = self.h * (smoothed.sum(axis=1) - 0.5 * (smoothed[:, 0] + smoothed[:, -1]))
        return integral / total

    def fixed_point(self, iterations: int, guess: float | None = None) -> np.ndarray:
        """Bandwidth ``s`` with ``smECE_s = s`` for every row: what ``iterations`` bisection steps on [0, 1] give.

        Bisection ends in the cell ``[k, k + 1] / 2**iterations`` whose left end passes its test
        ``smECE_s > s`` and whose right end fails it, and returns the cell's midpoint. This finds the
        same cell in about a quarter of the evaluations (each an inverse FFT of the rows still
        searching): every point tried is on that grid, and a row stops once two neighbouring grid
        points bracket its root by the same test. ``g(s) = smECE_s - s`` falls with slope <= -1, so
        the fixed-point step ``s -> smECE_s`` lands across the root (one step brackets it), and
        regula falsi (Illinois) narrows the bracket, with a bisection step wherever two steps did not
        halve it. Bisection's own answer could differ only for a root within rounding (~1e-16) of a
        grid point, where its test is decided by the last bit. ``guess`` (e.g. the point estimate's
        bandwidth, for bootstrap resamples) is where the search starts; default 0.
        """
        cells = 2**iterations
        unit = 1.0 / cells  # exact: grid points j * unit are the values bisection's midpoints take
        n = self.spectrum.shape[0]
        lo = np.zeros(n, dtype=np.int64)  # grid index that passed the test (0: not evaluated)
        hi = np.full(n, cells, dtype=np.int64)  # grid index that failed it (cells: not evaluated)
        g_lo = np.full(n, np.nan)
        g_hi = np.full(n, np.nan)
        moved = np.zeros(n, dtype=np.int8)  # +1 lo moved last, -1 hi moved last (Illinois)
        # bracket widths now, one and two steps ago, counted once both ends have values (inf before)
        width = np.full((3, n), np.inf)
        steps = np.zeros(n, dtype=np.int64)
        start = float(guess) if guess is not None and 0.0 <= guess <= 1.0 else 0.0  # NaN too: from 0
        target = np.full(n, start)
        active = np.flatnonzero(hi - lo > 1)
        while active.size:
            j = np.clip(np.floor(target[active] / unit), lo[active] + 1, hi[active] - 1).astype(np.int64)
            s = j * unit
            value = self.ece(s, rows=active)
            above = value > s  # bisection's test
            g = value - s
            up, down = active[above], active[~above]
            lo[up], g_lo[up] = j[above], g[above]
            hi[down], g_hi[down] = j[~above], g[~above]
            # Illinois: an end kept twice in a row has its value halved, so the next secant moves off it
            g_hi[up[moved[up] == 1]] *= 0.5
            g_lo[down[moved[down] == -1]] *= 0.5
            moved[up], moved[down] = 1, -1
            steps[active] += 1
            a, b, ga, gb = lo[active] * unit, hi[active] * unit, g_lo[active], g_hi[active]
            bracketed = np.isfinite(ga) & np.isfinite(gb)
            width[2, active], width[1, active] = width[1, active], width[0, active]
            width[0, active] = np.where(bracketed, b - a, np.inf)
            # next target: the fixed-point step until both ends have values, then the secant through them;
            # bisection where that does not converge (two secant steps that did not halve the bracket)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                secant = (a * gb - b * ga) / (gb - ga)
            nxt = np.where(bracketed, secant, value)
            slow = (width[0, active] > 0.5 * width[2, active]) | (~bracketed & (steps[active] > 4))
            target[active] = np.where(slow | ~np.isfinite(nxt), 0.5 * (a + b), nxt)
            active = active[hi[active] - lo[active] > 1]
        return 0.5 * (lo * unit + hi * unit)


def smooth_ece_at(confidence: Any, residual: Any, sigma: float, weights: Any = None) -> np.ndarray:
    """smECE at a fixed bandwidth ``sigma`` (no fixed-point search)."""
    return Smoother(confidence, residual, weights, grid_power(sigma)).ece(sigma)


def smooth_ece(
    confidence: Any,
    residual: Any,
    weights: Any = None,
    power: int | None = None,
    iterations: int = 40,
    guess: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(smooth ECE, bandwidth) per row: ``(1,)`` arrays without weights, ``(B,)`` with.

    Without ``power`` a coarse pass locates the bandwidth and a second pass reruns
    the search on a grid fine enough for it (the bootstrap passes the point
    estimate's ``power`` so all resamples share one grid, and its bandwidth as ``guess``,
    where the search starts; the result does not depend on it).
    """
    rows = 1 if weights is None else as_array(weights).shape[0]
    if not bool((as_array(residual) != 0).any()):  # perfectly calibrated point masses: smECE_s = 0 for every s
        return np.zeros(rows, dtype=F64), np.zeros(rows, dtype=F64)
    if power is None:
        coarse = Smoother(confidence, residual, weights, MIN_POWER).fixed_point(24, guess)
        power = grid_power(0.5 * float(coarse.min()))
    smoother = Smoother(confidence, residual, weights, power)
    sigma = smoother.fixed_point(iterations, guess)
    return smoother.ece(sigma), sigma
