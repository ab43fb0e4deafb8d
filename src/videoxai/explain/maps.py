"""Bilinear upsampling of stored maps in numpy, with torch's numbers: rendering and summaries run without torch.

``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` on a
float32 CPU tensor with one channel takes one of two kernels, by output size
(``H + W <= 128``: the per-pixel kernel that sums four weighted corners; larger:
the generic kernel that interpolates along the width, then the height), and the
x86 builds fuse multiply-adds. Both are reproduced here operation by operation
(a fused multiply-add is computed in float64 and rounded once), so a video or a
score drawn from these maps equals the one drawn from torch's, bit for bit
(``tests/unit/test_render_overlay.py`` checks it against torch).
"""

from __future__ import annotations

import numpy as np

_F32 = np.float32
_SMALL_OUTPUT = 128  # torch takes its per-pixel kernel when H + W <= 128 (one channel, channels first)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` rounded once to float32 (a float32 product is exact in float64)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(_F32)


def _axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source indices (i0, i1) and weights (l0, l1) of each output position, as torch computes them."""
    scale = _F32(_F32(n_in) / _F32(n_out))
    real = _fma(scale, np.arange(n_out, dtype=_F32) + _F32(0.5), _F32(-0.5))
    real = np.where(real < 0, _F32(0), real).astype(_F32)
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    i1 = i0 + (i0 < n_in - 1)
    l1 = np.clip(real - i0.astype(_F32), 0, 1).astype(_F32)
    return i0, i1, (_F32(1) - l1).astype(_F32), l1


def upsample_bilinear(maps: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize ``(..., h, w)`` maps to ``(..., H, W)`` float32, bilinear with half-pixel centres (as torch)."""
    m = np.asarray(maps, dtype=_F32)
    if m.ndim < 2:
        raise ValueError(f"maps must be (..., h, w), got shape {m.shape}")
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if m.shape[-2:] == (out_h, out_w):
        return m.copy()
    h0, h1, a0, a1 = _axis(m.shape[-2], out_h)
    w0, w1, b0, b1 = _axis(m.shape[-1], out_w)
    a0, a1 = a0[:, None], a1[:, None]
    r0, r1 = m[..., h0, :], m[..., h1, :]
    if out_h + out_w <= _SMALL_OUTPUT:
        # h0*w0*x00 + h0*w1*x01 + h1*w0*x10 + h1*w1*x11, left to right, the first two products fused
        c00, c01, c10, c11 = (
            (a0 * b0).astype(_F32),
            (a0 * b1).astype(_F32),
            (a1 * b0).astype(_F32),
            (a1 * b1).astype(_F32),
        )
        acc = _fma(c00, r0[..., w0], (c01 * r0[..., w1]).astype(_F32))
        acc = _fma(c10, r1[..., w0], acc)
        return _fma(c11, r1[..., w1], acc)
    t0 = _fma(r0[..., w0], b0, (r0[..., w1] * b1).astype(_F32))
    t1 = _fma(r1[..., w0], b0, (r1[..., w1] * b1).astype(_F32))
    return _fma(t0, a0, (t1 * a1).astype(_F32))
