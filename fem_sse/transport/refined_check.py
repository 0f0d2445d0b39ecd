"""The refined-mesh check of a 2D adaptive state (``solver.refined_check``, issue 16).

The adaptive loops stop when 1 - t_Li, the fronts and the PB potentials change by less than the
tolerance between two meshes. Those changes are evidence that the mesh resolves the state, not
a bound: where no indicator marks part of the error, the marked cells stop changing while the
unmarked error stays (before session 17 the EAFE loop stopped 8.6e-3 off on stress2d 0:47, a
crack with partial contact, because no indicator saw the electronic current spread).

The check solves once more, by the same scheme, on the final mesh with every cell refined
(Plaza: four times the cells), started from the final state. Its relative change of 1 - t_Li,
delta, is what refining everywhere still gains. Where the error shrinks by a ratio r <= 1/2 per
uniform refinement (first order or better), the final state lies within delta / (1 - r) <=
2 delta of the limit; a change above :data:`REFINED_FACTOR` times ``solver.tolerance`` (an error
that may exceed ten tolerances) makes the run not converged.

Cost: one solve on four times the final cells. On stress2d 0:47 (EAFE, 103 405 cells, run in
10 s) the check took 22 s and 6 Newton iterations, and moved 1 - t_Li by 2.9e-5
(bench/refine_study.py ``--modes adaptive-uniform``; docs/transport2d.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from fem_sse.errors import ConvergenceError
from fem_sse.transport.crosscheck import SchemeCheck

__all__ = ["REFINED_FACTOR", "RefinedCheck", "check_refined_eafe", "check_refined_w"]

log = logging.getLogger(__name__)

#: the check fails when 1 - t_Li changes by more than this many ``solver.tolerance`` (-)
REFINED_FACTOR = 5.0


@dataclass(frozen=True)
class RefinedCheck(SchemeCheck):
    """The same scheme's 1 - t_Li on the final mesh refined everywhere.

    Attributes (besides :class:`SchemeCheck`'s, whose ``cells`` are the refined mesh's):
        tolerance: the largest relative change that passes (-).
        newton_iterations: of the refined solve.
        wall_time_s: of the check (s).
    """

    summary_key: ClassVar[str] = "refined_check"

    tolerance: float = 0.0
    newton_iterations: int = 0
    wall_time_s: float = 0.0

    @property
    def limit(self) -> float:
        return self.tolerance

    def reason(self) -> str:
        """The not-converged reason of a change above the tolerance."""
        return (f"refining the final mesh everywhere ({self.cells} cells) moves 1 - t_Li to "
                f"{self.one_minus_t_li:.6g}, {self.relative_difference:.2g} from "
                f"{self.reference:.6g} (more than {self.tolerance:g}): the adaptive mesh "
                "misses part of the error")

    def to_summary(self) -> dict:
        """The ``refined_check`` block of summary.json."""
        return self.block({"refined_one_minus_t_li": self.one_minus_t_li,
                           "relative_change": self.relative_difference,
                           "largest_relative_change": self.tolerance,
                           "refined_cells": self.cells,
                           "refined_newton_iterations": self.newton_iterations,
                           "check_time_s": self.wall_time_s})


def _check(config, problem, scheme: str, reference: float, solve, progress) -> RefinedCheck:
    """The check by ``solve()`` -> the refined mesh's TransportSolve; a ConvergenceError gives
    a check with its failure (a warning on rank 0), not a verdict on the state."""
    start = time.perf_counter()
    tolerance = REFINED_FACTOR * config.solver.tolerance
    tdim = problem.mesh.topology.dim
    cells = 4 * problem.mesh.topology.index_map(tdim).size_global  # each triangle in four
    if progress is not None:
        progress(f"checking the state on the final mesh refined everywhere ({cells} cells)")
    try:
        result = solve()
    except ConvergenceError as exc:
        message = " ".join(str(exc).split())
        if problem.mesh.comm.rank == 0:
            log.warning("the refined mesh could not check this state (%s)", message)
        return RefinedCheck(scheme, None, reference, cells, message, tolerance, 0,
                            time.perf_counter() - start)
    return RefinedCheck(scheme, float(result.one_minus_t_li), reference, cells, None, tolerance,
                        result.newton_iterations, time.perf_counter() - start)


def check_refined_eafe(config, problem, view, sol, reference: float,
                       progress=None) -> RefinedCheck:
    """The check of the EAFE state ``problem`` (its W view ``view``; ``sol``: the averaged
    stack's exact state, the start when the transferred state fails; ``reference``: its
    1 - t_Li)."""
    from fem_sse.transport.discretisation import Plane2D
    from fem_sse.transport.eafe2d import EafeProblem2D
    from fem_sse.transport.eafe2d_solve import solve_transferred

    def solve():
        marked = np.arange(len(problem.cell_tag), dtype=np.int32)
        fine = EafeProblem2D(config, Plane2D().refine(problem.smesh, config, marked))
        try:
            return solve_transferred(problem, view, fine, sol)[0]
        finally:
            fine.destroy()

    return _check(config, problem, "fem-eafe", reference, solve, progress)


def check_refined_w(config, problem, reference: float, progress=None) -> RefinedCheck:
    """The check of the W formulation's state ``problem`` (``reference``: its 1 - t_Li),
    started from its state interpolated, and from the default guess when that fails (stress2d
    0:10 failed from the interpolated state on 4 092 cells), within a budget of its own,
    ``solver.w_budget_s`` (stress2d 7:21 took 1 118 s and 109 Newton iterations on 59 704
    cells without one; a check the budget stops gives no state, not a verdict)."""
    from fem_sse.transport.adapt import _refine_mesh, _solve_checked
    from fem_sse.transport.budget import wall_budget
    from fem_sse.transport.discretisation import discretisation_for
    from fem_sse.transport.problem import TransportProblem

    def solve():
        local = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_local
        smesh = _refine_mesh(problem, np.arange(local, dtype=np.int32), np.ones(local))
        fine = TransportProblem(config, smesh, degree=problem.degree, forms=problem.forms)
        fine.start_from(problem)
        with wall_budget(config.solver.w_budget_s, problem.mesh.comm,
                         "solver.w_budget_s, the refined check's own"):
            try:
                return _solve_checked(fine)
            except ConvergenceError:  # as a refinement step of the loop: the default guess
                log.info("refined check: retrying from the default initial guess")
                discretisation_for(fine.mesh).restart(fine, None)
                return _solve_checked(fine)

    return _check(config, problem, "fem", reference, solve, progress)
