"""Scalar results of a 1D solution: jump positions, interface potentials, over/undershoot.

Works on a :class:`Profile` (piecewise data per cell, gathered on rank 0 for 1D meshes). Inside
a cell W varies linearly between the sampled nodes (exact for degree 1), so the zero crossings of
W (the jumps, mu = B) and the level crossings of mu are found by linear interpolation in W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem_sse.config import Config

__all__ = ["Profile", "fem_metrics"]


@dataclass
class Profile:
    """Nodal data of a discontinuous 1D solution, cell by cell, sorted by x.

    Attributes:
        x: (n_cells, k) node positions (m), increasing within and across cells.
        w: (n_cells, k) Kirchhoff variable W (A/m).
        segment: (n_cells,) segment index of every cell.
    """

    x: np.ndarray
    w: np.ndarray
    segment: np.ndarray


def _material(config: Config, segments, index: int):
    return segments[index].material


def fem_metrics(config: Config, profile: Profile) -> dict:
    """jumps, mu_interfaces, overshoot/undershoot fractions from a FEM profile."""
    segments = config.segments()
    kT = config.cell.kT  # noqa: N806
    L = config.thickness  # noqa: N806
    mats = [segments[s].material for s in profile.segment]
    mu = np.array([m.mu_from_kirchhoff(w, kT) for m, w in zip(mats, profile.w)])

    jumps = []
    # zero crossings of W inside cells and across facets between cells of the same material
    flat_x, flat_w = profile.x.ravel(), profile.w.ravel()
    seg_of_node = np.repeat(profile.segment, profile.x.shape[1])
    for i in range(len(flat_x) - 1):
        a, b = flat_w[i], flat_w[i + 1]
        sa, sb = seg_of_node[i], seg_of_node[i + 1]
        ma, mb = segments[sa].material, segments[sb].material
        if (ma.A, ma.B) != (mb.A, mb.B) or a == b:
            continue
        if (a < 0.0 <= b) or (a > 0.0 >= b):
            x = flat_x[i] + (flat_x[i + 1] - flat_x[i]) * (a / (a - b)) if a != b else flat_x[i]
            if jumps and abs(x - jumps[-1]["x"]) <= 1e-12 * L:
                continue
            layer = config.layers[segments[sa].layer].material
            jumps.append({"x": float(x), "layer": layer, "direction": "up" if b > a else "down"})

    interfaces = []
    right_end = profile.x[:, -1]
    for xi in config.interfaces:
        left = int(np.argmin(np.abs(right_end - xi)))
        interfaces.append({"x": float(xi),
                           "mu": float(0.5 * (mu[left, -1] + mu[min(left + 1, len(mu) - 1), 0]))})

    def measure(level: float, above: bool) -> float:
        total = 0.0
        for m, xs, ws in zip(mats, profile.x, profile.w):
            wl = float(m.kirchhoff(level, kT))
            d = (ws - wl) if above else (wl - ws)
            for k in range(len(xs) - 1):
                d0, d1, h = d[k], d[k + 1], xs[k + 1] - xs[k]
                if d0 > 0 and d1 > 0:
                    total += h
                elif d0 > 0 or d1 > 0:
                    total += h * max(d0, d1) / abs(d1 - d0)
        return total / L

    return {"jumps": jumps, "mu_interfaces": interfaces,
            "overshoot_fraction": measure(config.cell.mu_anode, True),
            "undershoot_fraction": measure(config.cell.mu_cathode, False),
            "mu": mu}
