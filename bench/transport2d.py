"""Benchmark of the 2D transport solver: Newton iterations, wall time and memory vs DOFs.

    docker/run python3 bench/transport2d.py cases/2d/partial_contact.toml --sizes 5e-6 2.5e-6
    docker/run mpirun -n 2 python3 -m mpi4py bench/transport2d.py CASE --sizes ...

Each size is one run on a uniform (non-adaptive) mesh with ``size_bulk`` (and every other mesh
size scaled by the same factor). Writes one JSON per run to bench/results/ (case, ranks, cells,
DOFs, Newton iterations, times of meshing / set-up / solve, peak resident memory summed over
ranks and its maximum per rank, versions) and prints a table row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import sys
import time
from pathlib import Path

from mpi4py import MPI

from fem_sse.config import load_config
from fem_sse.geometry import build_mesh
from fem_sse.transport import TransportProblem, solve_transport

ROOT = Path(__file__).resolve().parent.parent


def _scaled(config, size: float):
    """``config`` with size_bulk = ``size`` and the other 2D sizes scaled alike (m)."""
    sizes = config.geometry2d.sizes
    factor = size / sizes.size_bulk
    scaled = {f.name: getattr(sizes, f.name) * factor for f in dataclasses.fields(sizes)
              if f.name.startswith("size_")}
    g = dataclasses.replace(config.geometry2d, sizes=dataclasses.replace(sizes, **scaled))
    return dataclasses.replace(config, geometry2d=g)


def run(config, size: float, comm) -> dict:
    """One uniform-mesh solve; the row of the benchmark table."""
    cfg = _scaled(config, size)
    comm.barrier()
    t0 = time.perf_counter()
    smesh = build_mesh(cfg, comm)
    t1 = time.perf_counter()
    problem = TransportProblem(cfg, smesh, degree=cfg.solver.degree)
    t2 = time.perf_counter()
    result = solve_transport(problem)
    comm.barrier()
    t3 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # MiB (Linux: KiB)
    import dolfinx

    return {"case": cfg.name, "ranks": comm.size, "size_bulk_m": size,
            "cells": problem.mesh.topology.index_map(2).size_global, "dofs": problem.dofs,
            "newton_iterations": result["newton_iterations"],
            "outer_iterations": result["outer_iterations"], "t_li": result["t_li"],
            "mesh_time_s": t1 - t0, "setup_time_s": t2 - t1, "solve_time_s": t3 - t2,
            "wall_time_s": t3 - t0,
            "peak_rss_MiB_sum": comm.allreduce(rss, op=MPI.SUM),
            "peak_rss_MiB_max": comm.allreduce(rss, op=MPI.MAX),
            "machine": platform.node(), "dolfinx": dolfinx.__version__,
            "python": sys.version.split()[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("--sizes", type=float, nargs="+", required=True, help="size_bulk (m)")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    config = load_config(args.case)
    out = Path(args.output)
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        row = run(config, size, comm)
        if comm.rank == 0:
            name = f"transport2d_{config.name}_r{comm.size}_h{size:.3g}.json"
            (out / name).write_text(json.dumps(row, indent=2) + "\n")
            print(f"{row['case']} ranks {row['ranks']} h {size:.3g} m: {row['cells']} cells "
                  f"{row['dofs']} dofs, {row['newton_iterations']} Newton its, "
                  f"mesh {row['mesh_time_s']:.1f} s, solve {row['solve_time_s']:.1f} s, "
                  f"peak {row['peak_rss_MiB_sum']:.0f} MiB, t_Li {row['t_li']:.8f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
