"""The initial state of a 1D FEM solve: the exact steady state, interpolated.

Why: from mu linear in x, damped Newton and its continuations (in Phi, the electrode window and
the drift strength) fail on about half of random multilayer stacks (bench/stress1d.py), and on
some they converge to a spurious discrete state. The exact 1D solution
(:mod:`fem_sse.exact1d`, milliseconds) is the state the discretisation approximates: started
there, at the exact Phi, with a mesh that has points wherever mu changes by more than a few kT,
Newton has only the discretisation error to remove.

It also decides existence: where the exact solver finds no steady state with 0 < t_Li < 1, the
FEM reports the same :class:`~fem_sse.exact1d.SolveError` (exit code of "no steady state")
instead of failing to converge. The result is still checked against the exact solution after
the adaptive loop (:mod:`fem_sse.certify1d`): the FEM's answer is its own discrete solution,
only the starting point comes from the closed form.
"""

from __future__ import annotations

import logging

import numpy as np

from fem_sse.config import Config
from fem_sse.exact1d import ExactSolution, solve_exact

__all__ = ["exact_mu_at_dofs", "exact_points", "exact_solution", "start_from_exact"]

log = logging.getLogger(__name__)

#: Largest change of (mu - B)/kT between two initial mesh points inside a segment: the
#: discrete state then starts within a few per cent of the exact one in W.
_MAX_DY = 2.0
#: Smallest spacing of those points (/L): electrode boundary layers can be 1e-15 L thin; cells
#: that small only make the Jacobian ill-conditioned (the Nitsche terms scale with 1/h).
_MIN_SPACING = 1e-8


def exact_points(sol: ExactSolution, max_dy: float = _MAX_DY) -> np.ndarray:
    """Positions (m) inside the segments where the exact mu has changed by ``max_dy`` kT since
    the last one (from the closed form x(mu): no root search). Boundary layers and jumps thinner
    than any a-priori mesh size get points this way."""
    points = []
    for i, seg in enumerate(sol.segments):
        y0, y1 = sol.y_edges(i)
        count = int(min(np.ceil(abs(y1 - y0) / max_dy), 400))
        if count < 2:
            continue
        branch = sol.branch(i)
        for y in np.linspace(y0, y1, count + 1)[1:-1]:
            x = seg.x0 + branch.x_of(y, y0)
            if np.isfinite(x) and seg.x0 < x < seg.x1:
                points.append(x)
    edges = sol.x_edges()
    return _thinned(np.unique(np.asarray(points, dtype=float)), edges,
                    _MIN_SPACING * float(edges[-1]))


def _thinned(points: np.ndarray, edges: np.ndarray, spacing: float) -> np.ndarray:
    """``points`` without those closer than ``spacing`` (m) to a segment end or to the last
    point kept (left to right)."""
    kept, last = [], -np.inf
    for x in points:
        nearest = edges[np.clip(np.searchsorted(edges, x), 1, len(edges) - 1) - 1:][:2]
        if x - last >= spacing and np.min(np.abs(nearest - x)) >= spacing:
            kept.append(x)
            last = x
    return np.asarray(kept, dtype=float)


def exact_solution(config: Config) -> ExactSolution:
    """The exact 1D steady state of ``config`` (raises SolveError when there is none)."""
    return solve_exact(config.stack_1d())


def exact_mu_at_dofs(problem, sol: ExactSolution) -> np.ndarray:
    """The exact mu_Li0 (eV) at every DOF of the problem's DG space of W (local and ghost),
    each DOF taking the branch of its own cell's segment: at a segment end where the exact
    profile jumps within round-off of x (an electrode or strip boundary layer thinner than
    1e-16 L), the two sides get their own limits instead of an average."""
    V = problem.V
    dofs = V.dofmap.list
    x = V.tabulate_dof_coordinates()[:, 0]
    cell_segment = np.rint(problem.fields["region_id"].x.array[problem.Q.dofmap.list[:, 0]])
    segment = np.empty(x.size, dtype=np.int64)
    segment[dofs] = cell_segment.astype(np.int64)[:, None] - 1
    mu = np.empty(x.size)
    kT = sol.kT
    for i, seg in enumerate(sol.segments):
        mine = segment == i
        if not mine.any():
            continue
        xs, ys = _segment_samples(sol, i)
        y = np.interp(x[mine], xs, ys)
        y[x[mine] <= seg.x0] = ys[0]
        y[x[mine] >= seg.x1] = ys[-1]
        mu[mine] = seg.material.B + kT * y
    return mu


def _segment_samples(sol: ExactSolution, index: int, dy: float = 0.25):
    """(x (m), y = (mu - B)/kT) along segment ``index``, dense in y (closed form x(y)); x is
    non-decreasing and runs from the segment's start to its end."""
    seg = sol.segments[index]
    y0, y1 = sol.y_edges(index)
    count = int(min(max(np.ceil(abs(y1 - y0) / dy), 1), 2000))
    ys = np.linspace(y0, y1, count + 1)
    branch = sol.branch(index)
    xs = np.array([seg.x0 + branch.x_of(y, y0) for y in ys[1:-1]])
    xs = np.concatenate([[seg.x0], np.clip(np.nan_to_num(xs, nan=seg.x1), seg.x0, seg.x1),
                         [seg.x1]])
    return np.maximum.accumulate(xs), ys


def start_from_exact(problem, sol: ExactSolution) -> None:
    """Set the problem's state to the exact mu (:func:`exact_mu_at_dofs`), Phi to the exact
    ionic potential drop (V) and the scaling W = (j_i + j_e) L omega; mark Phi as a converged
    start, so that a galvanostatic solve begins with the bordered Newton on (omega, Phi)."""
    from dolfinx import fem

    # the total current sets the scale of W (potentiostatic: j_e can exceed j_i by 1e8)
    problem.set_scale((sol.j_ionic + sol.j_electronic) * problem.length)
    mu = fem.Function(problem.V)
    mu.x.array[:] = exact_mu_at_dofs(problem, sol)
    problem.set_from_mu(mu)
    phi = float(sol.ionic_potential_drop)
    problem.phi.value = phi
    if problem.config.cell.galvanostatic:
        problem.converged_phi = phi
