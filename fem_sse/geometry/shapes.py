"""Plane shapes of the 2D builder as point lists (NumPy only; metres).

Phase-boundary profiles are polylines x = x_pb + h(y), 0 <= y <= W, with zero trapezoidal mean,
so the area of each layer stays thickness x width exactly (for a sine, whenever W is a whole
number of wavelengths; for the random profile always).
"""

from __future__ import annotations

import math

import numpy as np

from fem_sse.spec.geometry import Asperity, Crack, Roughness

__all__ = ["asperity_polygon", "drop_close_points", "pb_profile", "slit_polygon"]


def pb_profile(roughness: Roughness | None, x_pb: float, width: float, spacing: float,
               index: int = 0) -> np.ndarray:
    """(n, 2) points of phase boundary ``index`` from y = 0 to y = W.

    Args:
        roughness: the profile (None: flat, two points).
        x_pb: mean position (m).
        width: in-plane width W (m).
        spacing: largest distance between samples along y (m).
        index: phase-boundary index; random profiles use ``seed + index``.
    """
    if roughness is None:
        return np.array([[x_pb, 0.0], [x_pb, width]])
    if roughness.kind == "sine":
        per = max(16, math.ceil(roughness.wavelength / spacing))
        n = max(2, math.ceil(width / roughness.wavelength * per))
        y = np.linspace(0.0, width, n + 1)
        h = roughness.amplitude * np.sin(2.0 * np.pi * y / roughness.wavelength)
        h[np.abs(h) < 1e-12 * roughness.amplitude] = 0.0
        return np.c_[x_pb + h, y]
    n = max(16, math.ceil(width / min(spacing, roughness.correlation_length / 4)))
    y = np.linspace(0.0, width, n + 1)
    rng = np.random.default_rng(roughness.seed + index)
    modes = np.arange(1, n // 2)
    spectrum = np.exp(-0.25 * (2 * np.pi * modes * roughness.correlation_length / width) ** 2)
    coeff = spectrum * rng.normal(size=modes.size)
    phase = rng.uniform(0.0, 2 * np.pi, size=modes.size)
    h = (coeff[:, None] * np.cos(2 * np.pi * np.outer(modes, y) / width + phase[:, None])).sum(0)
    weights = np.full(y.size, 1.0)
    weights[[0, -1]] = 0.5
    h -= (weights * h).sum() / weights.sum()  # zero trapezoidal mean: areas conserved
    h *= roughness.amplitude / np.abs(h).max()
    return np.c_[x_pb + h, y]


def slit_polygon(crack: Crack) -> np.ndarray:
    """(4, 2) corners of the rectangular slit of a crack (m), counter-clockwise."""
    a, b = np.array(crack.start), np.array(crack.end)
    t = (b - a) / np.linalg.norm(b - a)
    n = 0.5 * crack.width * np.array([-t[1], t[0]])
    return np.array([a - n, b - n, b + n, a + n])


def asperity_polygon(asp: Asperity, length: float) -> np.ndarray:
    """(3, 2) corners of a triangular asperity on the anode face x = L (m)."""
    return np.array([[length, asp.y - 0.5 * asp.width], [length - asp.depth, asp.y],
                     [length, asp.y + 0.5 * asp.width]])


def drop_close_points(points: np.ndarray, tol: float) -> np.ndarray:
    """Remove points closer than ``tol`` (m) to their predecessor in a closed polygon."""
    keep = [points[0]]
    for p in points[1:]:
        if np.hypot(*(p - keep[-1])) >= tol:
            keep.append(p)
    if len(keep) > 1 and np.hypot(*(keep[-1] - keep[0])) < tol:
        keep.pop()
    return np.array(keep)
