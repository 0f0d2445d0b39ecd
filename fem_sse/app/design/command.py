"""``fem-sse design``: maps, optimisation and drift tolerance of a case, written to one folder.

Everything is computed first (on rank 0; the exact solver is serial) and written atomically
afterwards, so a bad key or an error leaves no partial output.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fem_sse.spec.config import ConfigError, parse_config, read_toml
from fem_sse.app.design.maps import design_map
from fem_sse.app.design.metrics import METRICS, DesignOptions
from fem_sse.app.design.optimize import optimize, pareto_front
from fem_sse.app.design.space import Constraint, Evaluator, Objective, Variable, apply_values
from fem_sse.app.design.tolerance import drift_margins
from fem_sse.spec.dotted import get_dotted
from fem_sse.progress import Progress

__all__ = ["DesignRequest", "report_lines", "run_design"]

DEFAULT_OBJECTIVE = Objective("max_jump_distance_over_L")
MAP_PANELS = ("max_jump_distance_over_L", "one_minus_t_li", "overshoot_open_fraction",
              "tensile_over_strength_fraction")


@dataclass(frozen=True)
class DesignRequest:
    """What ``fem-sse design`` was asked to do (see :func:`run_design`).

    Attributes:
        variables: varied keys; objectives, constraints: as parsed.
        do_map, do_optimize: which parts to run.
        points: map resolution per key; seed, popsize, maxiter: the optimiser's.
        drift: largest electrode-potential drift of the tolerance analysis (eV).
        options: edge zone and susceptibility margin.
    """

    variables: tuple[Variable, ...]
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    do_map: bool = True
    do_optimize: bool = False
    points: int = 50
    seed: int = 1
    popsize: int = 15
    maxiter: int = 100
    drift: float = 0.2
    options: DesignOptions = field(default_factory=DesignOptions)


def base_values(base: dict, variables) -> list[float]:
    """The values the varied keys have in the base case (fractions from the thicknesses)."""
    values = []
    for var in variables:
        if var.key.endswith(".fraction"):
            layers = base["geometry"]["layers"]
            index = int(var.key.split("[")[1].split("]")[0])
            values.append(layers[index]["thickness"] / sum(t["thickness"] for t in layers))
        else:
            values.append(float(get_dotted(base, var.key)))
    return values


def _csv_cell(value):
    if isinstance(value, list):
        return ";".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return value


def write_records(path: Path, records: list[dict]) -> None:
    """One CSV row per design: the varied keys, status, the metrics (lists ';'-joined)."""
    if not records:
        return
    columns = list(records[0])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            writer.writerow([_csv_cell(record.get(c)) for c in columns])


def _scalars(record: dict) -> dict:
    return {k: v for k, v in record.items() if not isinstance(v, float) or np.isfinite(v)}


def _profile_png(path: Path, data: dict, title: str) -> str | None:
    from fem_sse.transport.exact1d import solve_exact
    from fem_sse.io.outputs import plot_profile

    config = parse_config(data, name=data.get("name", "design")).stack_1d()
    sol = solve_exact(config)
    x, mu = sol.profile()
    jumps = [xj for xj, _, _ in sol.crossings(lambda seg: seg.material.B)]
    return plot_profile(path, config, x, mu, jumps, f"{title}: t_Li = {sol.t_li:.4f}")


def compute_design(base: dict, name: str, request: DesignRequest) -> dict:
    """Run the requested parts; returns the summary and the artefacts to write (no I/O)."""
    parse_config(base, name=name)  # the base case must be valid on its own
    options = request.options
    objectives = list(request.objectives) or [DEFAULT_OBJECTIVE]
    evaluator = Evaluator(base, request.variables, options, name)
    base_record = evaluator(base_values(base, request.variables), keep=False)
    summary = {"case": name, "varied": [vars(v) for v in request.variables],
               "objectives": [o.label for o in objectives],
               "constraints": [c.label for c in request.constraints],
               "edge_zone": options.edge_zone, "margin_eV": options.margin_eV,
               "drift_eV": request.drift, "metric_units": {k: u for k, (u, _) in METRICS.items()},
               "base": _scalars(base_record)}
    out = {"summary": summary, "marks": {}}
    if base_record["status"] == "ok":
        summary["base_tolerance"] = drift_margins(base, options, max_drift=request.drift)
        out["marks"]["base"] = base_values(base, request.variables)
    if request.do_optimize:
        opt_eval = Evaluator(base, request.variables, options, name)
        with Progress("design optimisation (evaluations)") as bar:
            opt_eval.progress = bar.update
            result = optimize(opt_eval, objectives, request.constraints, seed=request.seed,
                              popsize=request.popsize, maxiter=request.maxiter)
        best = result.pop("best")
        best_values = [best[v.key] for v in request.variables]
        best_data = apply_values(base, dict(zip((v.key for v in request.variables),
                                                best_values, strict=True)))
        best_data["name"] = f"{name}_best"
        summary["optimization"] = {**result, "seed": request.seed, "popsize": request.popsize,
                                   "maxiter": request.maxiter, "best": _scalars(best)}
        if best["status"] == "ok":
            summary["best_tolerance"] = drift_margins(best_data, options,
                                                      max_drift=request.drift)
            out["marks"]["best"] = best_values
        out.update(best_data=best_data, evaluations=opt_eval.records)
        if len(objectives) >= 2:
            out["front"] = pareto_front(opt_eval.records, objectives, request.constraints)
            summary["optimization"]["pareto_points"] = len(out["front"])
    if request.do_map:
        with Progress("design map", request.points ** 2) as bar:
            evaluator.progress = bar.update
            result = design_map(evaluator, request.points)
        statuses = list(result["status"].ravel())
        summary["map"] = {"points": request.points, "evaluations": len(statuses),
                          "failed": sum(s != "ok" for s in statuses),
                          "no_steady_state": statuses.count("no steady state"),
                          "wall_time_s": result["wall_time_s"]}
        out["map"] = result
    out["objectives"] = objectives
    return out


def run_design(config_path: str | Path, outdir: str | Path, comm,
               request: DesignRequest, overwrite: bool = True) -> dict:
    """Compute (rank 0) and write ``summary.json`` plus, as requested, ``map.csv``/``map.png``,
    ``evaluations.csv``, ``best.toml``, ``best_profile.png``, ``pareto.csv``/``pareto.png``
    into ``outdir`` (replaced atomically; ``overwrite``: an earlier fem-sse result may be
    replaced, never a foreign folder). Returns the summary (on every rank)."""
    from fem_sse.io.outputs import output_directory, write_json

    path = Path(config_path)
    base = read_toml(path)
    name = base.get("name", path.stem)
    # the film stresses import DOLFINx/PETSc (mechanics.solve's default_spec), whose
    # initialisation is collective: every rank imports them here, before rank 0 works alone
    # (the package fem_sse.mechanics itself is light: its names are imported on first use)
    import fem_sse.mechanics.film
    import fem_sse.mechanics.solve  # noqa: F401

    start = time.perf_counter()
    out = compute_design(base, name, request) if comm.rank == 0 else None
    summary = None
    with output_directory(outdir, comm, overwrite, kind="design", inputs=(path,)) as folder:
        if comm.rank == 0:
            summary = out["summary"]
            summary["files"] = _write(folder, out, request, name)
            summary["wall_time_s"] = time.perf_counter() - start
            write_json(folder / "summary.json", summary)
    return comm.bcast(summary, root=0)


def report_lines(summary: dict) -> list[str]:
    """What ``fem-sse design`` prints of its ``summary``: the base design, the map and the
    optimum."""
    lines = [f"base: max jump distance {summary['base'].get('max_jump_distance_over_L', 'n/a')}"
             f" L, t_Li {summary['base'].get('t_li', 'n/a')}"]
    if "map" in summary:
        m = summary["map"]
        lines.append(f"map: {m['evaluations']} designs ({m['failed']} without solution) in "
                     f"{m['wall_time_s']:.1f} s")
    if "optimization" in summary:
        o = summary["optimization"]
        best = {v["key"]: o["best"].get(v["key"]) for v in summary["varied"]}
        lines.append(f"optimum ({summary['objectives'][0]} = {o['objective_value']}, "
                     f"feasible: {o['feasible']}): {best}, {o['nfev']} evaluations in "
                     f"{o['wall_time_s']:.1f} s")
    return lines


def _write(folder: Path, out: dict, request: DesignRequest, name: str) -> list[str]:
    from fem_sse.app.design.plots import plot_map, plot_pareto
    from fem_sse.io.outputs import draw_png
    from fem_sse.spec.tomlwrite import dumps

    files = ["summary.json"]
    objectives = out["objectives"]
    if "map" in out:
        result = out["map"]
        write_records(folder / "map.csv", result["records"])
        panels = list(dict.fromkeys([o.name for o in objectives] + list(MAP_PANELS)))[:4]
        files.append("map.csv")
        if draw_png(folder / "map.png", plot_map, result, panels, request.options.edge_zone,
                    out["marks"], title=f"{name}: {request.points} x {request.points} designs") \
                is None:  # else a warning: a figure never costs the results
            files.append("map.png")
    if "best_data" in out:
        write_records(folder / "evaluations.csv", out["evaluations"])
        best = out["summary"]["optimization"]["best"]
        header = (f"{name}: best design of fem-sse design (seed {request.seed}), "
                  f"{objectives[0].label} = {best.get(objectives[0].name)}")
        (folder / "best.toml").write_text(dumps(out["best_data"], header=header))
        files += ["evaluations.csv", "best.toml"]
        if best["status"] == "ok" and _profile_png(folder / "best_profile.png", out["best_data"],
                                                   f"{name} best") is None:
            files.append("best_profile.png")
    if "front" in out:
        write_records(folder / "pareto.csv", out["front"])
        files.append("pareto.csv")
        if draw_png(folder / "pareto.png", plot_pareto, out["evaluations"], out["front"],
                    objectives, out["summary"]["optimization"]["best"],
                    title=f"{name}: Pareto front") is None:
            files.append("pareto.png")
    return files
