"""The ``fem-eafe`` run of a case: the exponentially fitted solve (1D:
:mod:`fem_sse.transport.eafe_solve`; 2D: :mod:`fem_sse.transport.eafe2d_solve`) turned into the
summary keys of the W-FEM's runs."""

from __future__ import annotations

import logging
import time

from fem_sse.spec.config import Config
from fem_sse.transport.eafe_solve import solve_adaptive_eafe
from fem_sse.transport.results import Metrics, TransportSolve

__all__ = ["solve_eafe_case", "solve_eafe_case_2d", "solve_fem_2d_with_fallback"]

log = logging.getLogger(__name__)


def solve_eafe_case(config: Config, comm, exact_summary: dict, exact, progress=None):
    """The 1D EAFE run: (summary, extras) with the keys of the W-FEM's summary."""
    from fem_sse.app.rows import fem_rows
    from fem_sse.app.transport_case import adaptive_summary, exact_acceptance

    start = time.perf_counter()
    out = solve_adaptive_eafe(config, comm, exact, exact_acceptance(config, exact_summary),
                              progress)
    problem = out.problem
    summary = {
        **adaptive_summary(out, problem.imap.size_global,
                           problem.mesh.topology.index_map(1).size_global),
        "scheme": "EAFE (exponentially fitted, mu at P1 nodes)",
        "wall_time_s": time.perf_counter() - start,
    }
    rows = (fem_rows(config, out.profile, out.result.ionic_potential_drop)
            if comm.rank == 0 else None)
    problem.destroy()  # the PETSc solver only: mu, w, Phi and the mesh stay for the field files
    return summary, {"rows": rows, "profile": out.profile, "exact_summary": exact_summary,
                     "problem": problem}


def solve_eafe_case_2d(config: Config, comm, progress=None):
    """The 2D EAFE run: (summary, extras) with the keys of the W-FEM's 2D summary (certificate,
    region statistics, fronts); ``extras["view"]`` is the state as the metrics see it. On a
    mesh with GB interfaces, the W formulation checks the final state on the same mesh
    (:mod:`fem_sse.transport.crosscheck`).

    Raises:
        ConfigError: a mesh the scheme does not support (a crack line not cut open).
        ConvergenceError: no mesh converged (exit 3).
    """
    from fem_sse.app.transport_case import adaptive_summary, plane_current_keys
    from fem_sse.geometry import build_mesh
    from fem_sse.spec.config import ConfigError
    from fem_sse.transport.crosscheck import apply_check, check_with_w
    from fem_sse.transport.eafe2d import unsupported
    from fem_sse.transport.eafe2d_solve import certificate_2d, solve_adaptive_eafe_2d
    from fem_sse.transport.exact1d import SolveError, solve_exact

    start = time.perf_counter()
    smesh = build_mesh(config, comm, cut_cracks=True)  # a crack's two lips: own nodes
    reason = unsupported(config, smesh)
    if reason:
        raise ConfigError("solver.kind", reason)
    try:  # the start (column-mapped); the 2D geometry may have a steady state without it
        sol = solve_exact(config.stack_1d())
    except SolveError:
        sol = None
    out = solve_adaptive_eafe_2d(config, comm, sol, progress, smesh)
    res, problem = out.result, out.problem  # res: the solve with its balance and view
    metrics = Metrics.from_metrics(out.metrics)
    cells = problem.mesh.topology.index_map(2).size_global
    summary = {**adaptive_summary(out, problem.imap.size_global, cells),
               "scheme": "EAFE (exponentially fitted, mu at P1 nodes)"}
    summary.update(certificate_2d(problem, res, out.metrics["jumps"], res["balance"]))
    summary["front_coverage"] = [j.coverage for j in metrics.jumps]
    if summary["not_converged_because"]:
        summary["converged"] = False
        if comm.rank == 0:
            log.warning("NOT converged: %s", "; ".join(summary["not_converged_because"]))
    summary.update({**plane_current_keys(TransportSolve.from_mapping(res), problem, metrics),
                    "ionic_space": "P1" if problem.w_dg is None else "DG1 (GB interfaces)"})
    if summary["converged"] and problem.w_dg is not None:
        apply_check(summary, check_with_w(config, problem.smesh, res["one_minus_t_li"]), comm)
    summary["wall_time_s"] = time.perf_counter() - start
    problem.destroy()  # the PETSc solver only: the state stays for the field files
    return summary, {"fronts": metrics.fronts, "problem": problem, "view": res["view"]}


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
        if config.solver.fallback == "none" or (w_summary.get("converged", True)
                                                 and not w_summary.get("not_converged_because")):
            return w_result
        if w_summary.get("not_converged_because"):
            reason, stage = "; ".join(w_summary["not_converged_because"]), "certificate"
        else:  # stopped before its tolerance (cell cap, a refinement step that failed)
            reason = ("its adaptive loop stopped before the tolerance "
                      f"({w_summary['stop_reason']})")
            stage = "adaptive loop"
    except ConvergenceError as exc:
        if config.solver.fallback == "none":
            raise
        failed, reason, stage = exc, " ".join(str(exc).split()), exc.diagnosis.get("stage")
    log.warning("the W formulation did not converge (%s); solving with the exponentially "
                "fitted scheme (solver.fallback = 'fem-eafe')", reason)
    try:
        summary, extras = solve_eafe_case_2d(config, comm, progress)
    except (ConvergenceError, ConfigError) as second:
        error = {"to": "fem-eafe", "error": " ".join(str(second).split())}
        if failed is None:
            w_result[0]["fallback_failed"] = error
            return w_result
        failed.diagnosis["fallback"] = error
        raise failed from second
    if stage == "adaptive loop" and not summary.get("converged"):
        # neither converged: the default formulation's result, with the fallback's outcome
        w_result[0]["fallback_failed"] = {
            "to": "fem-eafe", "error": f"not converged either ({summary.get('stop_reason')})"}
        return w_result
    summary["fallback"] = {"from": "fem", "to": "fem-eafe", "reason": reason, "stage": stage}
    return summary, extras
