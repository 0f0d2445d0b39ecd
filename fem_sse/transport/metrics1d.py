"""Scalar results of a 1D solution: jump positions, interface potentials, over/undershoot.

Works on a :class:`Profile` (piecewise data per cell, gathered on rank 0 for 1D meshes). Inside
a cell W varies linearly between the sampled nodes (exact for degree 1), so the zero crossings of
W (the jumps, mu = B) and the level crossings of mu are found by linear interpolation in W. The
jump definition (shared with the exact solver) is in docs/model.md, "Jumps".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem_sse.materials.conductivity import kirchhoff, mu_from_kirchhoff
from fem_sse.parallel import gather_arrays
from fem_sse.spec.config import Config
from fem_sse.transport.jumps import crosses, touches, zero_point
from fem_sse.transport.results import InterfacePotential, Jump, Metrics

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

    @classmethod
    def gather(cls, comm, x: np.ndarray, w: np.ndarray, segment: np.ndarray) -> Profile | None:
        """The profile of the owned cells of every rank of ``comm``, on rank 0 (None
        elsewhere; collective): ``x`` (m) and ``w`` (A/m) are (cells, k) nodal values, put in
        increasing x within each cell here, ``segment`` the cells' segment indices."""
        order = np.argsort(x, axis=1)
        rows = gather_arrays(comm, np.take_along_axis(x, order, axis=1),
                             np.take_along_axis(w, order, axis=1), segment)
        if rows is None:
            return None
        x, w, segment = rows
        order = np.argsort(x[:, 0], kind="stable")
        return cls(x[order], w[order], segment[order])


def fem_metrics(config: Config, profile: Profile) -> Metrics:
    """The jumps, interface potentials and over/undershoot fractions of a FEM profile."""
    segments = config.segments()
    kT = config.cell.kT  # noqa: N806
    L = config.thickness  # noqa: N806
    seg_A = np.array([seg.material.A for seg in segments])  # noqa: N806
    seg_B = np.array([seg.material.B for seg in segments])  # noqa: N806
    cell_A, cell_B = seg_A[profile.segment][:, None], seg_B[profile.segment][:, None]  # noqa: N806
    mu = mu_from_kirchhoff(profile.w, cell_A, cell_B, kT)  # each cell's material

    jumps = []
    # zero crossings of W inside cells and across facets between cells of the same material;
    # the electrode potentials are the end values (docs/model.md, "Jumps"): a crossing inside
    # an electrode boundary layer thinner than the first cell is listed at the electrode
    last = len(segments) - 1
    w_ends = (kirchhoff(config.cell.mu_cathode, seg_A[0], seg_B[0], kT),
              kirchhoff(config.cell.mu_anode, seg_A[last], seg_B[last], kT))
    flat_x = np.concatenate([[0.0], profile.x.ravel(), [L]])
    flat_w = np.concatenate([[w_ends[0]], profile.w.ravel(), [w_ends[1]]])
    seg_of_node = np.concatenate([[0], np.repeat(profile.segment, profile.x.shape[1]), [last]])
    a, b = flat_w[:-1], flat_w[1:]
    sa, sb = seg_of_node[:-1], seg_of_node[1:]
    same = (seg_A[sa] == seg_A[sb]) & (seg_B[sa] == seg_B[sb]) & (a != b)
    # a sign change, or W leaving 0 (the exact solver's rule: mu = B at a segment start, e.g.
    # mu_cathode = B, counts when mu then leaves B)
    crossing = same & (crosses(a, b) | touches(a, b))
    for i in np.flatnonzero(crossing):
        x = zero_point(flat_x[i], flat_x[i + 1], a[i], b[i])
        if jumps and abs(x - jumps[-1].x_m) <= 1e-12 * L:
            continue
        layer = config.layers[segments[sa[i]].layer].material
        jumps.append(Jump(float(x), layer, "up" if b[i] > a[i] else "down"))

    interfaces = []
    right_end = profile.x[:, -1]
    for xi in config.interfaces:
        left = int(np.argmin(np.abs(right_end - xi)))
        mu_i = float(0.5 * (mu[left, -1] + mu[min(left + 1, len(mu) - 1), 0]))
        interfaces.append(InterfacePotential(float(xi), mu_i))

    def measure(level: float, above: bool) -> float:
        """Length (/L) where mu is above (below) ``level``: W is linear between the nodes."""
        w_level = kirchhoff(level, cell_A, cell_B, kT)
        d = (profile.w - w_level) if above else (w_level - profile.w)
        d0, d1 = d[:, :-1], d[:, 1:]
        h = np.diff(profile.x, axis=1)
        both = (d0 > 0) & (d1 > 0)
        one = (d0 > 0) ^ (d1 > 0)
        part = np.where(one, h * np.maximum(d0, d1) / np.where(one, np.abs(d1 - d0), 1.0), 0.0)
        return float((np.where(both, h, 0.0) + part).sum()) / L

    return Metrics(tuple(jumps), tuple(interfaces), measure(config.cell.mu_anode, True),
                   measure(config.cell.mu_cathode, False))
