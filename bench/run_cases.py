"""Benchmark: every case in cases/ with the exact and the FEM solver; errors of FEM vs exact.

    docker/run python3 bench/run_cases.py [--solver fem|fem-eafe] [--uniform] [-o bench/results]

The FEM is what ``fem-sse run`` does on the case (its ``solver.kind``, by default the
exponentially fitted scheme in 1D) or ``--solver``'s scheme (``fem``: the W formulation). Writes
one JSON per case (machine, versions, DOFs, cells, Newton iterations, wall time, errors)
and bench/results/cases_summary.json. FEM times are solve times: one untimed solve first fills
the JIT cache (the 1D cases share their compiled forms; a cold cache adds a few seconds once per
machine), then each case runs ``--repeat`` times (median and minimum reported).

Files: ``CASE.json`` and ``cases_summary.json`` for the cases' own solver, ``CASE_SOLVER.json``
and ``cases_summary_SOLVER.json`` for ``--solver SOLVER``.

--uniform (with ``--solver fem``) also solves on uniform meshes (125, 250, ... equal cells) and reports the DOFs that
uniform and adaptive meshes need to reach the issue's target (|1 - t| within 0.1 %) and the
adaptive run's final error.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import tomllib
from mpi4py import MPI

from fem_sse.spec.config import load_config
from fem_sse.progress import Progress, activity, message
from fem_sse.app.run import solve_case

ROOT = Path(__file__).resolve().parent.parent


def errors(fem: dict, exact: dict, length: float) -> dict:
    jumps_f = [j["x"] for j in fem["jumps"]]
    jumps_e = [j["x"] for j in exact["jumps"]]
    jump_err = (max((abs(a - b) for a, b in zip(jumps_f, jumps_e)), default=0.0) / length
                if len(jumps_f) == len(jumps_e) else float("inf"))
    mu_err = max((abs(a["mu"] - b["mu"]) for a, b in zip(fem["mu_interfaces"],
                                                        exact["mu_interfaces"])), default=0.0)
    return {"rel_err_one_minus_t": abs(fem["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0),
            "jump_err_over_L": jump_err, "mu_interface_err_eV": mu_err,
            "jump_count_fem": len(jumps_f), "jump_count_exact": len(jumps_e)}


def uniform_study(config, exact: dict, adaptive_history: list[dict], targets: dict, comm,
                  max_cells: int = 256_000) -> dict:
    """Equal cells (plus the segment end points), doubled until 1 - t_Li reaches each target.

    Each level starts from the previous level's mu (interpolated), as the adaptive loop does.
    For each target error the DOFs of the first uniform and the first adaptive mesh that reach
    it are reported, and their ratio.
    """
    from fem_sse.geometry import SeparatorMesh
    from fem_sse.geometry.line import uniform_line
    from fem_sse.transport.problem import ConvergenceError, TransportProblem, solve_transport

    def err(one_minus_t):
        return abs(one_minus_t / exact["one_minus_t_li"] - 1.0)

    adaptive = {}
    for name, target in targets.items():
        hit = next((h for h in adaptive_history if err(h["one_minus_t_li"]) <= target), None)
        adaptive[name] = hit["dofs"] if hit else None
    uniform, levels, previous = {}, [], None
    cells = 125
    while len(uniform) < len(targets) and cells <= max_cells:
        smesh = SeparatorMesh(*uniform_line(config, comm, cells))
        problem = TransportProblem(config, smesh)
        if previous is not None:
            problem.start_from(previous)
        try:
            with activity(f"{config.name}: uniform mesh of {cells} cells"):
                result = solve_transport(problem)
        except ConvergenceError as exc:  # an unresolved uniform mesh: say so, go finer
            levels.append({"cells": cells, "dofs": problem.dofs, "converged": False,
                           "error": str(exc)[:200]})
            previous, cells = None, 2 * cells
            continue
        e = err(result["one_minus_t_li"])
        levels.append({"cells": cells, "dofs": problem.dofs, "rel_err_one_minus_t": e})
        message(f"  uniform: {levels[-1]}", comm)
        for name, target in targets.items():
            if name not in uniform and e <= target:
                uniform[name] = problem.dofs
        previous, cells = problem, 2 * cells
    out = {"uniform_levels": levels}
    for name in targets:
        out[f"adaptive_dofs_{name}"] = adaptive[name]
        out[f"uniform_dofs_{name}"] = uniform.get(name)
        out[f"dof_ratio_{name}"] = (uniform[name] / adaptive[name]
                                    if uniform.get(name) and adaptive[name] else None)
    return out


def _load_average() -> float | None:
    """The 1-minute load average (other work on the machine slows the timings)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--uniform", action="store_true")
    parser.add_argument("--max-cells", type=int, default=256_000,
                        help="cap on the cells of the uniform meshes (default 256000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="FEM solves per case; the median and the minimum are reported")
    parser.add_argument("--solver", choices=("fem", "fem-eafe"), default=None,
                        help="the FEM scheme (default: each case's solver.kind, i.e. what "
                             "fem-sse run does)")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args(argv)
    if args.uniform and args.solver != "fem":
        parser.error("--uniform compares the W formulation on uniform meshes: add --solver fem")
    comm = MPI.COMM_WORLD
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    files = [Path(c) for c in args.cases] or sorted((ROOT / "cases").glob("*.toml"))
    solve_case(load_config(files[0]), comm, args.solver)  # JIT cache warm-up, untimed
    with Progress("bench cases", len(files), comm=comm) as bar:
        rows = [_bench_case(path, args, comm, out, bar) for path in files]
    if comm.rank == 0:  # (a subset of the cases writes its own summary next to its JSONs)
        (out / f"cases_summary{_suffix(args)}.json").write_text(json.dumps(rows, indent=2) + "\n")
    worst = {k: max(r[k] for r in rows) for k in ("rel_err_one_minus_t", "jump_err_over_L",
                                                    "mu_interface_err_eV")}
    if comm.rank == 0:
        print("worst:", worst)
    return 0 if np.isfinite(list(worst.values())).all() else 1


def _suffix(args) -> str:
    """File-name suffix of a run with an explicit ``--solver`` ("" for the cases' own)."""
    return f"_{args.solver}" if args.solver else ""


def _bench_case(path: Path, args, comm, out: Path, bar) -> dict:
    """Exact and FEM runs of one case (and the uniform study); writes its JSON, returns the
    row."""
    import dolfinx

    config = load_config(path)
    meta = tomllib.loads(path.read_text()).get("meta", {})
    exact, _ = solve_case(config, comm, "exact")
    times = []
    for _ in range(max(args.repeat, 1)):
        t0 = time.perf_counter()
        fem, _ = solve_case(config, comm, args.solver)
        times.append(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
    row = {"case": config.name, "machine": platform.node(), "cpu": platform.processor(),
           "python": sys.version.split()[0], "dolfinx": dolfinx.__version__,
           "ranks": comm.size, "solver": fem["solver"], "t_li_exact": exact["t_li"], "t_li_fem": fem["t_li"],
           "paper_t_li": meta.get("paper_t_li"),
           "exact_wall_time_s": exact["wall_time_s"],
           "fem_wall_time_s": float(np.median(times)), "fem_wall_time_min_s": min(times),
           "fem_wall_times_s": times, "load_average": _load_average(),
           "dofs": fem["dofs"], "cells": fem["cells"],
           "newton_iterations": fem["newton_iterations"],
           "refinement_steps": fem["refinement_steps"],
           **errors(fem, exact, config.thickness)}
    if args.uniform:
        targets = {"target_1e-3": 1e-3, "final_adaptive": max(row["rel_err_one_minus_t"], 1e-7)}
        row.update(uniform_study(config, exact, fem["refinement_history"], targets, comm,
                                  max_cells=args.max_cells))
    if comm.rank == 0:
        (out / f"{config.name}{_suffix(args)}.json").write_text(json.dumps(row, indent=2) + "\n")
    bar.update(1, config.name)
    bar.message(f"{config.name:32s} t exact {row['t_li_exact']:.6f} fem {row['t_li_fem']:.6f} "
                f"paper {row['paper_t_li']} | err(1-t) {row['rel_err_one_minus_t']:.1e} "
                f"jump {row['jump_err_over_L']:.1e} muI {row['mu_interface_err_eV']:.1e} | "
                f"{row['dofs']} dofs {row['newton_iterations']} its "
                f"{row['fem_wall_time_s']:.2f} s"
                + (f" | uniform/adaptive DOFs at 1e-3: {row['uniform_dofs_target_1e-3']}/"
                   f"{row['adaptive_dofs_target_1e-3']}, at the final error: "
                   f"{row['uniform_dofs_final_adaptive']}/{row['dofs']}"
                   if args.uniform else ""))
    return row


if __name__ == "__main__":
    sys.exit(main())
