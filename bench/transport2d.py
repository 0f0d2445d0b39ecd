"""Benchmark of the 2D transport solver: Newton iterations, wall time and memory vs DOFs.

    docker/run python3 bench/transport2d.py cases/2d/partial_contact.toml --sizes 5e-6 2.5e-6
    docker/run mpirun -n 2 python3 -m mpi4py bench/transport2d.py CASE --sizes ...

Each size is one run on a uniform (non-adaptive) mesh with ``size_bulk`` (and every other mesh
size scaled by the same factor). Writes one JSON per run to bench/results/ (case, ranks, cells,
DOFs, Newton iterations, times of meshing / set-up / solve, peak resident memory summed over
ranks and its maximum per rank, versions) and prints a table row.

``--mechanics direct iterative`` adds the elastic solve (issue 6's target: it costs no more
than the transport solve on the same mesh) on that mesh from the converged mu_Li0, once per
linear solver (MUMPS LU; CG + GAMG with the rigid-body near-nullspace), and writes
``mech_vs_transport_CASE_rR_hH.json`` instead: the transport row plus its linear solves (one
per Newton iteration, plus the ionic solve) and per elastic solver the DOFs, KSP iterations and
assembly / solve / total times (s).
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

from fem_sse.spec.config import load_config
from fem_sse.geometry import build_mesh
from fem_sse.transport.problem import TransportProblem, solve_transport

ROOT = Path(__file__).resolve().parent.parent


def _scaled(config, size: float):
    """``config`` with size_bulk = ``size`` and the other 2D sizes scaled alike (m)."""
    sizes = config.geometry2d.sizes
    factor = size / sizes.size_bulk
    scaled = {f.name: getattr(sizes, f.name) * factor for f in dataclasses.fields(sizes)
              if f.name.startswith("size_")}
    g = dataclasses.replace(config.geometry2d, sizes=dataclasses.replace(sizes, **scaled))
    return dataclasses.replace(config, geometry2d=g)


def run(config, size: float, comm, elastic_solvers=()) -> dict:
    """One uniform-mesh solve (and the elastic solves of ``elastic_solvers``); the row of the
    benchmark table."""
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

    mechanics = [_elastic(cfg, problem, solver, comm) for solver in elastic_solvers]
    return {"case": cfg.name, "ranks": comm.size, "size_bulk_m": size,
            "cells": problem.mesh.topology.index_map(2).size_global, "dofs": problem.dofs,
            "newton_iterations": result["newton_iterations"],
            "outer_iterations": result["outer_iterations"], "t_li": result["t_li"],
            "mesh_time_s": t1 - t0, "setup_time_s": t2 - t1, "solve_time_s": t3 - t2,
            "wall_time_s": t3 - t0,
            "peak_rss_MiB_sum": comm.allreduce(rss, op=MPI.SUM),
            "peak_rss_MiB_max": comm.allreduce(rss, op=MPI.MAX),
            "machine": platform.node(), "dolfinx": dolfinx.__version__,
            "python": sys.version.split()[0],
            **({"transport_linear_solves": result["newton_iterations"] + 1,
                "mechanics": mechanics} if mechanics else {})}


def _elastic(config, problem, solver: str, comm) -> dict:
    """The elastic solve on ``problem``'s mesh from its mu_Li0 with ``solver`` (direct,
    iterative): DOFs, KSP iterations, times (s), peaks (Pa) to check the solvers agree."""
    import dataclasses

    from fem_sse.mechanics import default_spec, solve_mechanics

    spec = dataclasses.replace(default_spec(config), solver=solver)
    mu = problem.mu_function()
    comm.barrier()
    start = time.perf_counter()
    s = solve_mechanics(problem.smesh, mu, config, comm, spec=spec).summary
    wall = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    return {"solver": s["solver"], "dofs": s["dofs"], "ksp_iterations": s["ksp_iterations"],
            "assemble_time_s": s["assemble_time_s"], "solve_time_s": s["solve_time_s"],
            "mechanics_wall_time_s": wall, "max_von_mises_Pa": s["max_von_mises"],
            "max_principal_Pa": s["max_principal"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("--sizes", type=float, nargs="+", required=True, help="size_bulk (m)")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--mechanics", nargs="+", default=[], choices=("direct", "iterative"),
                        help="also time the elastic solve on the same mesh with these solvers")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    config = load_config(args.case)
    out = Path(args.output)
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        row = run(config, size, comm, args.mechanics)
        if comm.rank == 0:
            kind = "mech_vs_transport" if args.mechanics else "transport2d"
            name = f"{kind}_{config.name}_r{comm.size}_h{size:.3g}.json"
            (out / name).write_text(json.dumps(row, indent=2) + "\n")
            print(f"{row['case']} ranks {row['ranks']} h {size:.3g} m: {row['cells']} cells "
                  f"{row['dofs']} dofs, {row['newton_iterations']} Newton its, "
                  f"mesh {row['mesh_time_s']:.1f} s, solve {row['solve_time_s']:.1f} s, "
                  f"peak {row['peak_rss_MiB_sum']:.0f} MiB, t_Li {row['t_li']:.8f}", flush=True)
            for m in row.get("mechanics", []):
                print(f"  elastic {m['solver']}: {m['dofs']} dofs, {m['ksp_iterations']} its, "
                      f"solve {m['solve_time_s']:.2f} s, total {m['mechanics_wall_time_s']:.2f} s",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
