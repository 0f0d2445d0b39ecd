"""Where the exponentially fitted scheme leaves the electronic current under-resolved (2D).

The EAFE loop's own indicator (:func:`fem_sse.transport.eafe2d_solve.indicators_2d`) marks the
cells where both carriers carry current under an ionic drop: along an edge the scheme is exact
for one carrier with a constant current, so in 1D nothing else has an error. In 2D the current
also spreads: from a partial anode contact, around pores and crack tips, along rough phase
boundaries. There the nodal scheme is a P1 discretisation of a diffusion problem, first order
in the current, and nothing marked it: stress2d 5:38 (partial contact) stopped on its change
rule at 16 504 cells, 4.7e-4 above the W loop's value on 160 000 cells, its last changes 4e-6,
because each step refined only the fronts (docs/transport2d.md, session 17).

The indicator is a gradient recovery (Zienkiewicz-Zhu) of the electronic current: in each cell
K the current vector J_K is the least-squares fit of its edge currents (J_K . (x_j - x_i) =
G_ij, exact for a linear potential with a constant conductivity), the recovered current at a
node is the area-weighted mean of the J_K of one material around it, and

    eta_K^2 = |K| |J_K - (mean of the recovered currents at K's nodes)|^2.

Cells whose edge currents lie within 100 times their round-off bound (layers whose B lies far
inside the electrode window, where the two carriers' terms cancel) get no indicator: their J_K
is noise. The indicator only orders cells for Doerfler marking; the loop's change rule decides
when to stop, as in the W loop, whose residual estimator sees this error.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

__all__ = ["SPREAD_FLOOR", "electronic_indicators"]

#: edge currents within this factor of their round-off bound carry no digits
NOISE_FACTOR = 100.0
#: a relative recovery error below this is round-off (the laterally uniform bilayer of the
#: tests: 1e-13; with a partial anode contact on its first mesh: 5e-2)
SPREAD_FLOOR = 1e-8


def _cell_currents(problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per owned cell: the least-squares current vector J_K (n, 2) of its edge currents,
    its area (m^2) and whether its currents lie above their round-off."""
    g, noise = problem._edge_noise(problem.mu.x.array, problem.phi)
    n = len(problem.cell_tag)
    per = len(problem.edge_pairs)
    c = np.abs(problem.edge_c)
    x = problem.x[problem.cell_dofs][:, :, :2]
    edges = x[:, problem.edge_pairs[:, 1]] - x[:, problem.edge_pairs[:, 0]]  # (n, 3, 2)
    g = g.reshape(n, per)
    normal = np.einsum("nkd,nke->nde", edges, edges)
    rhs = np.einsum("nkd,nk->nd", edges, g)
    current = np.linalg.solve(normal, rhs[..., None])[..., 0]
    area = 0.5 * np.abs(edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0])
    scale = np.abs(g).max(axis=1)
    quiet = (noise.reshape(n, per) / np.where(c > 0, c, 1.0).reshape(n, per)).max(axis=1)
    return current, area, scale > NOISE_FACTOR * quiet


def _recovered(problem, current: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per owned cell, the mean over its nodes of the area-weighted nodal average of the
    ``current`` of the cells with nonzero ``weights`` around each node (collective)."""
    dofs = problem.cell_dofs
    sums = [np.zeros(problem.n_local) for _ in range(3)]
    for k in range(dofs.shape[1]):
        for total, value in zip(sums, (weights * current[:, 0], weights * current[:, 1],
                                       weights)):
            np.add.at(total, dofs[:, k], value)
    total = [problem._reverse(s) for s in sums]
    nodal = np.stack(total[:2], axis=1) / np.maximum(total[2], 1e-300)[:, None]
    return nodal[dofs].mean(axis=1)


def electronic_indicators(problem) -> tuple[np.ndarray, float]:
    """eta_K^2 per owned cell of a 2D :class:`fem_sse.transport.eafe2d.EafeProblem2D` (module
    docstring; units of the squared current times area, for marking only), and their sum
    over that of |K| |J_K|^2, the square root: the relative size of the recovery error (-;
    below :data:`SPREAD_FLOOR` the current does not spread, its indicators are round-off).
    The recovery is done per material: across a phase boundary the tangential current jumps
    with the conductivity, and an average over both sides would mark the boundary for ever."""
    current, area, resolved = _cell_currents(problem)
    regions = problem.smesh.regions
    material = np.array([regions[t].material for t in problem.cell_tag], dtype=object)
    recovered = np.zeros_like(current)
    for name in sorted(problem.config.materials):  # the same order on every rank
        mine = material == name
        part = _recovered(problem, current, np.where(mine & resolved, area, 0.0))
        recovered[mine] = part[mine]
    eta2 = np.where(resolved, area * ((current - recovered) ** 2).sum(axis=1), 0.0)
    scale = np.where(resolved, area * (current**2).sum(axis=1), 0.0)
    sums = problem.comm.allreduce(np.array([eta2.sum(), scale.sum()]), op=MPI.SUM)
    return eta2, float(np.sqrt(sums[0] / sums[1])) if sums[1] > 0 else 0.0
