"""One run of a case: the transport step (:mod:`.transport_case`), the mechanics step
(:mod:`.mechanics_step`), then the output folder (:mod:`.run_output`); the summary is a
:class:`~fem_sse.app.results.RunResult`."""

from __future__ import annotations

import logging
from pathlib import Path

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.app.dimension import run_for
from fem_sse.app.results import RunInfo, RunResult, failed_summary
from fem_sse.app.run_output import write_not_converged, write_run
from fem_sse.spec.config import Config

__all__ = ["run_case", "solve_case", "solve_run"]

log = logging.getLogger(__name__)


def _solve_transport(config: Config, comm, solver: str, progress,
                     keep=None) -> tuple[dict, CaseOutputs, str]:
    """(summary keys, writer inputs, the solver that produced them) of the transport step;
    ``keep``: a :class:`~fem_sse.transport.results.LastGoodState` for a failure."""
    from fem_sse.app import transport_case as case

    if solver == "exact" and not config.shape.exact_solver:
        from fem_sse.spec.config import ConfigError

        raise ConfigError("solver.kind", "the exact solver is 1D (a closed form); use 'fem' for "
                          f"a {config.dim}D geometry")
    if solver == "exact":
        return (*case.solve_exact_case(config), solver)
    if solver == "fem-eafe" and config.solver.degree != 1:  # a 1D case written for W
        log.warning("solver.degree = %d is the W formulation's (kind = 'fem'); this run's "
                    "scheme, fem-eafe (the 1D default), has nodal P1 values", config.solver.degree)
    return run_for(config).solve(config, comm, solver, progress, keep)


def solve_run(config: Config, comm, solver: str | None = None,
              progress=None, keep=None) -> tuple[RunResult, CaseOutputs]:
    """Solve ``config`` with ``solver`` ("fem", "fem-eafe" or "exact"; default from the config),
    then its mechanics (with a [mechanics] table). A failed W solve leaves its last good state
    in ``keep`` (a :class:`~fem_sse.transport.results.LastGoodState`), when given.

    Returns:
        (result, outputs): the :class:`~fem_sse.app.results.RunResult` (identical on all
        ranks) and the writer inputs (:class:`~fem_sse.app.case_outputs.CaseOutputs`).
    """
    summary, outputs, solver = _solve_transport(config, comm, solver or config.solver.kind,
                                                progress, keep)
    mechanics = (None if config.mechanics is None
                 else run_for(config).mechanics(config, outputs, comm))
    return RunResult(RunInfo.of(config, solver, comm), summary, mechanics), outputs


def solve_case(config: Config, comm, solver: str | None = None, progress=None,
               keep=None) -> tuple[dict, CaseOutputs]:
    """:func:`solve_run` with the summary as a dict (summary.json's keys).

    Returns:
        (summary, outputs): the summary dict (identical on all ranks) and the writer inputs
        (:class:`~fem_sse.app.case_outputs.CaseOutputs`).
    """
    result, outputs = solve_run(config, comm, solver, progress, keep)
    return result.to_summary(), outputs


def run_case(config: Config, outdir: str | Path, comm, solver: str | None = None,
             progress=None, png: bool = True, extra: dict | None = None,
             overwrite: bool = True) -> dict:
    """Solve and write ``summary.json``, ``profile.csv``, ``profile.png`` and fields to
    ``outdir`` (replaced atomically). Returns the summary.

    Args:
        png: write the PNG (profile.png / mu_map.png); sweeps skip it, it dominates 1D runs.
        extra: keys added to the summary (a sweep stores its point there).
        overwrite: replace an earlier fem-sse result in ``outdir`` (a folder fem-sse did not
            create is never replaced: :mod:`fem_sse.io.outdir`).

    Raises:
        ConvergenceError, SolveError: after writing ``outdir`` with the last good state and
            ``"converged": false`` (:func:`write_failed`); the exception's
            ``diagnosis.outdir`` names it.
    """
    from fem_sse.errors import ConvergenceError, SolveError
    from fem_sse.transport.results import LastGoodState

    keep = LastGoodState()
    try:
        summary, outputs = solve_case(config, comm, solver, progress, keep)
    except (ConvergenceError, SolveError) as exc:
        write_failed(config, outdir, comm, exc, solver or config.solver.kind, overwrite,
                     keep.of(exc))
        raise
    summary.update(extra or {})
    return write_run(config, outdir, comm, summary, outputs, png, overwrite)


def write_failed(config: Config, outdir: str | Path, comm, exc: Exception, solver: str,
                 overwrite: bool = True, kept=None) -> None:
    """Write ``outdir`` (atomically) for a failed solve and record it in
    ``exc.diagnosis.outdir`` (after the summary is written: not a key of it).

    ``summary.json`` has ``"converged": false``, the error and its diagnosis (last residuals,
    continuation stage and fraction reached, where the residual concentrates); when the solver
    kept a last good state (``diagnosis.good_state``), its fields (and in 1D profile.csv)
    are written too (``kept``: the problem the solver left for ``exc``, see
    :class:`~fem_sse.transport.results.LastGoodState`). t_li and one_minus_t_li are null.
    """
    from fem_sse.errors import SolveError

    diagnosis = exc.diagnosis.copy()
    steady = not isinstance(exc, SolveError)
    if not steady:  # exit 4: the answer is that there is no steady state
        diagnosis.reason = str(exc)
    problem = kept if steady and diagnosis.good_state else None
    summary = failed_summary(RunInfo.of(config, solver, comm), exc, diagnosis,
                             problem is not None, not steady)
    write_not_converged(config, outdir, comm, problem, summary, overwrite)
    exc.diagnosis.outdir = str(outdir)
