"""The default ``fem`` run of a case, 1D and 2D: the W formulation, and where it does not
converge the exponentially fitted scheme (``solver.fallback = "fem-eafe"``).

One control flow for both dimensions; what differs (the W solve and its check or certificate,
the fallback's solve) comes in as the two solvers (:func:`solve_with_fallback`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mpi4py import MPI

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.app.results import Fallback
from fem_sse.errors import ConfigError, ConvergenceError
from fem_sse.spec.config import Config
from fem_sse.transport.budget import wall_budget
from fem_sse.transport.certificate import Certificate
from fem_sse.transport.results import Refinement, add_wall_time, converged_in

__all__ = ["solve_with_fallback"]

log = logging.getLogger(__name__)

#: a solver of the case: () -> (summary keys, writer inputs)
Solver = Callable[[], tuple[dict, CaseOutputs]]


def solve_with_fallback(config: Config, comm, w_solve: Solver,
                        fallback_solve: Solver) -> tuple[dict, CaseOutputs]:
    """``w_solve`` under the budget ``solver.w_budget_s``; where it fails (a ConvergenceError:
    refused at its precision limit, not converged, stopped by the budget, caught by the 1D
    exact check), ends on a state its certificate rejects (``not_converged_because``) or
    stops before its tolerance (cell cap, a failed refinement step), ``fallback_solve``
    solves the case (with ``solver.fallback = "none"`` the W result or error stands).

    The fallback's summary gets the ``fallback`` block (why, at which stage, and the W solve's
    wall time ``from_time_s``, s, the slowest rank's), and its ``wall_time_s`` becomes the
    run's: the W solve's time plus the fallback's. When the fallback fails too, the W error is
    raised with the fallback's in its diagnosis (``Diagnosis.fallback``), or the W result is
    returned (not converged) with the fallback's error in ``fallback_failed``. When the W loop
    stopped early and the fallback does not converge either, the state with the smaller last
    change of 1 - t_Li stands (:func:`_closer`), not converged: the fallback's with its
    ``fallback`` block, or the W result with the fallback's outcome in ``fallback_failed``. A
    W result that stands counts the fallback's time in its ``wall_time_s`` too.
    """
    failed = w_result = None
    start = time.perf_counter()
    try:
        # the W solve may run far longer than the fallback needs: its budget stops it, and
        # a budget that runs out is a failure ("budget" stage), never a converged run
        with wall_budget(config.solver.w_budget_s, comm):
            w_result = w_solve()
        w_summary = w_result[0]
        rejected = Certificate.reasons_in(w_summary)
        if config.solver.fallback == "none" or (converged_in(w_summary) and not rejected):
            return w_result
        if rejected:
            reason, stage = "; ".join(rejected), "certificate"
        else:  # stopped before its tolerance (cell cap, a refinement step that failed)
            reason = ("its adaptive loop stopped before the tolerance "
                      f"({Refinement.stop_reason_of(w_summary)})")
            stage = "adaptive loop"
    except ConvergenceError as exc:
        if config.solver.fallback == "none":
            raise
        failed, reason, stage = exc, " ".join(str(exc).split()), exc.diagnosis.stage
    # the same on every rank: the slowest rank's (the budget stops all at the same check,
    # when the first rank's time runs out)
    w_time_s = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    log.warning("the W formulation did not converge (%s); solving with the exponentially "
                "fitted scheme (solver.fallback = 'fem-eafe')", reason)
    fallback_start = time.perf_counter()
    try:
        summary, outputs = fallback_solve()
    except (ConvergenceError, ConfigError) as second:  # ConfigError: a mesh it cannot do
        if failed is None:
            return _w_standing(w_result, Fallback.not_taken(second), comm, fallback_start)
        failed.diagnosis.fallback = Fallback.failure(second)
        raise failed from second
    if stage == "adaptive loop" and not converged_in(summary) and not _closer(
            summary, w_result[0]):
        # neither converged: the default formulation's result, with the fallback's outcome
        return _w_standing(w_result, Fallback.not_taken(
            f"not converged either ({Refinement.stop_reason_of(summary)})"), comm,
            fallback_start)
    add_wall_time(summary, w_time_s)
    summary.update(Fallback(reason, stage, w_time_s).to_summary())
    return summary, outputs


def _closer(fallback: dict, w_summary: dict) -> bool:
    """Whether the fallback's state, not converged either, is the better of two: its
    certificate accepts it and its last change of 1 - t_Li is below the W loop's (stress2d
    2:22: 5.4e-5 against 1.2e-4, both on the cell cap)."""
    changes = [Refinement.last_change_of(s) for s in (fallback, w_summary)]
    return (None not in changes and not Certificate.reasons_in(fallback)
            and changes[0] < changes[1])


def _w_standing(w_result: tuple, not_taken: dict, comm, since: float) -> tuple:
    """The W result, standing after a fallback that did not converge: with the fallback's
    outcome (``not_taken``), and the fallback's time since ``since`` (s, the slowest
    rank's) added to its ``wall_time_s``, the whole run's solve time."""
    add_wall_time(w_result[0], comm.allreduce(time.perf_counter() - since, op=MPI.MAX))
    w_result[0].update(not_taken)
    return w_result
