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
from typing import TYPE_CHECKING

import numpy as np
from mpi4py import MPI

from fem_sse.geometry import SeparatorMesh
from fem_sse.spec.config import Config
from fem_sse.transport.discretisation import discretisation_for, for_dimension, split_counts
from fem_sse.transport.metrics1d import Profile
from fem_sse.transport.problem import (
    ConvergenceError,
    TransportProblem,
    error_indicators,
    solve_transport,
)
from fem_sse.transport.results import (
    FailedStep,
    LastGoodState,
    Metrics,
    Refinement,
    RefinementStep,
    StepChange,
    TransportResult,
    TransportSolve,
)

if TYPE_CHECKING:  # the 2D EAFE loop imports this module
    from fem_sse.transport.eafe2d_solve import EafeState

__all__ = ["STOP_REASONS", "AdaptiveResult", "Marking", "doerfler_mark", "doerfler_marking",
           "gather_profile", "marking_of", "solve_adaptive", "split_counts"]

log = logging.getLogger(__name__)

#: why an adaptive loop stopped; only "tolerance" (and "adaptive off", a fixed mesh the user
#: asked for) count as converged
STOP_REASONS = ("tolerance", "cell cap", "step cap", "no refinement", "refinement failed",
                "adaptive off")
_CONVERGED_REASONS = ("tolerance", "adaptive off")


@dataclass
class AdaptiveResult:
    """Final problem, its solve, metrics and the refinement history (:class:`RefinementStep`
    and :class:`FailedStep` records); ``eafe_state``: what the 2D EAFE scheme keeps besides
    (:class:`fem_sse.transport.eafe2d_solve.EafeState`: the current balance and the W view of
    its final state)."""

    problem: TransportProblem
    result: TransportSolve
    metrics: Metrics
    profile: Profile | None
    history: list = field(default_factory=list)
    newton_iterations: int = 0
    stop_reason: str = "tolerance"
    eafe_state: EafeState | None = None

    @property
    def converged(self) -> bool:
        """Whether the loop stopped on its tolerance (or ran the one mesh it was asked to)."""
        return self.stop_reason in _CONVERGED_REASONS

    @property
    def last_change(self) -> StepChange | None:
        """The changes between the last two meshes, None after one mesh."""
        changes = [h.change for h in self.history if h.change is not None]
        return changes[-1] if changes else None

    def final(self, dofs: int, cells: int) -> TransportResult:
        """The run's result: the last solve and metrics on the final mesh (``dofs``,
        ``cells``) with the Newton iterations of the whole loop."""
        return TransportResult.of(self.result, self.metrics, dofs, cells,
                                  self.newton_iterations)

    def refinement(self, certified: bool = True) -> Refinement:
        """How the loop ended (``certified``: False when a certificate rejected the state)."""
        return Refinement(tuple(self.history), self.converged, self.stop_reason,
                          self.last_change, certified)


def gather_profile(problem: TransportProblem) -> Profile | None:
    """Nodal W per cell of a 1D problem, gathered on rank 0 (None elsewhere)."""
    return discretisation_for(problem.mesh).profile(problem)


#: a step the cell cap cut (:class:`Marking`) that still grew the mesh by this factor is a
#: refinement like any other (stress2d 2:3, EAFE: 46 557 -> 62 323 cells held less than
#: theta / 2 of a spread estimate, and changed 1 - t_Li by 9.6e-5 after 4.7e-4)
CAPPED_GROWTH = 1.2

#: relative spread of indicators treated as one value by :func:`doerfler_mark` (round-off
#: of the indicators is ~1e-13)
_TIE = 1e-9


@dataclass(frozen=True)
class Marking:
    """The cells one refinement step marks (local indices) and whether the cell cap cut the
    Doerfler set below half of its share (``capped``: the marked cells hold less than
    theta / 2 of the estimated error, so the marking is not even a Doerfler marking with half
    the parameter). The change such a step makes is weak evidence (a few hundred cells added
    below the cap change 1 - t_Li by little however far it is from its limit), unless it
    still grew the mesh by CAPPED_GROWTH: of the two quiet steps that stop the loop, one must
    come from a whole marking or a grown mesh (:func:`record_step`)."""

    cells: np.ndarray
    capped: bool = False

    @classmethod
    def none(cls) -> Marking:
        """The marking before the first mesh (nothing marked, nothing capped)."""
        return cls(np.empty(0, dtype=np.int32))

    @classmethod
    def merged(cls, markings: list[Marking]) -> Marking:
        """One step's marking from several indicator sets (the 2D EAFE loop's two)."""
        return cls(np.unique(np.concatenate([m.cells for m in markings])),
                   any(m.capped for m in markings))


def marking_of(sets: list[np.ndarray], comm, cap: int | None) -> Marking:
    """Doerfler marking (theta 0.7) of each indicator set (squared, owned cells), the cap
    shared between them, merged (the transport indicator and, while its estimate is above
    the tolerance, the ionic one)."""
    share = None if cap is None else max(1, cap // len(sets))
    return Marking.merged([doerfler_marking(e, comm, theta=0.7, max_count=share)
                           for e in sets])


def doerfler_mark(eta2: np.ndarray, comm, theta: float = 0.5,
                  max_count: int | None = None) -> np.ndarray:
    """The cells of :func:`doerfler_marking` (local indices)."""
    return doerfler_marking(eta2, comm, theta, max_count).cells


def doerfler_marking(eta2: np.ndarray, comm, theta: float = 0.5,
                     max_count: int | None = None) -> Marking:
    """Local cells holding (at least) the fraction ``theta`` of the global sum of ``eta2``,
    at most ``max_count`` of them globally (the largest indicators first; ``capped`` when
    that cut the set to less than half the fraction, :class:`Marking`).

    The thresholds are found by bisection on global sums, so nothing is gathered. Indicators
    within a relative ``_TIE`` of the threshold are ties (cells alike by symmetry, equal up to
    round-off that depends on the number of ranks): all of them are marked (all left out when
    the cap decides, unless nothing would be left), so that 1 and N ranks refine the same
    cells.
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
    lo *= 1.0 - _TIE

    def too_many(t):
        return comm.allreduce(int(np.count_nonzero(eta2 >= t)), op=MPI.SUM) > max_count

    cut = max_count is not None and too_many(lo)
    if cut:
        _, hi = bisect(lo, top, too_many)
        above = hi * (1.0 + _TIE)  # without the tie group at the cap
        marked = comm.allreduce(int(np.count_nonzero(eta2 >= above)), op=MPI.SUM)
        lo = above if marked > 0 else hi * (1.0 - _TIE)  # all ties: the whole group
    held = comm.allreduce(float(eta2[eta2 >= lo].sum()), op=MPI.SUM) if cut else total
    return Marking(np.flatnonzero(eta2 >= lo).astype(np.int32), held < 0.5 * theta * total)


def _refine_mesh(problem: TransportProblem, cells: np.ndarray,
                 eta2: np.ndarray) -> SeparatorMesh:
    """The refined mesh of ``problem`` with the marked ``cells`` (local indices) refined, by
    the discretisation of its mesh (:mod:`fem_sse.transport.discretisation`)."""
    return discretisation_for(problem.mesh).refine(problem.smesh, problem.config, cells, eta2,
                                                   problem.degree)


def _solve_checked(problem: TransportProblem) -> TransportSolve:
    """:func:`solve_transport`, and the discretisation's check that the state it stopped on is
    a solution (2D: the current balance, :meth:`Plane2D.check_solution`).

    Raises:
        ConvergenceError: when the check fails (the loop then retries or reports it).
    """
    result = solve_transport(problem)
    discretisation_for(problem.mesh).check_solution(problem, result)
    return result


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


def _step_line(entry: RefinementStep) -> str:
    """One progress line per refinement step: cells, DOFs, 1 - t_Li, its change and the
    largest jump shift since the previous mesh, Newton iterations, wall time."""
    change = (f" (change {entry.change.d_one_minus_t:.1e}, jumps moved "
              f"{entry.change.d_jump_x:.1e} L)" if entry.change is not None else "")
    capped = ", marking capped by solver.max_cells" if entry.marking_capped else ""
    return (f"step {entry.step}: {entry.cells} cells, {entry.dofs} DOFs, "
            f"1 - t_Li = {entry.one_minus_t_li:.6e}{change}{capped}, "
            f"{entry.newton_iterations} Newton iterations, {entry.wall_time_s:.1f} s")


def record_step(history: list, progress, opts, *, step: int, cells: int, dofs: int,
                result: TransportSolve, current: TransportResult,
                previous: TransportResult | None, length: float, start: float,
                capped: bool = False) -> bool:
    """Append a refinement step's record (cells, DOFs, 1 - t_Li, Newton iterations, wall time
    in s and, after the first mesh, its :class:`StepChange` from the previous one, ``length``
    in m; ``capped``: the cell cap cut the marking that made this mesh, which counts only
    when the mesh grew by less than CAPPED_GROWTH) to ``history`` and
    report it; True when this step and the one before are quiet (every change below the
    tolerance: 1 - t_Li and jumps / L below ``opts.tolerance``, interface mu below
    10 ``opts.tolerance`` eV) and not both made by capped markings (:class:`Marking`): one
    small change can be a marking that missed the error, two can be two steps the cap made
    tiny; or when the last three whole steps' changes decay geometrically to within the
    tolerance (:func:`_geometric`). The one bookkeeping of both schemes' adaptive loops."""
    change = StepChange.between(previous, current, length) if previous is not None else None
    grown = bool(history) and cells >= CAPPED_GROWTH * history[-1].cells
    entry = RefinementStep(step, cells, dofs, result.one_minus_t_li, result.newton_iterations,
                           time.perf_counter() - start, change,
                           marking_capped=capped and not grown)
    history.append(entry)
    if progress:
        progress(_step_line(entry))
    pair = history[-2:]
    return ((len(pair) == 2 and all(_quiet(h, opts.tolerance) for h in pair)
             and not all(h.marking_capped for h in pair))
            or _geometric(history, opts.tolerance))


#: largest ratio of consecutive changes of 1 - t_Li for :func:`_geometric`
GEOMETRIC_RATE = 0.5


def _geometric(history: list, tolerance: float) -> bool:
    """Whether the last three whole steps' changes of 1 - t_Li (the first within 100 tol.)
    shrink steadily (ratios 0.1-GEOMETRIC_RATE, within 2x of each other; 1:42 stopped 7.6e-4
    off on 0.77, 2.8e-3, 1.1e-5) and c r / (1 - r) (left after the last change c, r the larger
    ratio) is below ``tolerance``, with quiet jumps and PB potentials (0:28: 2.9e-4, 1e-4,
    then capped steps; uniform refinement's limit lies 4e-5 from there)."""
    steps = history[-3:]
    if len(steps) < 3 or any(getattr(h, "change", None) is None or h.marking_capped for h in steps):
        return False
    c = [h.change.d_one_minus_t for h in steps]
    if min(c[:2]) <= 0.0 or c[0] > 100.0 * tolerance:
        return False
    ratios = (c[1] / c[0], c[2] / c[1])
    r = max(ratios)
    last = steps[-1].change
    return (0.1 <= min(ratios) and r <= min(GEOMETRIC_RATE, 2.0 * min(ratios))
            and c[2] * r / (1.0 - r) < tolerance
            and last.d_jump_x < tolerance and last.d_mu_interface < 10.0 * tolerance)


def _quiet(entry, tolerance: float) -> bool:
    """Whether the change a refinement step (:class:`RefinementStep`) made is below the
    tolerance (a failed step or the first mesh: no)."""
    change = getattr(entry, "change", None)
    return (change is not None and change.d_one_minus_t < tolerance
            and change.d_jump_x < tolerance and change.d_mu_interface < 10.0 * tolerance)


def _first_problem(config: Config, comm, exact=None) -> TransportProblem:
    """The problem on the discretisation's first mesh, started from its start state: in 1D
    the exact steady state ``exact`` on the mesh with points added where the exact mu changes
    (:mod:`fem_sse.transport.start1d`); a stack beyond the W formulation's precision is
    refused (in 2D before meshing: :func:`fem_sse.transport.precision2d.check_precision_2d`)."""
    disc = for_dimension(config.dim)
    problem = TransportProblem(config, disc.first_mesh(config, comm, exact),
                               degree=config.solver.degree)
    disc.start(problem, exact)
    return problem


def solve_adaptive(config: Config, comm, progress=None, accept=None,
                   exact=None, keep: LastGoodState | None = None) -> AdaptiveResult:
    """Solve on the Gmsh mesh of ``config`` and refine adaptively (see module docstring).

    Args:
        config: validated configuration (dim 1 or 2).
        comm: MPI communicator.
        progress: optional callable(str) for one-line progress reports (rank 0).
        accept: optional callable(the :class:`TransportResult` of a mesh) -> bool: a mesh
            whose changes are small is final only when it also
            accepts (1D: the exact check of :mod:`fem_sse.transport.certify1d`); otherwise
            refinement goes on, up to the caps.
        exact: 1D: the :class:`~fem_sse.transport.exact1d.ExactSolution` of ``config`` to start from
            (and restart from after a failed step); solved here when None.
        keep: where a failure with no converged mesh leaves its last good state (the
            problem), for the writers of the failed run.
    """
    opts = config.solver
    disc = for_dimension(config.dim)
    exact = disc.exact_state(config, exact)  # 1D: SolveError when there is no steady state
    problem = _first_problem(config, comm, exact)
    history, total_newton = [], 0
    previous, last, marking = None, None, Marking.none()
    for step in range(opts.max_refinements + 1):
        start = time.perf_counter()
        try:
            try:
                result = _solve_checked(problem)
            except ConvergenceError:
                if step == 0:
                    raise
                log.info("step %d: retrying from the default initial guess", step)
                disc.restart(problem, exact)
                result = _solve_checked(problem)
        except ConvergenceError as exc:
            if step == 0 or last is None:
                # nothing converged on any mesh: the writers get this mesh's last good state
                if keep is not None:
                    keep.keep(exc, problem)
                exc.diagnosis.update(refinement_step=step, cells=problem.mesh.topology.index_map(
                    problem.mesh.topology.dim).size_global, dofs=problem.dofs)
                raise
            # a refined mesh that does not converge: keep the last converged mesh and say so
            log.warning("refinement step %d did not converge (%s); keeping step %d", step, exc,
                        step - 1)
            history.append(FailedStep(step, str(exc)))
            return _finish(AdaptiveResult(*last, history, total_newton, "refinement failed"),
                           comm, opts.tolerance)
        total_newton += result.newton_iterations
        metrics, profile = disc.measure(config, problem)
        current = TransportResult.of(result, metrics)
        tdim = problem.mesh.topology.dim
        cells = problem.mesh.topology.index_map(tdim).size_global
        settled = record_step(history, progress, opts, step=step, cells=cells,
                              dofs=problem.dofs, result=result, current=current,
                              previous=previous, length=config.thickness, start=start,
                              capped=marking.capped)
        # 2D: the ionic field is refined too while its estimate is above the tolerance (the
        # W indicator does not see it, and the EAFE check shares it: stress2d 2:22 stopped
        # 8.5e-4 off with the W indicator alone, 2e-5 off with both); it does not hold the
        # stop back (the EAFE loop's rule: its estimate can stay above on a capped mesh)
        ionic2, estimate = disc.ionic_error(problem)
        ionic_ok = estimate is None or estimate <= opts.tolerance
        if estimate is not None:
            history[-1].ionic_rel_error_estimate = estimate
        done = settled and (accept is None or accept(current))
        last = (problem, result, metrics, profile)
        reason = _stop_reason(opts, done, step, cells)
        if reason is None and len(history) > 1 and history[-2].cells == cells:
            reason = "no refinement"  # the marked cells did not change the mesh
        if reason is not None:
            return _finish(AdaptiveResult(*last, history, total_newton, reason), comm,
                           opts.tolerance)
        previous = current
        eta2 = error_indicators(problem).x.array[
            : problem.mesh.topology.index_map(tdim).size_local]
        marking = marking_of([eta2] if ionic_ok else [eta2, ionic2], comm,
                             disc.mark_cap(opts, cells))
        new = TransportProblem(config, _refine_mesh(problem, marking.cells, eta2),
                               degree=opts.degree,
                               forms=problem.forms)
        new.start_from(problem)
        problem = new
    raise AssertionError("unreachable")
