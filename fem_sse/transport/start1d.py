"""The initial state of a 1D FEM solve: the exact steady state, interpolated.

Why: from mu linear in x, damped Newton and its continuations (in Phi, the electrode window and
the drift strength) fail on about half of random multilayer stacks (bench/stress1d.py), and on
some they converge to a spurious discrete state. The exact 1D solution
(:mod:`fem_sse.transport.exact1d`, milliseconds) is the state the discretisation approximates:
started there, at the exact Phi, with a mesh that has points wherever mu changes by more than a
few kT, Newton has only the discretisation error to remove.

It also decides existence: where the exact solver finds no steady state with 0 < t_Li < 1, the
FEM reports the same :class:`~fem_sse.transport.exact1d.SolveError` (exit code of "no steady
state") instead of failing to converge. The result is still checked against the exact solution
after the adaptive loop (:mod:`fem_sse.transport.certify1d`): the FEM's answer is its own
discrete solution, only the starting point comes from the closed form.
"""

from __future__ import annotations

import logging

import numpy as np

from fem_sse.failures import Diagnosis
from fem_sse.spec.config import Config
from fem_sse.transport.exact1d import ExactSolution, solve_exact

__all__ = ["CANCELLATION_LIMIT", "cancellation_ratio", "check_precision", "exact_mu_at_dofs",
           "exact_points", "exact_solution", "explain_failure", "start_from_exact"]

#: Above this cancellation ratio (:func:`cancellation_ratio`) the W formulation has fewer than
#: ~4 significant digits left for the electronic current where the ratio peaks.
CANCELLATION_LIMIT = 1e12

log = logging.getLogger(__name__)

#: Largest change of (mu - B)/kT between two initial mesh points inside a segment: the
#: discrete state then starts within a few per cent of the exact one in W.
_MAX_DY = 2.0
#: The same for the EAFE scheme's first mesh: with 2 kT, stack 68 of bench/stress1d.py (seed 17)
#: started 3 nm beside its jump (1.2e-3 off in 1 - t_Li) on every mesh and needed 21
#: refinements (60 s); with 1 kT it is certified on the first mesh in 0.5 s.
EAFE_MAX_DY = 1.0
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
        x = sol.x_of(i, np.linspace(y0, y1, count + 1)[1:-1])
        points.extend(x[np.isfinite(x) & (x > seg.x0) & (x < seg.x1)])
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
    xs = sol.x_of(index, ys[1:-1])
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
    problem.set_phi(phi)
    if problem.config.cell.galvanostatic:
        problem.state.converged_phi = phi


def cancellation_ratio(sol: ExactSolution) -> float:
    """max over the segment ends of sigma_eh |grad eta_i| / (j_i + j_e) in the exact state (-).

    The electronic current j_eh = grad W + sigma_eh u is the difference of its diffusion and
    drift parts, each this many times larger than the current where the ratio peaks (a layer
    whose B lies far inside the window, next to an electrode: sigma_eh up to 1e30 S/m). Any
    double-precision W formulation loses log10 of it in digits there; beyond
    :data:`CANCELLATION_LIMIT` a failed or rejected FEM run says so in its diagnosis.
    """
    ratio = 0.0
    for i, seg in enumerate(sol.segments):
        for mu in sol.mu_edges[i:i + 2]:
            sigma = seg.material.sigma_eh(mu, sol.kT)
            drift = sigma * sol.j_ionic / seg.material.sigma_li
            ratio = max(ratio, drift / (sol.j_ionic + sol.j_electronic))
    return float(ratio)


def check_precision(sol: ExactSolution) -> None:
    """Refuse (exit 3, before any Newton step) a state whose cancellation ratio exceeds
    :data:`CANCELLATION_LIMIT`: no 1D FEM run converged beyond it in bench/stress1d.py, and the
    attempts (continuations) cost seconds each."""
    from fem_sse.errors import ConvergenceError

    ratio = cancellation_ratio(sol)
    if ratio > CANCELLATION_LIMIT:
        diagnosis = Diagnosis(stage="precision check against the exact state (before the "
                              "solve)", exact_cancellation_ratio=ratio, good_state=False)
        exc = ConvergenceError("the FEM cannot resolve this stack", diagnosis)
        _add_hint(exc, ratio)
        raise exc


def _add_hint(exc, ratio: float) -> None:
    exc.diagnosis.hint = (
        f"the exact steady state has electronic drift and diffusion currents up to {ratio:.2g} "
        "times the total current (a layer with sigma_eh far above any material's: B far "
        "inside the electrode window next to an electrode); their difference is below "
        "double-precision round-off for the FEM's W formulation; use --solver fem-eafe (the "
        "exponentially fitted scheme, docs/robustness.md) or --solver exact")
    exc.args = (f"{exc.args[0]}: {exc.diagnosis.hint}",) + exc.args[1:]


def explain_failure(exc, config: Config) -> None:
    """Add the exact state's cancellation ratio to a failed 1D solve's diagnosis and, beyond
    :data:`CANCELLATION_LIMIT`, say in the message why the FEM could not (collective-safe:
    every rank computes the same)."""
    try:
        ratio = cancellation_ratio(exact_solution(config))
    except Exception:  # noqa: BLE001 - no exact state: nothing to add
        return
    if exc.diagnosis.hint is not None:
        return
    exc.diagnosis.exact_cancellation_ratio = ratio
    if ratio > CANCELLATION_LIMIT:
        _add_hint(exc, ratio)
