"""Adaptive solution of the transport problem: solve, estimate, mark (Doerfler), refine.

The jump positions are not known in advance; the residual indicator of
:func:`fem_sse.transport.problem.error_indicators` finds them, and the boundary layers inside
bottleneck strips, without being told. The loop stops when 1 - t_Li, the jump positions and the
interface potentials change by less than ``solver.tolerance`` between two meshes (relative, /L,
and tolerance * 10 eV respectively), or when the cell cap is reached.

Only the first is convergence: :attr:`AdaptiveResult.stop_reason` says why the loop stopped
(:data:`STOP_REASONS`), and a loop stopped by a cap, by a mesh that refinement left unchanged,
or by a refined mesh that did not converge reports ``converged = False`` with its last change
and logs a warning (``solver.adaptive = false`` runs one fixed mesh: ``"adaptive off"``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from fem_sse.spec.config import Config
from fem_sse.geometry import SeparatorMesh, build_mesh
from fem_sse.geometry.line import refine_line
from fem_sse.transport.metrics1d import Profile, fem_metrics
from fem_sse.transport.problem import (
    ConvergenceError,
    TransportProblem,
    error_indicators,
    solve_transport,
)

__all__ = ["STOP_REASONS", "AdaptiveResult", "doerfler_mark", "gather_profile", "solve_adaptive",
           "split_counts"]

log = logging.getLogger(__name__)

#: why an adaptive loop stopped; only "tolerance" (and "adaptive off", a fixed mesh the user
#: asked for) count as converged
STOP_REASONS = ("tolerance", "cell cap", "step cap", "no refinement", "refinement failed",
                "adaptive off")
_CONVERGED_REASONS = ("tolerance", "adaptive off")


@dataclass
class AdaptiveResult:
    """Final problem, its scalar results and the refinement history."""

    problem: TransportProblem
    result: dict
    metrics: dict
    profile: Profile | None
    history: list[dict] = field(default_factory=list)
    newton_iterations: int = 0
    stop_reason: str = "tolerance"

    @property
    def converged(self) -> bool:
        """Whether the loop stopped on its tolerance (or ran the one mesh it was asked to)."""
        return self.stop_reason in _CONVERGED_REASONS

    @property
    def last_change(self) -> dict | None:
        """The changes between the last two meshes (:func:`_changes`), None after one mesh."""
        entries = [h for h in self.history if "d_one_minus_t" in h]
        if not entries:
            return None
        return {k: entries[-1][k] for k in ("d_one_minus_t", "d_jump_x", "d_mu_interface")}


def gather_profile(problem: TransportProblem) -> Profile | None:
    """Nodal W per cell of a 1D problem, gathered on rank 0 (None elsewhere)."""
    V = problem.V
    num_cells = problem.mesh.topology.index_map(1).size_local
    dofs = V.dofmap.list[:num_cells]
    coords = V.tabulate_dof_coordinates()[:, 0]
    xs = coords[dofs]
    ws = problem.omega.x.array[dofs] * problem.w_scale
    order = np.argsort(xs, axis=1)
    xs = np.take_along_axis(xs, order, axis=1)
    ws = np.take_along_axis(ws, order, axis=1)
    region = problem.fields["region_id"].x.array[problem.Q.dofmap.list[:num_cells, 0]]
    parts = problem.comm.gather((xs, ws, region.astype(int) - 1), root=0)
    if problem.comm.rank != 0:
        return None
    x = np.concatenate([p[0] for p in parts])
    w = np.concatenate([p[1] for p in parts])
    seg = np.concatenate([p[2] for p in parts])
    order = np.argsort(x[:, 0], kind="stable")
    return Profile(x[order], w[order], seg[order])


def doerfler_mark(eta2: np.ndarray, comm, theta: float = 0.5,
                  max_count: int | None = None) -> np.ndarray:
    """Local cells holding (at least) the fraction ``theta`` of the global sum of ``eta2``,
    at most ``max_count`` of them globally (the largest indicators first).

    The thresholds are found by bisection on global sums, so nothing is gathered.
    """
    total = comm.allreduce(float(eta2.sum()), op=MPI.SUM)
    top = comm.allreduce(float(eta2.max(initial=0.0)), op=MPI.MAX)

    def bisect(lo, hi, low_enough):  # threshold near the switch of low_enough(t), lo side
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if low_enough(mid) else (lo, mid)
        return lo, hi

    lo, _ = bisect(0.0, top, lambda t: comm.allreduce(float(eta2[eta2 >= t].sum()), op=MPI.SUM)
                   >= theta * total)
    if max_count is not None:
        def too_many(t):
            return comm.allreduce(int(np.count_nonzero(eta2 >= t)), op=MPI.SUM) > max_count

        if too_many(lo):
            _, lo = bisect(lo, top, too_many)
    return np.flatnonzero(eta2 >= lo).astype(np.int32)


def split_counts(eta2: np.ndarray, marked: np.ndarray, degree: int, comm,
                 max_split: int = 16) -> np.ndarray:
    """Parts to split each marked 1D cell into, so that its indicator falls to about the
    smallest marked one: eta_K scales as h^(p + 1/2) where W is resolved, so a cell k times
    above the threshold is cut into ~k^(1/(p + 1/2)) parts (2 to ``max_split``). A steep
    front is then resolved in a few steps instead of one bisection per step."""
    eta = np.sqrt(eta2[marked])
    floor = comm.allreduce(float(eta.min(initial=np.inf)), op=MPI.MIN)
    ratio = eta / max(floor, 1e-300)
    parts = np.ceil(ratio ** (1.0 / (degree + 0.5)))
    return np.clip(parts, 2, max_split).astype(np.int32)


def _refine_mesh(problem: TransportProblem, cells: np.ndarray,
                 eta2: np.ndarray) -> SeparatorMesh:
    """The refined mesh: the rebuilt interval mesh in 1D, tag-carrying Plaza refinement in 2D."""
    if problem.mesh.topology.dim == 1:
        splits = split_counts(eta2, cells, problem.degree, problem.comm)
        return refine_line(problem.smesh, cells, problem.config, splits)
    from fem_sse.geometry.refine2d import refine_tagged

    return refine_tagged(problem.smesh, cells)


def _measure(config: Config, problem: TransportProblem) -> tuple[dict, Profile | None]:
    """(metrics identical on every rank, 1D profile on rank 0 or None)."""
    if problem.mesh.topology.dim > 1:
        from fem_sse.transport.metrics2d import fem_metrics_2d

        return fem_metrics_2d(problem), None
    profile = gather_profile(problem)
    metrics = fem_metrics(config, profile) if problem.comm.rank == 0 else None
    return problem.comm.bcast(metrics, root=0), profile


def _changes(prev: dict, cur: dict, length: float) -> dict:
    """Relative change of 1 - t_Li, max jump shift (/L), max interface change (eV)."""
    d_t = abs(cur["one_minus_t_li"] / prev["one_minus_t_li"] - 1.0)
    pj, cj = prev["jumps"], cur["jumps"]
    d_x = (max((abs(a["x"] - b["x"]) for a, b in zip(pj, cj)), default=0.0) / length
           if len(pj) == len(cj) else 1.0)
    d_mu = max((abs(a["mu"] - b["mu"]) for a, b in zip(prev["mu_interfaces"],
                                                        cur["mu_interfaces"])), default=0.0)
    return {"d_one_minus_t": d_t, "d_jump_x": d_x, "d_mu_interface": d_mu}


def _solve_checked(problem: TransportProblem) -> dict:
    """:func:`solve_transport`, and in 2D a check that the state it stopped on is a solution:
    t_Li in [0, 1] and the currents at cathode and anode balance, the total and the electronic
    current alone (:func:`fem_sse.transport.certify2d.balance_problems`; a Newton iteration that
    stagnates far from the solution was seen to stop with a residual of 575 and an electronic
    current 3.6e6 times larger at the anode than at the cathode).

    Raises:
        ConvergenceError: when the check fails (the loop then retries or reports it).
    """
    result = solve_transport(problem)
    if problem.mesh.topology.dim == 1:
        return result
    from fem_sse.transport.certify2d import balance_problems, current_balance

    balance = current_balance(problem)
    problems = balance_problems(result["t_li"], balance)
    if not problems:
        return result
    raise ConvergenceError(
        "the solver stopped on a state that is no solution: " + "; ".join(problems),
        {"stage": "current balance check", "current_balance": balance, "good_state": False})


def _stop_reason(opts, done: bool, step: int, cells: int) -> str | None:
    """Why the loop stops after ``step`` (with ``cells`` cells), or None to refine on."""
    if done:
        return "tolerance"
    if not opts.adaptive:
        return "adaptive off"
    if step == opts.max_refinements:
        return "step cap"
    if cells >= opts.max_cells:
        return "cell cap"
    return None


def _finish(out: AdaptiveResult, comm, tolerance: float) -> AdaptiveResult:
    """``out``, with a warning (rank 0) when the loop stopped before its tolerance."""
    if not out.converged and comm.rank == 0:
        log.warning("adaptive loop stopped (%s) before the tolerance %.3g: NOT converged; last "
                    "change %s", out.stop_reason, tolerance, out.last_change)
    return out


def _step_line(entry: dict) -> str:
    """One progress line per refinement step: cells, DOFs, 1 - t_Li, its change and the
    largest jump shift since the previous mesh, Newton iterations, wall time."""
    change = (f" (change {entry['d_one_minus_t']:.1e}, jumps moved {entry['d_jump_x']:.1e} L)"
              if "d_one_minus_t" in entry else "")
    return (f"step {entry['step']}: {entry['cells']} cells, {entry['dofs']} DOFs, "
            f"1 - t_Li = {entry['one_minus_t_li']:.6e}{change}, "
            f"{entry['newton_iterations']} Newton iterations, {entry['wall_time_s']:.1f} s")


def record_step(history: list, progress, opts, *, step: int, cells: int, dofs: int,
                result: dict, current: dict, previous: dict | None, length: float,
                start: float) -> bool:
    """Append a refinement step's entry (cells, DOFs, 1 - t_Li, Newton iterations, wall time in
    s and, after the first mesh, its changes from the previous one: :func:`_changes`, ``length``
    in m) to ``history`` and report it; True when every change is below the tolerance (1 - t_Li
    and jumps / L below ``opts.tolerance``, interface mu below 10 ``opts.tolerance`` eV). The
    one bookkeeping of the W-FEM's and the EAFE schemes' adaptive loops."""
    entry = {"step": step, "cells": cells, "dofs": dofs,
             "one_minus_t_li": result["one_minus_t_li"],
             "newton_iterations": result["newton_iterations"],
             "wall_time_s": time.perf_counter() - start}
    if previous is not None:
        entry.update(_changes(previous, current, length))
    history.append(entry)
    if progress:
        progress(_step_line(entry))
    return (previous is not None and entry["d_one_minus_t"] < opts.tolerance
            and entry["d_jump_x"] < opts.tolerance
            and entry["d_mu_interface"] < 10.0 * opts.tolerance)


def _first_problem(config: Config, comm, exact=None) -> TransportProblem:
    """The problem on the initial mesh; in 1D started from the exact steady state ``exact``
    (solved here when None, which raises SolveError when there is none), on the mesh with
    points added where the exact mu changes (adaptive runs): :mod:`fem_sse.transport.start1d`.
    In 2D, a stack beyond the W formulation's precision is refused before meshing
    (:func:`fem_sse.transport.precision2d.check_precision_2d`)."""
    if config.dim != 1:
        from fem_sse.transport.precision2d import check_precision_2d

        check_precision_2d(config)  # beyond the W formulation's precision: refused
        return TransportProblem(config, build_mesh(config, comm), degree=config.solver.degree)
    smesh = build_mesh(config, comm)
    from fem_sse.geometry.line import add_points
    from fem_sse.transport.start1d import check_precision, exact_points, start_from_exact

    check_precision(exact)
    if config.solver.adaptive:  # a fixed mesh (adaptive = false) is the user's choice
        smesh = add_points(smesh, config, exact_points(exact))
    problem = TransportProblem(config, smesh, degree=config.solver.degree)
    start_from_exact(problem, exact)
    return problem


def _restart(problem: TransportProblem, exact) -> None:
    """The state a failed solve on a refined mesh restarts from: the exact state ``exact`` in
    1D, the default initial guess in 2D."""
    if problem.mesh.topology.dim == 1:
        from fem_sse.transport.start1d import start_from_exact

        start_from_exact(problem, exact)
    else:
        problem.initial_guess()


def solve_adaptive(config: Config, comm, progress=None, accept=None,
                   exact=None) -> AdaptiveResult:
    """Solve on the Gmsh mesh of ``config`` and refine adaptively (see module docstring).

    Args:
        config: validated configuration (dim 1 or 2).
        comm: MPI communicator.
        progress: optional callable(str) for one-line progress reports (rank 0).
        accept: optional callable(summary-like dict with one_minus_t_li, jumps,
            mu_interfaces) -> bool: a mesh whose changes are small is final only when it also
            accepts (1D: the exact check of :mod:`fem_sse.transport.certify1d`); otherwise
            refinement goes on, up to the caps.
        exact: 1D: the :class:`~fem_sse.transport.exact1d.ExactSolution` of ``config`` to start from
            (and restart from after a failed step); solved here when None.
    """
    opts = config.solver
    if exact is None and config.dim == 1:
        from fem_sse.transport.start1d import exact_solution

        exact = exact_solution(config)  # SolveError: no steady state
    problem = _first_problem(config, comm, exact)
    history, total_newton = [], 0
    previous, last, quiet = None, None, False
    for step in range(opts.max_refinements + 1):
        start = time.perf_counter()
        try:
            try:
                result = _solve_checked(problem)
            except ConvergenceError:
                if step == 0:
                    raise
                log.info("step %d: retrying from the default initial guess", step)
                _restart(problem, exact)
                result = _solve_checked(problem)
        except ConvergenceError as exc:
            if step == 0 or last is None:
                # nothing converged on any mesh: the writers get this mesh's last good state
                exc.problem = problem
                exc.diagnosis.update(refinement_step=step, cells=problem.mesh.topology.index_map(
                    problem.mesh.topology.dim).size_global, dofs=problem.dofs)
                raise
            # a refined mesh that does not converge: keep the last converged mesh and say so
            log.warning("refinement step %d did not converge (%s); keeping step %d", step, exc,
                        step - 1)
            history.append({"step": step, "converged": False, "error": str(exc)})
            return _finish(AdaptiveResult(*last, history, total_newton, "refinement failed"),
                           comm, opts.tolerance)
        total_newton += result["newton_iterations"]
        metrics, profile = _measure(config, problem)
        current = {**result, **{k: metrics[k] for k in ("jumps", "mu_interfaces")}}
        tdim = problem.mesh.topology.dim
        cells = problem.mesh.topology.index_map(tdim).size_global
        small = record_step(history, progress, opts, step=step, cells=cells, dofs=problem.dofs,
                            result=result, current=current, previous=previous,
                            length=config.thickness, start=start)
        # two quiet steps in a row: one small change can be a marking that missed the error
        done = small and quiet and (accept is None or accept(current))
        quiet = small
        last = (problem, result, metrics, profile)
        reason = _stop_reason(opts, done, step, cells)
        if reason is None and len(history) > 1 and history[-2].get("cells") == cells:
            reason = "no refinement"  # the marked cells did not change the mesh
        if reason is not None:
            return _finish(AdaptiveResult(*last, history, total_newton, reason), comm,
                           opts.tolerance)
        previous = current
        eta2 = error_indicators(problem).x.array[
            : problem.mesh.topology.index_map(tdim).size_local]
        # 2D: a refined triangle becomes 4, and the closure splits about as many neighbours
        cap = None if tdim == 1 else max(1, (opts.max_cells - cells) // 6)
        marked = doerfler_mark(eta2, comm, theta=0.7, max_count=cap)
        new = TransportProblem(config, _refine_mesh(problem, marked, eta2), degree=opts.degree,
                               forms=problem.forms)
        new.start_from(problem)
        problem = new
    raise AssertionError("unreachable")
