"""One run of a case: solve (FEM or exact), then write summary, profile and fields."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from fem_sse import __version__
from fem_sse.spec.config import Config
from fem_sse.io.checkpoint import write_checkpoint
from fem_sse.materials.conductivity import mu_from_kirchhoff, sigma_eh
from fem_sse.io.outputs import (
    MAP_CELL_CAP,
    output_directory,
    plot_mu_map,
    plot_profile,
    write_fields,
    write_fronts,
    write_json,
    write_profile_csv,
)
from fem_sse.progress import activity
from fem_sse.transport.results import InterfacePotential, Jump, TransportResult

__all__ = ["run_case", "solve_case"]

log = logging.getLogger(__name__)


def _dolfinx_version() -> str | None:
    try:
        import dolfinx
    except ImportError:
        return None
    return dolfinx.__version__


def _segment_table(config: Config) -> dict[str, np.ndarray]:
    """A (S/m), B (eV) and layer material name of every segment, for indexing by segment."""
    segments = config.segments()
    return {"A": np.array([s.material.A for s in segments]),
            "B": np.array([s.material.B for s in segments]),
            "layer": np.array([config.layers[s.layer].material for s in segments], dtype=object)}


def _profile_rows(config: Config, x: np.ndarray, mu: np.ndarray, segment: np.ndarray,
                  eta_i: np.ndarray) -> dict:
    table = _segment_table(config)
    A, B = table["A"][segment], table["B"][segment]  # noqa: N806
    return {"x_m": x, "x_over_L": x / config.thickness, "mu_Li0_eV": mu, "eta_i_eV": eta_i,
            "eta_e_eV": mu - eta_i, "sigma_eh_S_per_m": sigma_eh(mu, A, B, config.cell.kT),
            "layer": table["layer"][segment].tolist()}


def _segment_of(config: Config, x: np.ndarray) -> np.ndarray:
    edges = np.array([s.x0 for s in config.segments()])
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 1)


def _solve_exact(config: Config) -> tuple[dict, dict]:
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
    rows = _profile_rows(config, x, mu, _segment_of(config, x), sol.eta_i(x))
    return summary, {"rows": rows, "exact": sol}


def _solve_fem(config: Config, comm, progress) -> tuple[dict, dict]:
    from fem_sse.transport.adapt import solve_adaptive
    from fem_sse.errors import ConvergenceError

    start = time.perf_counter()
    # 1D: the exact solution, solved once, is the start, the acceptance test of the adaptive
    # loop and the final check (SolveError here: no steady state, exit 4)
    exact = _solve_exact(config) if config.dim == 1 else None
    try:
        out = solve_adaptive(config, comm, progress=progress,
                             accept=_exact_acceptance(config, exact[0]) if exact else None,
                             exact=exact[1]["exact"] if exact else None)
    except ConvergenceError as exc:
        if config.dim == 1:
            from fem_sse.transport.start1d import explain_failure

            explain_failure(exc, config)
        else:
            from fem_sse.transport.precision2d import explain_failure_2d

            explain_failure_2d(exc, config)
        raise
    res, met = out.result, out.metrics
    problem = out.problem
    cells = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_global
    summary = {**adaptive_summary(out, problem.dofs, cells),
               "wall_time_s": time.perf_counter() - start}
    if config.dim == 2:
        summary.update(_certify_2d(problem, res, met))
        # per unit depth: currents (A/m) over the cathode length give A/m^2 (the nominal
        # current density); over the anode contact length, the density at the contact
        summary.update({
            "electronic_leakage_A_per_m2": res["j_electronic"],
            "cathode_length_m": problem.area, "anode_contact_length_m": problem.anode_area,
            "j_total_at_anode_contact_A_per_m2": (res["j_ionic"] + res["j_electronic"])
            * problem.area / problem.anode_area,
            "region_stats": met["region_stats"], "fronts": "fronts.json",
            "ionic_space": "DG1" if problem.ionic_dg else "P1",
            "gb_conductance_S_per_m2": problem.gb_conductance})
        return summary, {"fronts": met["fronts"], "problem": problem}
    rows = _fem_rows(config, out.profile, res["ionic_potential_drop"]) if comm.rank == 0 else None
    return summary, {"rows": rows, "problem": out.problem, "profile": out.profile,
                     "exact_summary": exact[0]}


def adaptive_summary(out, dofs: int, cells: int) -> dict:
    """The summary keys of an adaptive transport run (W-FEM or EAFE): t_Li, currents (A/m^2),
    Phi (V), jumps, interface potentials (eV), mesh size and how the loop stopped."""
    res, met = out.result, out.metrics
    result = TransportResult(
        res["t_li"], res["one_minus_t_li"], res["j_ionic"], res["j_electronic"],
        res["ionic_potential_drop"],
        tuple(InterfacePotential.from_metrics(m) for m in met["mu_interfaces"]),
        tuple(Jump.from_metrics(j) for j in met["jumps"]), met["overshoot_fraction"],
        met["undershoot_fraction"], dofs, cells, out.newton_iterations)
    return result.to_summary({
        "refinement_steps": sum(1 for h in out.history if "cells" in h) - 1,
        "refinement_history": out.history,
        "converged": out.converged, "stop_reason": out.stop_reason,
        "last_change": out.last_change})


def _solve_eafe(config: Config, comm, progress) -> tuple[dict, dict]:
    """1D exponentially fitted scheme (:mod:`fem_sse.transport.eafe_solve`), checked against the
    exact solution like the W-FEM (exit 3 beyond the tolerances)."""
    from fem_sse.transport.certify1d import exact_check
    from fem_sse.app.eafe_case import solve_eafe_case

    exact = _solve_exact(config)  # SolveError: no steady state (exit 4)
    summary, extras = solve_eafe_case(config, comm, exact[0], exact[1]["exact"], progress)
    summary["exact_check"] = exact_check(summary, exact[0], config.thickness,
                                         config.solver.tolerance)
    return summary, extras


def _solve_fem_1d(config: Config, comm, progress) -> tuple[dict, dict]:
    """The 1D W formulation, checked against the exact solution; where it does not converge
    (refused beyond its precision, failed, or caught by the exact check) the exponentially
    fitted scheme solves the case (``solver.fallback``), certified by the same check. The
    summary's ``fallback`` block says so; when both fail, the W formulation's error is raised
    with the fallback's message in its diagnosis."""
    from fem_sse.errors import ConvergenceError

    try:
        summary, extras = _solve_fem(config, comm, progress)
        summary["exact_check"] = _check_fem_1d(config, summary, extras)
        return summary, extras
    except ConvergenceError as exc:
        if config.solver.fallback == "none":
            raise
        failed = exc
    reason = " ".join(str(failed).split())
    log.warning("the W formulation did not converge (%s); solving with the exponentially "
                "fitted scheme (solver.fallback = 'fem-eafe')", reason)
    try:
        summary, extras = _solve_eafe(config, comm, progress)
    except ConvergenceError as second:
        failed.diagnosis["fallback"] = {"to": "fem-eafe", "error": " ".join(str(second).split())}
        raise failed from second
    summary["fallback"] = {"from": "fem", "to": "fem-eafe", "reason": reason,
                           "stage": failed.diagnosis.get("stage")}
    return summary, extras


def _certify_2d(problem, result: dict, metrics: dict) -> dict:
    """The checks of :mod:`fem_sse.transport.certify2d` and the front coverage; a state that
    fails them is not converged (``not_converged_because``), with a warning."""
    from fem_sse.transport.certify2d import certificate

    keys = certificate(problem, result, metrics["jumps"])
    keys["front_coverage"] = [j["coverage"] for j in metrics["jumps"]]
    if keys["not_converged_because"]:
        keys["converged"] = False
        if problem.comm.rank == 0:
            log.warning("NOT converged: %s", "; ".join(keys["not_converged_because"]))
    return keys


def _exact_acceptance(config: Config, exact: dict):
    """1D: a callable telling the adaptive loop whether a mesh's result passes the exact check
    against ``exact`` (the exact solver's summary): refinement goes on until it does, or a cap
    stops it."""
    from fem_sse.transport.certify1d import beyond, compare, tolerances

    limits = tolerances(config.solver.tolerance)

    def accept(current: dict) -> bool:
        return not beyond(compare(current, exact, config.thickness), limits)
    return accept


def _check_fem_1d(config: Config, summary: dict, extras: dict) -> dict:
    """The ``exact_check`` block of a 1D FEM summary (:mod:`fem_sse.transport.certify1d`);
    beyond the tolerances a ConvergenceError carrying the problem (its state is written as the
    last good state)."""
    from fem_sse.transport.certify1d import exact_check
    from fem_sse.errors import ConvergenceError

    exact = extras["exact_summary"]
    try:
        return exact_check(summary, exact, config.thickness, config.solver.tolerance)
    except ConvergenceError as exc:
        from fem_sse.transport.start1d import explain_failure

        explain_failure(exc, config)
        exc.problem = extras.get("problem")
        exc.diagnosis.update(phi_V=summary["ionic_potential_drop_V"], cells=summary["cells"],
                             dofs=summary["dofs"], one_minus_t_li_fem=summary["one_minus_t_li"])
        raise


def _fem_rows(config: Config, profile, phi: float) -> dict:
    """Profile rows of a 1D FEM state (rank 0): ``profile`` from gather_profile, Phi (V)."""
    x, w, seg = _subsample(profile)
    table = _segment_table(config)
    mu = mu_from_kirchhoff(w, table["A"][seg], table["B"][seg], config.cell.kT)
    eta_i = phi * (1.0 - config.ionic_resistance(x) / config.ionic_resistance(config.thickness))
    return _profile_rows(config, x, mu, seg, eta_i)


def _subsample(profile, per_interval: int = 8):
    """W is linear between the nodes of a cell: sample it densely so that mu(W), which is not,
    shows the jumps sharply. Returns flat (x (m), W (A/m), segment) arrays."""
    t = np.linspace(0.0, 1.0, per_interval + 1)[:-1]
    x0, x1 = profile.x[:, :-1], profile.x[:, 1:]
    w0, w1 = profile.w[:, :-1], profile.w[:, 1:]
    xs = (x0[..., None] + (x1 - x0)[..., None] * t).reshape(len(x0), -1)
    ws = (w0[..., None] + (w1 - w0)[..., None] * t).reshape(len(w0), -1)
    xs = np.concatenate([xs, profile.x[:, -1:]], axis=1)
    ws = np.concatenate([ws, profile.w[:, -1:]], axis=1)
    seg = np.repeat(profile.segment, xs.shape[1])
    return xs.ravel(), ws.ravel(), seg


def _film_mechanics(config: Config, extras: dict, comm) -> dict:
    """Stresses of the laterally constrained film (closed form) added to the profile rows
    (rank 0) and the summary keys (every rank): docs/mechanics.md."""
    from fem_sse.mechanics import film
    from fem_sse.mechanics.reference import reference_summary

    rows, mech = extras["rows"], None
    if rows is not None:
        x = np.asarray(rows["x_m"])
        layer = film.row_layers(config, x, rows["layer"])
        columns = film.film_stress(config, config.mechanics, x, rows["mu_Li0_eV"], layer,
                                   samples=held_samples(config, extras))
        rows.update(columns)
        mech = {**film.film_summary(config, columns, x),
                "stress_free_reference": reference_summary(config, config.mechanics)}
    return _mechanics_keys(comm.bcast(mech, root=0))


def held_samples(config: Config, extras: dict) -> list:
    """The (layer, x (m), mu (eV)) pieces the held-faces sigma_xx integrates (rank 0), from the
    exact solution or the FEM state; kept in ``extras`` (the restart files save them, so that
    ``fem-sse mechanics`` integrates the same state)."""
    from fem_sse.mechanics import film

    if "held_samples" not in extras:
        extras["held_samples"] = list(
            film.exact_samples(extras["exact"]) if "exact" in extras
            else film.kirchhoff_samples(config, extras["profile"]))
    return extras["held_samples"]


def _mechanics_keys(mech: dict) -> dict:
    """The issue's summary keys (Pa, -, m), the crack-risk peak's distance to the nearest
    electrode (m) and the whole mechanics block."""
    keys = ("max_von_mises", "max_principal", "crack_risk_index", "crack_risk_location",
            "crack_risk_distance_to_electrode", "crack_risk_basis", "fracture_risk_index",
            "stress_free_reference")
    return {**{key: mech[key] for key in keys}, "mechanics": mech}


def _plane_mechanics(config: Config, extras: dict, comm) -> dict:
    """2D: the elastic solve on the converged transport mesh (refined at and fitted to the
    fronts) from the converged W (one-way coupling, docs/mechanics.md); the result goes to
    ``extras["mechanics"]``."""
    from fem_sse.mechanics import solve_mechanics

    problem = extras.get("view", extras["problem"])  # an EAFE state: its W in DG1
    result = solve_mechanics(problem.smesh, None, config, comm,
                             kirchhoff=problem.kirchhoff_function())
    extras["mechanics"] = result
    return _mechanics_keys(result.summary)


def solve_case(config: Config, comm, solver: str | None = None, progress=None) -> tuple[dict, dict]:
    """Solve ``config`` with ``solver`` ("fem", "fem-eafe" or "exact"; default from the config).

    Returns:
        (summary, extras): the summary dict (identical on all ranks) and writer inputs.
    """
    solver = solver or config.solver.kind
    if solver == "exact" and config.dim != 1:
        from fem_sse.spec.config import ConfigError

        raise ConfigError("solver.kind", "the exact solver is 1D (a closed form); use 'fem' for "
                          f"a {config.dim}D geometry")
    if solver == "exact":
        summary, extras = _solve_exact(config)
    elif solver == "fem-eafe" and config.dim == 1:
        summary, extras = _solve_eafe(config, comm, progress)
    elif solver == "fem-eafe":
        from fem_sse.app.eafe_case import solve_eafe_case_2d

        summary, extras = solve_eafe_case_2d(config, comm, progress)
    elif config.dim == 1:
        summary, extras = _solve_fem_1d(config, comm, progress)
        solver = summary.get("fallback", {}).get("to", solver)
    else:
        from fem_sse.app.eafe_case import solve_fem_2d_with_fallback

        summary, extras = solve_fem_2d_with_fallback(config, comm, progress)
        solver = summary.get("fallback", {}).get("to", solver)
    if config.mechanics is not None and config.dim == 1:
        summary.update(_film_mechanics(config, extras, comm))
    elif config.mechanics is not None:
        with activity("mechanics (front refinement, elastic solve)"):
            summary.update(_plane_mechanics(config, extras, comm))
    summary = {"case": config.name, "solver": solver, **summary,
               "mode": "galvanostatic" if config.cell.galvanostatic else "potentiostatic",
               "thickness_m": config.thickness, "converged": summary.get("converged", True),
               "dolfinx_version": _dolfinx_version(), "fem_sse_version": __version__,
               "ranks": comm.size}
    return summary, extras


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
            ``"converged": false`` (:func:`write_not_converged`); ``exc.outdir`` names it.
    """
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.exact1d import SolveError

    try:
        summary, extras = solve_case(config, comm, solver, progress)
    except (ConvergenceError, SolveError) as exc:
        write_not_converged(config, outdir, comm, exc, solver or config.solver.kind, overwrite)
        raise
    summary.update(extra or {})
    if config.dim == 1 and comm.rank == 0 and extras.get("rows") is not None:
        held_samples(config, extras)  # saved with the restart files
    with output_directory(outdir, comm, overwrite) as folder, activity(f"writing {outdir}"):
        # an EAFE 2D state is checkpointed through its W view (the W-FEM's DG1 layout)
        saved = {**extras, "problem": extras["view"]} if "view" in extras else extras
        if write_checkpoint(folder / "checkpoint", config, saved, summary, comm):
            summary["checkpoint"] = "checkpoint"  # restart files: fem-sse mechanics OUTDIR
        if config.dim == 2:
            _write_2d(folder, summary, extras, png)
            return summary
        files = ["summary.json", "profile.csv"] + (["profile.png"] if png else [])
        if "problem" in extras:
            files += write_fields(folder, extras["problem"])
        summary["files"] = files
        if comm.rank == 0:
            rows = extras["rows"]
            write_profile_csv(folder / "profile.csv", rows)
            if png:
                order = np.argsort(rows["x_m"], kind="stable")
                note = plot_profile(folder / "profile.png", config, rows["x_m"][order],
                                    rows["mu_Li0_eV"][order], summary["jumps"],
                                    f"{config.name}: t_Li = {summary['t_li']:.6f} "
                                    f"({summary['solver']})")
                if note is not None:  # a figure never costs the results: noted, not raised
                    files.remove("profile.png")
                    summary["profile_png"] = note
            write_json(folder / "summary.json", summary)
    return summary


def _write_2d(folder: Path, summary: dict, extras: dict, png: bool = True) -> None:
    """2D outputs: fields (VTX/XDMF), fronts (JSON/CSV), mu_map.png (``png``), summary.json;
    with mechanics also mechanics.bp/.xdmf, tractions.csv and mechanics.png (``png``)."""
    problem = extras["problem"]
    files = ["summary.json"] + write_fields(folder, problem)
    title = (f"{summary['case']}: t_Li = {summary['t_li']:.6f}, "
             f"{summary['cells']} cells, {summary['ranks']} rank(s)")
    note = "skipped: png = False" if not png else plot_mu_map(
        folder / "mu_map.png", extras.get("view", problem), extras["fronts"], title)
    if note is None:
        files.append("mu_map.png")
    else:  # skipped or failed to draw (a warning): the results stand without the PNG
        summary["mu_map_png"] = note
    if "mechanics" in extras:
        from fem_sse.mechanics import write_mechanics

        mech_png = png and summary["cells"] <= MAP_CELL_CAP
        files += write_mechanics(folder, extras["mechanics"], png=mech_png)
        if not png:
            summary["mechanics_png"] = "skipped: png = False"
        elif not mech_png:
            summary["mechanics_png"] = f"skipped: more than {MAP_CELL_CAP} cells"
        elif "mechanics.png" not in files:
            summary["mechanics_png"] = "failed: the warning in the log says why"
    if problem.comm.rank == 0:
        files += write_fronts(folder, extras["fronts"])
        summary["files"] = files
        write_json(folder / "summary.json", summary)


def write_not_converged(config: Config, outdir: str | Path, comm, exc: Exception,
                        solver: str, overwrite: bool = True) -> None:
    """Write ``outdir`` (atomically) for a failed solve and set ``exc.outdir``.

    ``summary.json`` has ``"converged": false``, the error and its diagnosis (last residuals,
    continuation stage and fraction reached, where the residual concentrates); when the solver
    kept a last good state (``diagnosis["good_state"]``), its fields (and in 1D profile.csv)
    are written too. t_li and one_minus_t_li are null.
    """
    from fem_sse.transport.exact1d import SolveError

    diagnosis = dict(getattr(exc, "diagnosis", {}) or {})
    if isinstance(exc, SolveError):  # exit 4: the answer is that there is no steady state
        diagnosis["reason"] = str(exc)
    problem = getattr(exc, "problem", None)
    good = problem is not None and diagnosis.get("good_state", False)
    summary = {"case": config.name, "solver": solver, "converged": False,
               "error": str(exc), "diagnosis": diagnosis, **TransportResult.unknown_summary(),
               "state": "last good state (see diagnosis.stage)" if good else "none",
               "mode": "galvanostatic" if config.cell.galvanostatic else "potentiostatic",
               "thickness_m": config.thickness, "dolfinx_version": _dolfinx_version(),
               "fem_sse_version": __version__, "ranks": comm.size}
    if isinstance(exc, SolveError):
        summary["steady_state"] = False
    with output_directory(outdir, comm, overwrite) as folder:
        files = ["summary.json"]
        if good:
            files += write_fields(folder, problem)
            if config.dim == 1:
                from fem_sse.transport.adapt import gather_profile

                profile = gather_profile(problem)
                if comm.rank == 0:
                    write_profile_csv(folder / "profile.csv",
                                      _fem_rows(config, profile, problem.phi_V))
                files.append("profile.csv")
        summary["files"] = files
        if comm.rank == 0:
            write_json(folder / "summary.json", summary)
    exc.outdir = str(outdir)
