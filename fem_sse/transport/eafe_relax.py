"""Nodes far from their own balance, solved one by one (the 2D EAFE Newton's relaxation,
docs/transport2d.md "Robustness across refinement steps and ranks").

A node whose neighbours lie many kT on both sides of B has a residual e^(|y| of the
neighbours) over a diagonal e^(|y| of its own): its Newton correction alone can be 1e9 eV
and cuts the damping of the whole step. Its own equation, the neighbours held, is monotone
in its mu (the EAFE edge current falls with y_i where c_ij > 0): solved here by bisection.
"""

from __future__ import annotations

import logging

import numpy as np
from mpi4py import MPI

from fem_sse.transport.eafe import EafeProblem, edge_current

__all__ = ["OUTLIER_EV", "relax_outliers"]

log = logging.getLogger(__name__)

#: a node whose row-scaled residual (its own Newton correction, eV) exceeds this is relaxed;
#: the same as the Newton's cap on a correction (fem_sse.transport.eafe_solve)
OUTLIER_EV = 1.0


def _row_residuals(problem: EafeProblem, mu: np.ndarray, trial: np.ndarray, moved: np.ndarray,
                   phi: float) -> np.ndarray:
    """Node residuals (A/m^2 in 1D, A/m in 2D) of the ``moved`` nodes with their own mu set
    to ``trial`` (eV) and every neighbour at ``mu``: one scalar equation per moved node."""
    i, j, kT = problem.edge_i, problem.edge_j, problem.kT
    # each cell's own y (with its ionic offset where w jumps at a GB interface)
    y_i, y_j = problem.edge_y(mu, phi)
    t_i, t_j = problem.edge_y(trial, phi)
    t_i, t_j = np.where(moved[i], t_i, y_i), np.where(moved[j], t_j, y_j)
    d = phi * problem.dw / kT
    c = problem.edge_c
    g_i = edge_current(t_i, y_j, d, problem.edge_A, kT)[0]
    g_j = edge_current(y_i, t_j, d, problem.edge_A, kT)[0]
    res = np.zeros(problem.n_local)
    np.add.at(res, i, -c * g_i * problem.keep_i)
    np.add.at(res, j, c * g_j * problem.keep_j)
    return problem._reverse(res)


def relax_outliers(problem: EafeProblem, mu: np.ndarray, phi: float,
                   sweeps: int = 5) -> np.ndarray:
    """mu (eV) with every node whose Newton correction alone would exceed 1 eV (row-scaled
    residual |R_i / D_i| > 1 V) replaced by the root of its own equation, the neighbours
    held (bisection over the electrode window and the materials' B, +- 1 eV; Jacobi sweeps,
    at most ``sweeps``).

    Why: a node whose neighbours lie on both sides of B by many kT (a free node in the anode
    plane beside a partial contact, a node inside a jump after refinement) has a residual
    e^(|y| of the neighbours) and a diagonal e^(|y| of its own): its Newton correction was
    1e9 eV on stress2d 0:12, and no damping of the whole step, nor a pseudo-time shift up to
    1e6, brought it to its balance. Its own equation is monotone in its mu (the edge current
    falls with y_i for c_ij > 0) and is solved exactly here."""
    kT, n = problem.kT, problem.n_owned
    cell = problem.config.cell
    ends = (cell.mu_cathode, cell.mu_anode)
    lo0 = problem.comm.allreduce(min(*ends, float(problem.edge_B.min(initial=np.inf))),
                                 op=MPI.MIN) - 1.0
    hi0 = problem.comm.allreduce(max(*ends, float(problem.edge_B.max(initial=-np.inf))),
                                 op=MPI.MAX) + 1.0
    mu = mu.copy()
    for _ in range(sweeps):
        res, diag, _, _ = problem.residual(mu, phi, jacobian=True)
        bad = (np.abs(res / diag) > OUTLIER_EV) & ~problem.fixed
        count = problem.comm.allreduce(int(np.count_nonzero(bad[:n])), op=MPI.SUM)
        if count == 0:
            break
        lo, hi = np.full(mu.size, lo0), np.full(mu.size, hi0)
        bracketed = bad & (_row_residuals(problem, mu, lo, bad, phi) < 0.0) & (
            _row_residuals(problem, mu, hi, bad, phi) > 0.0)
        for _ in range(48):  # the window / 2^48: below 1e-13 eV
            mid = 0.5 * (lo + hi)
            above = _row_residuals(problem, mu, mid, bracketed, phi) > 0.0
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        log.debug("EAFE relaxation: %d node(s) off by more than %g eV", count, OUTLIER_EV)
        mu = np.where(bracketed, 0.5 * (lo + hi), mu)
    return mu
