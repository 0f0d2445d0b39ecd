"""The ``fem-eafe`` run of a case: the exponentially fitted solve (1D:
:mod:`fem_sse.transport.eafe_solve`; 2D: :mod:`fem_sse.transport.eafe2d_solve`) turned into the
summary keys of the W-FEM's runs."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.app.results import Fallback
from fem_sse.spec.config import Config
from fem_sse.transport.certificate import Certificate
from fem_sse.transport.eafe_solve import solve_adaptive_eafe
from fem_sse.transport.results import Refinement, TransportResult, converged_in

__all__ = ["solve_eafe_case", "solve_eafe_case_2d", "solve_fem_2d_with_fallback"]

log = logging.getLogger(__name__)


#: the summary's ``scheme`` key of an EAFE run
SCHEME = {"scheme": "EAFE (exponentially fitted, mu at P1 nodes)"}


def solve_eafe_case(config: Config, comm, exact_result: TransportResult, exact, progress=None):
    """The 1D EAFE run: (summary, :class:`CaseOutputs`) with the keys of the W-FEM's summary;
    ``exact``: the exact solution (the start), ``exact_result`` its result (the acceptance
    test)."""
    from fem_sse.app.rows import fem_rows
    from fem_sse.app.transport_case import exact_acceptance

    start = time.perf_counter()
    out = solve_adaptive_eafe(config, comm, exact, exact_acceptance(config, exact_result),
                              progress)
    problem = out.problem
    result = replace(out.final(problem.imap.size_global,
                               problem.mesh.topology.index_map(1).size_global),
                     wall_time_s=time.perf_counter() - start)
    summary = result.to_summary({**out.refinement().to_summary(), **SCHEME})
    rows = (fem_rows(config, out.profile, out.result.ionic_potential_drop)
            if comm.rank == 0 else None)
    problem.destroy()  # the PETSc solver only: mu, w, Phi and the mesh stay for the field files
    return summary, CaseOutputs(rows=rows, profile=out.profile, exact_result=exact_result,
                                problem=problem, result=result)


def solve_eafe_case_2d(config: Config, comm, progress=None):
    """The 2D EAFE run: (summary, :class:`CaseOutputs`) with the keys of the W-FEM's 2D summary
    (certificate, region statistics, fronts); ``outputs.view`` is the state as the metrics
    see it. On a
    mesh with GB interfaces, the W formulation checks the final state on the same mesh
    (:mod:`fem_sse.transport.crosscheck`).

    Raises:
        ConfigError: a mesh the scheme does not support (a crack line not cut open).
        ConvergenceError: no mesh converged (exit 3).
    """
    from fem_sse.app.transport_case import plane_current_keys, warn_uncertified
    from fem_sse.geometry import build_mesh
    from fem_sse.spec.config import ConfigError
    from fem_sse.transport.crosscheck import check_with_w
    from fem_sse.transport.eafe2d import unsupported
    from fem_sse.transport.eafe2d_gb import averaged_state
    from fem_sse.transport.eafe2d_solve import certificate_2d, solve_adaptive_eafe_2d

    start = time.perf_counter()
    smesh = build_mesh(config, comm, cut_cracks=True)  # a crack's two lips: own nodes
    reason = unsupported(config, smesh)
    if reason:
        raise ConfigError("solver.kind", reason)
    out = solve_adaptive_eafe_2d(config, comm, averaged_state(config), progress, smesh)
    solve, metrics, problem = out.result, out.metrics, out.problem
    cells = problem.mesh.topology.index_map(2).size_global
    cert = certificate_2d(problem, solve, metrics.jumps, out.eafe_state.balance)
    if cert.certified and out.converged and problem.w_dg is not None:
        cert = cert.with_check(check_with_w(config, problem.smesh, solve.one_minus_t_li,
                                                progress))
    warn_uncertified(cert, comm)
    keys = {**out.refinement(cert.certified).to_summary(), **SCHEME, **cert.to_summary(),
            **plane_current_keys(solve, problem, metrics,
                                 "P1" if problem.w_dg is None else "DG1 (GB interfaces)")}
    result = replace(out.final(problem.imap.size_global, cells),
                     wall_time_s=time.perf_counter() - start)
    problem.destroy()  # the PETSc solver only: the state stays for the field files
    return result.to_summary(keys), CaseOutputs(front_lines=metrics.fronts, problem=problem,
                                                view=out.eafe_state.view)


def solve_fem_2d_with_fallback(config: Config, comm, progress=None, keep=None):
    """A default 2D ``fem`` run: the W formulation; where it is refused (precision limit),
    fails, or ends on a state its certificate rejects (``not_converged_because``), the
    exponentially fitted scheme solves the case (``solver.fallback = "fem-eafe"``; crack lines
    are cut open, GB interfaces keep their conductance). Same
    ``fallback`` summary block and warning as 1D (:func:`fem_sse.app.transport_case.solve_fem_1d`).
    When the fallback fails too, the W formulation's error is raised with the fallback's in
    its diagnosis (or its rejected result is returned, not converged, with the fallback's error
    in ``fallback_failed``). A W run that stopped before its tolerance (cell cap, a failed
    refinement step) is solved again with the fallback too; the fallback's result replaces it
    only when it converged. The W solve has a wall-time budget (``solver.w_budget_s``): when it
    runs out, that is a failure with stage "budget" (the fallback's ``reason`` names it; with
    no fallback, exit 3). ``keep``: where a failed W solve leaves its last good state."""
    from fem_sse.app.transport_case import solve_fem_plane
    from fem_sse.errors import ConvergenceError
    from fem_sse.spec.config import ConfigError
    from fem_sse.transport.budget import wall_budget

    failed = w_result = None
    try:
        # the W solve may run far longer than the fallback needs: its budget stops it, and
        # a budget that runs out is a failure ("budget" stage), never a converged run
        with wall_budget(config.solver.w_budget_s, comm):
            w_result = solve_fem_plane(config, comm, progress, keep)
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
    log.warning("the W formulation did not converge (%s); solving with the exponentially "
                "fitted scheme (solver.fallback = 'fem-eafe')", reason)
    try:
        summary, outputs = solve_eafe_case_2d(config, comm, progress)
    except (ConvergenceError, ConfigError) as second:
        if failed is None:
            w_result[0].update(Fallback.not_taken(second))
            return w_result
        failed.diagnosis.fallback = Fallback.failure(second)
        raise failed from second
    if stage == "adaptive loop" and not converged_in(summary):
        # neither converged: the default formulation's result, with the fallback's outcome
        w_result[0].update(Fallback.not_taken(
            f"not converged either ({Refinement.stop_reason_of(summary)})"))
        return w_result
    summary.update(Fallback(reason, stage).to_summary())
    return summary, outputs
