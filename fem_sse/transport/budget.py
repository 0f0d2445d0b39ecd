"""A wall-time budget for a nonlinear solve (``solver.w_budget_s``, the W formulation).

The Newton loops (:func:`fem_sse.transport.newton.newton`, ``bordered_newton``) call
:func:`check` once per iteration. Every rank runs the same iterations (their residual norms
are collective), so the check is at the same point on every rank, and the decision is an
allreduce: all ranks stop together (1 rank == N ranks) even when their clocks disagree.

A budget that runs out raises :class:`BudgetExceeded`, which is not a ConvergenceError on
purpose: the continuation and strategy loops, which catch ConvergenceError to retry with
smaller steps, must not retry a solve whose time is up. :func:`wall_budget` turns it into a
ConvergenceError with stage "budget" where the budget was opened.
"""

from __future__ import annotations

import contextlib
import time

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis

__all__ = ["BudgetExceeded", "check", "suspended", "wall_budget"]

#: (deadline on time.monotonic(), budget in s, communicator) of the open budget, or None
_open: tuple[float, float, object] | None = None


class BudgetExceeded(Exception):
    """The open wall-time budget ran out (raised on every rank at once)."""


def check() -> None:
    """Raise BudgetExceeded on all ranks when the open budget has run out on any rank.

    Collective when a budget is open: call it at the same point on every rank."""
    if _open is None:
        return
    deadline, seconds, comm = _open
    from mpi4py import MPI

    if comm.allreduce(time.monotonic() > deadline, op=MPI.LOR):
        raise BudgetExceeded(f"{seconds:g} s")


@contextlib.contextmanager
def wall_budget(seconds: float, comm, key: str = "solver.w_budget_s"):
    """Open a budget of ``seconds`` (s) of wall time for the solve in the ``with`` block
    (0: none). Raises ConvergenceError (stage "budget", naming ``key``) when it runs out."""
    global _open
    if seconds <= 0:
        yield
        return
    start = time.monotonic()
    _open = (start + seconds, seconds, comm)
    try:
        yield
    except BudgetExceeded:
        raise ConvergenceError(
            f"the W formulation's solve was stopped by its budget after "
            f"{time.monotonic() - start:.0f} s ({key} = {seconds:g} s)",
            Diagnosis(stage="budget", budget_s=seconds)) from None
    finally:
        _open = None


@contextlib.contextmanager
def suspended():
    """No budget inside the ``with`` block (a check the user asked for, run after the solve:
    ``solver.refined_check``); the open one, if any, holds again after it."""
    global _open
    held, _open = _open, None
    try:
        yield
    finally:
        _open = held
