"""The transport step of a run: a case solved by the exact 1D solver, the W-FEM (adaptive,
checked against the exact solution in 1D, certified in 2D) or the 1D exponentially fitted
scheme, as (summary keys, writer inputs). The mechanics step and the writers are in
:mod:`.mechanics_step` and :mod:`.run_output`; :mod:`.run` puts them together."""

from __future__ import annotations

import logging
import time

import numpy as np

from fem_sse.app.rows import fem_rows, profile_rows, segment_of
from fem_sse.spec.config import Config
from fem_sse.transport.results import (
    InterfacePotential,
    Jump,
    Metrics,
    TransportResult,
    TransportSolve,
)

__all__ = ["adaptive_summary", "exact_acceptance", "plane_current_keys", "solve_eafe_1d",
           "solve_exact_case", "solve_fem_1d", "solve_fem_line", "solve_fem_plane"]

log = logging.getLogger(__name__)


def solve_exact_case(config: Config) -> tuple[dict, dict]:
    """The exact 1D solve: (summary keys, {"rows", "exact"}). SolveError: no steady state."""
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
    return summary, {"rows": rows, "exact": sol}


def _solve_w(config: Config, comm, progress, start: float, exact=None, keep=None):
    """The adaptive W-FEM solve: (its outcome, the summary keys of the loop); ``exact``: the
    exact case (1D: the start and the acceptance test of the loop), None in 2D. A
    ConvergenceError gets the discretisation's explanation of the failure (its last good
    state goes to ``keep``)."""
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.adapt import solve_adaptive
    from fem_sse.transport.discretisation import for_dimension

    try:
        out = solve_adaptive(config, comm, progress=progress,
                             accept=exact_acceptance(config, exact[0]) if exact else None,
                             exact=exact[1]["exact"] if exact else None, keep=keep)
    except ConvergenceError as exc:
        for_dimension(config.dim).explain_failure(exc, config)
        raise
    problem = out.problem
    cells = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_global
    return out, {**adaptive_summary(out, problem.dofs, cells),
                 "wall_time_s": time.perf_counter() - start}


def solve_fem_line(config: Config, comm, progress, keep=None) -> tuple[dict, dict]:
    """The adaptive 1D W-FEM solve; the exact solution, solved once, is its start, the
    acceptance test of the adaptive loop and the final check (SolveError here: no steady
    state, exit 4)."""
    start = time.perf_counter()
    exact = solve_exact_case(config)
    out, summary = _solve_w(config, comm, progress, start, exact, keep)
    rows = (fem_rows(config, out.profile, out.result.ionic_potential_drop)
            if comm.rank == 0 else None)
    return summary, {"rows": rows, "problem": out.problem, "profile": out.profile,
                     "exact_summary": exact[0]}


def solve_fem_plane(config: Config, comm, progress, keep=None) -> tuple[dict, dict]:
    """The adaptive 2D W-FEM solve with its certificate (:func:`_certify_2d`) and, on a mesh
    with GB interfaces, the EAFE scheme's check on the final mesh
    (:mod:`fem_sse.transport.crosscheck`)."""
    from fem_sse.transport.crosscheck import apply_check, check_with_eafe, has_gb_interfaces

    start = time.perf_counter()
    out, summary = _solve_w(config, comm, progress, start, keep=keep)
    solve, metrics, problem = out.result, Metrics.from_metrics(out.metrics), out.problem
    summary.update(_certify_2d(problem, solve, out.metrics["jumps"], metrics))
    summary.update({**plane_current_keys(solve, problem, metrics),
                    "ionic_space": "DG1" if problem.ionic_dg else "P1",
                    "gb_conductance_S_per_m2": problem.gb_conductance})
    if summary["converged"] and has_gb_interfaces(problem.smesh):
        apply_check(summary, check_with_eafe(config, problem.smesh, solve.one_minus_t_li), comm)
        summary["wall_time_s"] = time.perf_counter() - start
    return summary, {"fronts": metrics.fronts, "problem": problem}


def plane_current_keys(solve, problem, metrics: Metrics) -> dict:
    """2D summary keys of the currents and the regions (W-FEM and EAFE): the leakage, the
    cathode and anode contact lengths and the current density at the contact, the region
    statistics and the name of the fronts file."""
    # per unit depth: currents (A/m) over the cathode length give A/m^2 (the nominal
    # current density); over the anode contact length, the density at the contact
    return {"electronic_leakage_A_per_m2": solve.j_electronic,
            "cathode_length_m": problem.area, "anode_contact_length_m": problem.anode_area,
            "j_total_at_anode_contact_A_per_m2": (solve.j_ionic + solve.j_electronic)
            * problem.area / problem.anode_area,
            "region_stats": metrics.region_stats, "fronts": "fronts.json"}


def adaptive_summary(out, dofs: int, cells: int) -> dict:
    """The summary keys of an adaptive transport run (W-FEM or EAFE): t_Li, currents (A/m^2),
    Phi (V), jumps, interface potentials (eV), mesh size and how the loop stopped."""
    result = TransportResult.of(TransportSolve.from_mapping(out.result),
                                Metrics.from_metrics(out.metrics), dofs, cells,
                                out.newton_iterations)
    return result.to_summary({
        "refinement_steps": sum(1 for h in out.history if "cells" in h) - 1,
        "refinement_history": out.history,
        "converged": out.converged, "stop_reason": out.stop_reason,
        "last_change": out.last_change})


def solve_eafe_1d(config: Config, comm, progress) -> tuple[dict, dict]:
    """1D exponentially fitted scheme (:mod:`fem_sse.transport.eafe_solve`), checked against the
    exact solution like the W-FEM (exit 3 beyond the tolerances)."""
    from fem_sse.app.eafe_case import solve_eafe_case
    from fem_sse.transport.certify1d import exact_check

    exact = solve_exact_case(config)  # SolveError: no steady state (exit 4)
    summary, extras = solve_eafe_case(config, comm, exact[0], exact[1]["exact"], progress)
    summary["exact_check"] = exact_check(summary, exact[0], config.thickness,
                                         config.solver.tolerance)
    return summary, extras


def solve_fem_1d(config: Config, comm, progress, keep=None) -> tuple[dict, dict]:
    """The 1D W formulation, checked against the exact solution; where it does not converge
    (refused beyond its precision, failed, or caught by the exact check) the exponentially
    fitted scheme solves the case (``solver.fallback``), certified by the same check. The
    summary's ``fallback`` block says so; when both fail, the W formulation's error is raised
    with the fallback's message in its diagnosis (and its last good state in ``keep``)."""
    from fem_sse.errors import ConvergenceError

    try:
        summary, extras = solve_fem_line(config, comm, progress, keep)
        summary["exact_check"] = _check_fem_1d(config, summary, extras, keep)
        return summary, extras
    except ConvergenceError as exc:
        if config.solver.fallback == "none":
            raise
        failed = exc
    reason = " ".join(str(failed).split())
    log.warning("the W formulation did not converge (%s); solving with the exponentially "
                "fitted scheme (solver.fallback = 'fem-eafe')", reason)
    try:
        summary, extras = solve_eafe_1d(config, comm, progress)
    except ConvergenceError as second:
        failed.diagnosis["fallback"] = {"to": "fem-eafe", "error": " ".join(str(second).split())}
        raise failed from second
    summary["fallback"] = {"from": "fem", "to": "fem-eafe", "reason": reason,
                           "stage": failed.diagnosis.get("stage")}
    return summary, extras


def _certify_2d(problem, solve, jumps: list, metrics: Metrics) -> dict:
    """The checks of :mod:`fem_sse.transport.certify2d` (``jumps``: the metrics' entries) and
    the front coverage; a state that fails them is not converged (``not_converged_because``),
    with a warning."""
    from fem_sse.transport.certify2d import certificate

    keys = certificate(problem, solve, jumps)
    keys["front_coverage"] = [j.coverage for j in metrics.jumps]
    if keys["not_converged_because"]:
        keys["converged"] = False
        if problem.comm.rank == 0:
            log.warning("NOT converged: %s", "; ".join(keys["not_converged_because"]))
    return keys


def exact_acceptance(config: Config, exact: dict):
    """1D: a callable telling the adaptive loop whether a mesh's result passes the exact check
    against ``exact`` (the exact solver's summary): refinement goes on until it does, or a cap
    stops it."""
    from fem_sse.transport.certify1d import beyond, compare, tolerances

    limits = tolerances(config.solver.tolerance)

    def accept(current: dict) -> bool:
        return not beyond(compare(current, exact, config.thickness), limits)
    return accept


def _check_fem_1d(config: Config, summary: dict, extras: dict, keep=None) -> dict:
    """The ``exact_check`` block of a 1D FEM summary (:mod:`fem_sse.transport.certify1d`);
    beyond the tolerances a ConvergenceError, the problem kept in ``keep`` (its state is
    written as the last good state)."""
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.certify1d import exact_check

    exact = extras["exact_summary"]
    try:
        return exact_check(summary, exact, config.thickness, config.solver.tolerance)
    except ConvergenceError as exc:
        from fem_sse.transport.start1d import explain_failure

        explain_failure(exc, config)
        if keep is not None:
            keep.keep(exc, extras.get("problem"))
        exc.diagnosis.update(phi_V=summary["ionic_potential_drop_V"], cells=summary["cells"],
                             dofs=summary["dofs"], one_minus_t_li_fem=summary["one_minus_t_li"])
        raise
