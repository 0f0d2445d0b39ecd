"""The transport step of a run: a case solved by the exact 1D solver, the W-FEM (adaptive,
checked against the exact solution in 1D, certified in 2D) or the 1D exponentially fitted
scheme, as (summary keys, writer inputs). The mechanics step and the writers are in
:mod:`.mechanics_step` and :mod:`.run_output`; :mod:`.run` puts them together."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.app.rows import fem_rows, profile_rows, segment_of
from fem_sse.spec.config import Config
from fem_sse.transport.results import InterfacePotential, Jump, Metrics, TransportResult

__all__ = ["exact_acceptance", "plane_current_keys", "solve_eafe_1d", "solve_exact_case",
           "solve_fem_1d", "solve_fem_line", "solve_fem_plane", "warn_uncertified"]

log = logging.getLogger(__name__)


def solve_exact_case(config: Config) -> tuple[dict, CaseOutputs]:
    """The exact 1D solve: (summary keys, outputs with the profile rows, the
    :class:`~fem_sse.transport.exact1d.ExactSolution` and its :class:`TransportResult`).
    SolveError: no steady state."""
    from fem_sse.transport.exact1d import solve_exact

    start = time.perf_counter()
    sol = solve_exact(config)
    jumps = tuple(Jump(x, config.layers[sol.segments[i].layer].material,
                       "up" if d > 0 else "down")
                  for x, i, d in sol.crossings(lambda seg: seg.material.B))
    edges = sol.x_edges()
    interfaces = tuple(
        InterfacePotential(xi, float(sol.mu_edges[int(np.argmin(np.abs(edges - xi)))]))
        for xi in config.interfaces)
    L = config.thickness  # noqa: N806
    result = TransportResult(
        sol.t_li, sol.one_minus_t_li, sol.j_ionic, sol.j_electronic, sol.ionic_potential_drop,
        interfaces, jumps, overshoot_fraction=sol.length_where(above=config.cell.mu_anode) / L,
        undershoot_fraction=sol.length_where(below=config.cell.mu_cathode) / L,
        wall_time_s=time.perf_counter() - start)
    summary = result.to_summary({"shooting_evaluations": sol.evaluations})
    x, mu = sol.profile()
    rows = profile_rows(config, x, mu, segment_of(config, x), sol.eta_i(x))
    return summary, CaseOutputs(rows=rows, exact=sol, result=result)


def _solve_w(config: Config, comm, progress, start: float, exact=None, keep=None):
    """The adaptive W-FEM solve: (its outcome, its :class:`TransportResult` with the wall time
    since ``start``); ``exact``: the exact case (1D: the start and the acceptance test of the
    loop), None in 2D. A ConvergenceError gets the discretisation's explanation of the failure
    (its last good state goes to ``keep``)."""
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.adapt import solve_adaptive
    from fem_sse.transport.discretisation import for_dimension

    try:
        out = solve_adaptive(config, comm, progress=progress,
                             accept=exact_acceptance(config, exact[1].result) if exact
                             else None,
                             exact=exact[1].exact if exact else None, keep=keep)
    except ConvergenceError as exc:
        for_dimension(config.dim).explain_failure(exc, config)
        raise
    problem = out.problem
    cells = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_global
    return out, replace(out.final(problem.dofs, cells), wall_time_s=time.perf_counter() - start)


def solve_fem_line(config: Config, comm, progress, keep=None) -> tuple[dict, CaseOutputs]:
    """The adaptive 1D W-FEM solve; the exact solution, solved once, is its start, the
    acceptance test of the adaptive loop and the final check (SolveError here: no steady
    state, exit 4)."""
    start = time.perf_counter()
    exact = solve_exact_case(config)
    out, result = _solve_w(config, comm, progress, start, exact, keep)
    rows = (fem_rows(config, out.profile, out.result.ionic_potential_drop)
            if comm.rank == 0 else None)
    return result.to_summary(out.refinement().to_summary()), CaseOutputs(
        rows=rows, problem=out.problem, profile=out.profile, result=result,
        exact_result=exact[1].result)


def solve_fem_plane(config: Config, comm, progress, keep=None) -> tuple[dict, CaseOutputs]:
    """The adaptive 2D W-FEM solve with its certificate (:mod:`fem_sse.transport.certify2d`:
    a state that fails it is not converged), on a mesh with GB interfaces the EAFE scheme's
    check on the final mesh (:mod:`fem_sse.transport.crosscheck`) and, with
    ``solver.refined_check``, the W solve on the final mesh refined everywhere
    (:mod:`fem_sse.transport.refined_check`)."""
    from fem_sse.transport.budget import suspended
    from fem_sse.transport.certify2d import certificate
    from fem_sse.transport.crosscheck import check_with_eafe, has_gb_interfaces
    from fem_sse.transport.refined_check import check_refined_w

    start = time.perf_counter()
    out, result = _solve_w(config, comm, progress, start, keep=keep)
    solve, metrics, problem = out.result, out.metrics, out.problem
    cert = certificate(problem, solve, metrics.jumps)
    if cert.certified and out.converged and has_gb_interfaces(problem.smesh):
        cert = cert.with_check(check_with_eafe(config, problem.smesh, solve.one_minus_t_li,
                                                   progress))
    if cert.certified and out.converged and config.solver.refined_check:
        with suspended():  # not a part of the W solve's budget: the check has its own
            cert = cert.with_check(check_refined_w(config, problem, solve.one_minus_t_li,
                                                   progress))
    result = replace(result, wall_time_s=time.perf_counter() - start)
    warn_uncertified(cert, comm)
    summary = {**result.to_summary(out.refinement(cert.certified).to_summary()),
               **cert.to_summary(),
               **plane_current_keys(solve, problem, metrics,
                                    "DG1" if problem.ionic_dg else "P1"),
               "gb_conductance_S_per_m2": problem.gb_conductance}
    return summary, CaseOutputs(front_lines=metrics.fronts, problem=problem)


def warn_uncertified(cert, comm) -> None:
    """A warning (rank 0) for a final state its certificate rejects."""
    if not cert.certified and comm.rank == 0:
        log.warning("NOT converged: %s", "; ".join(cert.reasons))


def plane_current_keys(solve, problem, metrics: Metrics, ionic_space: str) -> dict:
    """2D summary keys of the currents and the regions (W-FEM and EAFE): the leakage, the
    cathode and anode contact lengths and the current density at the contact, the region
    statistics, the name of the fronts file, the ionic field's space and the junctions the
    first mesh was graded towards (:mod:`fem_sse.geometry.junctions`: count, smallest
    exponent, halvings; none: null)."""
    # per unit depth: currents (A/m) over the cathode length give A/m^2 (the nominal
    # current density); over the anode contact length, the density at the contact
    return {"electronic_leakage_A_per_m2": solve.j_electronic,
            "cathode_length_m": problem.area, "anode_contact_length_m": problem.anode_area,
            "j_total_at_anode_contact_A_per_m2": (solve.j_ionic + solve.j_electronic)
            * problem.area / problem.anode_area,
            "region_stats": metrics.region_summary(), "fronts": "fronts.json",
            "ionic_space": ionic_space,
            "singular_junctions": problem.smesh.info.get("singular_junctions")}


def solve_eafe_1d(config: Config, comm, progress) -> tuple[dict, CaseOutputs]:
    """1D exponentially fitted scheme (:mod:`fem_sse.transport.eafe_solve`), checked against the
    exact solution like the W-FEM (exit 3 beyond the tolerances)."""
    from fem_sse.app.eafe_case import solve_eafe_case
    from fem_sse.transport.certify1d import exact_check

    exact = solve_exact_case(config)[1]  # SolveError: no steady state (exit 4)
    summary, outputs = solve_eafe_case(config, comm, exact.result, exact.exact, progress)
    summary.update(exact_check(outputs.result, exact.result, config.thickness,
                               config.solver.tolerance).to_summary())
    return summary, outputs


def solve_fem_1d(config: Config, comm, progress, keep=None) -> tuple[dict, CaseOutputs]:
    """The 1D W formulation, checked against the exact solution; where it does not converge
    (refused beyond its precision, failed, stopped by its budget ``solver.w_budget_s``, 20 s
    by default in 1D, or caught by the exact check) the exponentially fitted scheme solves
    the case, certified by the same check (:func:`fem_sse.app.fallback.solve_with_fallback`,
    as in 2D). ``keep``: where a failed W solve leaves its last good state."""
    from fem_sse.app.fallback import solve_with_fallback

    def w_solve() -> tuple[dict, CaseOutputs]:
        summary, outputs = solve_fem_line(config, comm, progress, keep)
        summary.update(_check_fem_1d(config, outputs, keep).to_summary())
        return summary, outputs

    return solve_with_fallback(config, comm, w_solve,
                               lambda: solve_eafe_1d(config, comm, progress))


def exact_acceptance(config: Config, exact: TransportResult):
    """1D: a callable telling the adaptive loop whether a mesh's result passes the exact check
    against ``exact`` (the exact solver's result): refinement goes on until it does, or a cap
    stops it."""
    from fem_sse.transport.certify1d import compare, tolerances

    limits = tolerances(config.solver.tolerance)

    def accept(current: TransportResult) -> bool:
        return not compare(current, exact, config.thickness).beyond(limits)
    return accept


def _check_fem_1d(config: Config, outputs: CaseOutputs, keep=None):
    """The exact check of a 1D FEM result (:mod:`fem_sse.transport.certify1d`); beyond the
    tolerances a ConvergenceError, the problem kept in ``keep`` (its state is written as the
    last good state)."""
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.certify1d import exact_check

    result = outputs.result
    try:
        return exact_check(result, outputs.exact_result, config.thickness,
                           config.solver.tolerance)
    except ConvergenceError as exc:
        from fem_sse.transport.start1d import explain_failure

        explain_failure(exc, config)
        if keep is not None:
            keep.keep(exc, outputs.problem)
        exc.diagnosis.update(phi_V=result.phi_V, cells=result.cells, dofs=result.dofs,
                             one_minus_t_li_fem=result.one_minus_t_li)
        raise
