"""Benchmark: every case in cases/ with the exact and the FEM solver; errors of FEM vs exact.

    docker/run python3 bench/run_cases.py [--uniform] [-o bench/results]

Writes one JSON per case (machine, versions, DOFs, cells, Newton iterations, wall time, errors)
and bench/results/cases_summary.json; --uniform also refines the initial mesh uniformly until
1 - t_Li is as accurate as the adaptive result, and reports both DOF counts.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
from mpi4py import MPI

from fem_sse.config import load_config
from fem_sse.run import solve_case

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


def uniform_study(config, target: float, exact: dict, comm) -> dict:
    """Uniform refinement of the initial mesh until the 1 - t_Li error is <= target."""
    import dataclasses

    from fem_sse.adapt import solve_adaptive

    size = config.mesh.size or config.thickness / 100.0
    for level in range(12):
        cfg = dataclasses.replace(
            config, mesh=dataclasses.replace(config.mesh, size=size / 2**level,
                                             bottleneck_cells=config.mesh.bottleneck_cells * 2**level),
            solver=dataclasses.replace(config.solver, adaptive=False))
        out = solve_adaptive(cfg, comm)
        err = abs(out.result["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0)
        if err <= target or out.problem.dofs > 2_000_000:
            return {"uniform_dofs": out.problem.dofs, "uniform_err": err, "uniform_level": level}
    return {"uniform_dofs": out.problem.dofs, "uniform_err": err, "uniform_level": level}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--uniform", action="store_true")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    files = [Path(c) for c in args.cases] or sorted((ROOT / "cases").glob("*.toml"))
    rows = []
    import dolfinx

    for path in files:
        config = load_config(path)
        meta = tomllib.loads(path.read_text()).get("meta", {})
        exact, _ = solve_case(config, comm, "exact")
        t0 = time.perf_counter()
        fem, _ = solve_case(config, comm, "fem")
        row = {"case": config.name, "machine": platform.node(), "cpu": platform.processor(),
               "python": sys.version.split()[0], "dolfinx": dolfinx.__version__,
               "ranks": comm.size, "t_li_exact": exact["t_li"], "t_li_fem": fem["t_li"],
               "paper_t_li": meta.get("paper_t_li"),
               "exact_wall_time_s": exact["wall_time_s"], "fem_wall_time_s": time.perf_counter() - t0,
               "dofs": fem["dofs"], "cells": fem["cells"],
               "newton_iterations": fem["newton_iterations"],
               "refinement_steps": fem["refinement_steps"],
               **errors(fem, exact, config.thickness)}
        if args.uniform:
            row.update(uniform_study(config, row["rel_err_one_minus_t"], exact, comm))
            row["dof_ratio_uniform_over_adaptive"] = row["uniform_dofs"] / row["dofs"]
        rows.append(row)
        if comm.rank == 0:
            (out / f"{config.name}.json").write_text(json.dumps(row, indent=2) + "\n")
            print(f"{config.name:32s} t exact {row['t_li_exact']:.6f} fem {row['t_li_fem']:.6f} "
                  f"paper {row['paper_t_li']} | err(1-t) {row['rel_err_one_minus_t']:.1e} "
                  f"jump {row['jump_err_over_L']:.1e} muI {row['mu_interface_err_eV']:.1e} | "
                  f"{row['dofs']} dofs {row['newton_iterations']} its {row['fem_wall_time_s']:.2f} s"
                  + (f" | uniform {row['uniform_dofs']} dofs ({row['dof_ratio_uniform_over_adaptive']:.1f}x)"
                     if args.uniform else ""), flush=True)
    if comm.rank == 0:
        (out / "cases_summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    worst = {k: max(r[k] for r in rows) for k in ("rel_err_one_minus_t", "jump_err_over_L",
                                                    "mu_interface_err_eV")}
    if comm.rank == 0:
        print("worst:", worst)
    return 0 if np.isfinite(list(worst.values())).all() else 1


if __name__ == "__main__":
    sys.exit(main())
