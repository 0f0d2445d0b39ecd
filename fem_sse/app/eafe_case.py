"""The ``fem-eafe`` run of a case: the exponentially fitted solve (1D:
:mod:`fem_sse.transport.eafe_solve`; 2D: :mod:`fem_sse.transport.eafe2d_solve`) turned into the
summary keys of the W-FEM's runs."""

from __future__ import annotations

import time
from dataclasses import replace

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.spec.config import Config
from fem_sse.transport.eafe_solve import solve_adaptive_eafe
from fem_sse.transport.results import TransportResult

__all__ = ["solve_eafe_case", "solve_eafe_case_2d", "solve_fem_2d_with_fallback"]


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
    (:mod:`fem_sse.transport.crosscheck`); with ``solver.refined_check``, the scheme solves
    once more on the final mesh refined everywhere (:mod:`fem_sse.transport.refined_check`).

    Raises:
        ConfigError: a mesh the scheme does not support (a crack line not cut open).
        ConvergenceError: no mesh converged (exit 3).
    """
    from fem_sse.app.transport_case import plane_current_keys, warn_uncertified
    from fem_sse.transport.discretisation import Plane2D
    from fem_sse.spec.config import ConfigError
    from fem_sse.transport.crosscheck import check_with_w
    from fem_sse.transport.eafe2d import unsupported
    from fem_sse.transport.eafe2d_gb import averaged_state
    from fem_sse.transport.eafe2d_solve import certificate_2d, solve_adaptive_eafe_2d
    from fem_sse.transport.refined_check import check_refined_eafe

    start = time.perf_counter()
    # a crack's two lips: own nodes
    smesh = Plane2D().first_mesh(config, comm, None, check=False, cut_cracks=True)
    reason = unsupported(config, smesh)
    if reason:
        raise ConfigError("solver.kind", reason)
    sol = averaged_state(config)
    out = solve_adaptive_eafe_2d(config, comm, sol, progress, smesh)
    solve, metrics, problem = out.result, out.metrics, out.problem
    cells = problem.mesh.topology.index_map(2).size_global
    cert = certificate_2d(problem, solve, metrics.jumps, out.eafe_state.balance)
    if cert.certified and out.converged and problem.w_dg is not None:
        cert = cert.with_check(check_with_w(config, problem.smesh, solve.one_minus_t_li,
                                                progress))
    if cert.certified and out.converged and config.solver.refined_check:
        cert = cert.with_check(check_refined_eafe(config, problem, out.eafe_state.view, sol,
                                                  solve.one_minus_t_li, progress))
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
    """A default 2D ``fem`` run: the W formulation under its budget ``solver.w_budget_s``;
    where it is refused (precision limit), fails, runs out of its budget, ends on a state its
    certificate rejects or stops before its tolerance, the exponentially fitted scheme solves
    the case (crack lines are cut open, GB interfaces keep their conductance):
    :func:`fem_sse.app.fallback.solve_with_fallback`, as in 1D. ``keep``: where a failed W
    solve leaves its last good state."""
    from fem_sse.app.fallback import solve_with_fallback
    from fem_sse.app.transport_case import solve_fem_plane

    return solve_with_fallback(config, comm,
                               lambda: solve_fem_plane(config, comm, progress, keep),
                               lambda: solve_eafe_case_2d(config, comm, progress))
