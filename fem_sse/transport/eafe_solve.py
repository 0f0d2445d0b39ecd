"""Newton, galvanostatic Phi and adaptive refinement for the EAFE scheme
(:mod:`fem_sse.transport.eafe`).

``solver.kind = "fem-eafe"`` (or ``fem-sse run --solver fem-eafe``), 1D. Like the 1D W-FEM
(:mod:`fem_sse.transport.adapt`): every mesh starts from the exact steady state
(:mod:`fem_sse.transport.exact1d`, also the existence test: no steady state raises SolveError), the
adaptive loop stops when 1 - t_Li, the jumps and the interface potentials change by less than
``solver.tolerance`` twice in a row and the result passes the exact check, and the run's result is
checked against the exact solution (:mod:`fem_sse.transport.certify1d`, exit 3 beyond 10
``solver.tolerance``). Unlike the W-FEM there is no precision limit to refuse at
(docs/robustness.md). Newton and its continuations: :mod:`fem_sse.transport.eafe_newton`.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from mpi4py import MPI

from fem_sse.spec.config import Config
from fem_sse.errors import ConvergenceError
from fem_sse.transport.diagnosis import eafe_residual_peak
from fem_sse.transport.eafe import EafeProblem
from fem_sse.transport.eafe_newton import continuation_then_newton, newton
from fem_sse.materials.conductivity import kirchhoff
from fem_sse.transport.metrics1d import Profile, fem_metrics
from fem_sse.transport.results import FailedStep, TransportResult, TransportSolve
from fem_sse.transport.start1d import EAFE_MAX_DY

__all__ = ["exact_start", "gather_profile", "indicators", "solve", "solve_adaptive_eafe"]

log = logging.getLogger(__name__)


def exact_start(problem: EafeProblem, sol) -> np.ndarray:
    """The exact mu_Li0 (eV) at every local node (closed form x(mu) of each segment,
    interpolated in (mu - B)/kT; segment ends take the exact end values)."""
    from fem_sse.transport.start1d import _segment_samples

    x = problem.x[:, 0]
    edges = sol.x_edges()
    tol = 1e-12 * problem.length
    mu = np.empty(x.size)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(sol.segments) - 1)
    for i, seg in enumerate(sol.segments):
        mine = index == i
        if mine.any():
            xs, ys = _segment_samples(sol, i)
            mu[mine] = seg.material.B + sol.kT * np.interp(x[mine], xs, ys)
    for k, xe in enumerate(edges):  # nodes on segment ends: the exact (continuous) value
        mu[np.abs(x - xe) <= tol] = sol.mu_edges[k]
    return np.where(problem.fixed, problem.mu_fixed, mu)


def initial_state(problem: EafeProblem, sol) -> tuple[np.ndarray, float, float | None]:
    """The start of a solve from the exact state ``sol``: (mu (eV) at the local nodes, Phi
    (V), the applied current (A/m^2; None: potentiostatic))."""
    cell = problem.config.cell
    if cell.galvanostatic:
        return exact_start(problem, sol), float(sol.ionic_potential_drop), cell.current_density
    return exact_start(problem, sol), cell.ionic_potential_drop, None


def solve(problem: EafeProblem, sol) -> TransportSolve:
    """Solve on ``problem``'s mesh from the exact state ``sol``; the result record of
    :func:`fem_sse.transport.galvanostatic.solve_transport` (currents A/m^2, Phi V)."""
    mu, phi, current = initial_state(problem, sol)
    phi0 = phi
    problem.freeze_weights(mu, phi)
    try:
        mu, phi, iterations = newton(problem, mu, phi, current)
    except ConvergenceError as exc:
        log.info("EAFE Newton from the exact state failed (%s): pseudo-transient "
                 "continuation", exc)
        mu, phi, iterations = continuation_then_newton(problem, exact_start(problem, sol), phi0,
                                               current)
    problem.mu.x.array[:] = mu
    problem.phi = phi
    j_i = phi * problem.conductance
    j_e = problem.electronic_current(mu, phi)
    return TransportSolve(j_i / (j_i + j_e), j_e / (j_i + j_e), j_i, j_e, phi, iterations)


def gather_profile(problem: EafeProblem) -> Profile | None:
    """Nodal x (m) and W (A/m, each cell's material) per cell, on rank 0 (None elsewhere)."""
    dofs = problem.cell_dofs
    ws = kirchhoff(problem.mu.x.array[dofs], problem.cell_A[:, None], problem.cell_B[:, None],
                   problem.kT)
    return Profile.gather(problem.comm, problem.x[dofs, 0], ws, problem.cell_tag - 1)


def indicators(problem: EafeProblem) -> np.ndarray:
    """Error indicator per owned cell (1D), squared.

    The scheme is exact where one carrier carries the cell's current or where the cell has no
    ionic drop (d = 0); its error grows with both: eta_c = |d| |tanh y_1 - tanh y_0| (the
    change of the carriers' shares across the cell), weighted by the cell's share of the
    electronic resistance of the stack (which is where an error in the current comes from).
    """
    mu = problem.mu.x.array
    *_, s = problem._edges(mu, problem.phi)
    y_i, y_j = problem.edge_y(mu, problem.phi)
    d = problem.phi * problem.dw / problem.kT
    share = np.abs(np.tanh(y_j) - np.tanh(y_i))
    resistance = 1.0 / np.maximum(problem.edge_c * s, 1e-300)
    total = problem.comm.allreduce(float(resistance.sum()), op=MPI.SUM)
    eta = np.abs(d) * share * resistance / total
    return np.bincount(problem.edge_cell, weights=eta**2, minlength=len(problem.cell_tag))


def solve_adaptive_eafe(config: Config, comm, exact, accept, progress=None):
    """The adaptive loop (module docstring): an :class:`fem_sse.transport.adapt.AdaptiveResult`."""
    from fem_sse.transport.adapt import (AdaptiveResult, _finish, _stop_reason, doerfler_mark,
                                         record_step)
    from fem_sse.transport.discretisation import Line1D

    opts = config.solver
    line = Line1D()
    # no precision limit to refuse at; points every kT of the exact mu (start1d.EAFE_MAX_DY)
    smesh = line.first_mesh(config, comm, exact, check=False, max_dy=EAFE_MAX_DY)
    history, total, previous, last = [], 0, None, None
    for step in range(opts.max_refinements + 1):
        start = time.perf_counter()
        problem = EafeProblem(config, smesh)
        try:
            result = solve(problem, exact)
        except ConvergenceError as exc:
            if last is None:
                exc.diagnosis.update(stage="EAFE Newton from the exact state",
                                     refinement_step=step, dofs=problem.imap.size_global,
                                     good_state=False,
                                     residual_peak=eafe_residual_peak(
                                         problem, *initial_state(problem, exact)[:2]))
                raise
            log.warning("EAFE refinement step %d did not converge (%s); keeping step %d",
                        step, exc, step - 1)
            history.append(FailedStep(step, str(exc)))
            return _finish(AdaptiveResult(*last, history, total, "refinement failed"), comm,
                           opts.tolerance)
        total += result.newton_iterations
        profile = gather_profile(problem)
        metrics = comm.bcast(fem_metrics(config, profile) if comm.rank == 0 else None, root=0)
        current = TransportResult.of(result, metrics)
        cells = problem.mesh.topology.index_map(1).size_global
        settled = record_step(history, progress, opts, step=step, cells=cells,
                              dofs=problem.imap.size_global, result=result, current=current,
                              previous=previous, length=config.thickness, start=start)
        done = settled and accept(current)
        last = (problem, result, metrics, profile)
        reason = _stop_reason(opts, done, step, cells)
        eta2 = indicators(problem)
        if reason is None and comm.allreduce(float(eta2.sum()), op=MPI.SUM) <= 0.0:
            reason = "tolerance" if accept(current) else "no refinement"
        if reason is not None:
            return _finish(AdaptiveResult(*last, history, total, reason), comm, opts.tolerance)
        previous = current
        marked = doerfler_mark(eta2, comm, theta=0.5, max_count=line.mark_cap(opts, cells))
        smesh = line.refine(problem.smesh, config, marked, eta2, degree=1)
        problem.destroy()
    raise AssertionError("unreachable")
