"""Benchmark: the 2D elastic solve (plane strain, CG1) from 1e4 to 1e6 displacement DOFs.

    docker/run python3 bench/mechanics.py [--cells 70 160 350 707] [--solvers direct iterative]
    docker/run mpirun -n 2 python3 bench/mechanics.py ...

A 100 um x 100 um bilayer (structured triangles, n x n squares split in two, tagged with the
geometry naming convention) under a tanh mu_Li0 front at x = 0.4 L with the two-state strain law
(a 0.3 % eigenstrain swing). Each (size, solver) pair writes one record to
bench/results/mechanics.json: DOFs, solver, KSP iterations, assembly / solve / total wall time
(s), peak RSS (MB) of rank 0, max von Mises (Pa, to check the solvers agree), ranks, versions.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parent.parent
L = 100e-6


def _smesh(comm, n: int):
    """A layered SeparatorMesh built by DOLFINx directly (no Gmsh: fast at 1e6 DOFs)."""
    import dolfinx.mesh as dmesh

    from fem_sse.geometry import Region, SeparatorMesh

    msh = dmesh.create_rectangle(comm, [[0.0, 0.0], [L, L]], [n, n],
                                 dmesh.CellType.triangle, ghost_mode=dmesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    cells = np.arange(msh.topology.index_map(tdim).size_local
                      + msh.topology.index_map(tdim).num_ghosts, dtype=np.int32)
    mid = dmesh.compute_midpoints(msh, tdim, cells)
    cell_tags = dmesh.meshtags(msh, tdim, cells,
                               np.where(mid[:, 0] < 0.5 * L, 100000, 200000).astype(np.int32))
    msh.topology.create_connectivity(tdim - 1, tdim)
    groups = {"cathode": (1, lambda x: np.isclose(x[0], 0.0)),
              "anode": (2, lambda x: np.isclose(x[0], L)),
              "side_y0": (4, lambda x: np.isclose(x[1], 0.0)),
              "side_y1": (5, lambda x: np.isclose(x[1], L)),
              "pb0": (10, lambda x: np.isclose(x[0], 0.5 * L))}
    facets, values = [], []
    for tag, where in groups.values():
        found = dmesh.locate_entities(msh, tdim - 1, where)
        facets.append(found)
        values.append(np.full(len(found), tag, dtype=np.int32))
    facets, values = np.concatenate(facets), np.concatenate(values)
    order = np.argsort(facets)
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets[order], values[order])
    regions = {100000: Region("layer0", 0, "SE_cathodic", 1.0, "layer"),
               200000: Region("layer1", 1, "SE_anodic", 1.0, "layer")}
    return SeparatorMesh(msh, cell_tags, facet_tags, regions,
                         {name: tag for name, (tag, _) in groups.items()}, {})


def _config():
    from fem_sse.spec.config import parse_config

    law = "two_state"
    return parse_config({
        "name": "bench_mechanics",
        "cell": {"current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
        "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3, "strain_law": law},
                      "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7, "strain_law": law,
                                    "preset": "lpscl"}},
        "geometry": {"dim": 2, "width": L, "layers": [
            {"material": "SE_cathodic", "thickness": 0.5 * L},
            {"material": "SE_anodic", "thickness": 0.5 * L}]},
        "mechanics": {"stack_pressure": 5e6}})


def run(comm, n: int, solver: str) -> dict:
    import dataclasses

    import dolfinx
    from dolfinx import fem
    from mpi4py import MPI

    from fem_sse.mechanics import solve_mechanics

    config = _config()
    spec = dataclasses.replace(config.mechanics, solver=solver)
    start = time.perf_counter()
    smesh = _smesh(comm, n)
    mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))
    mu.interpolate(lambda x: -3.0 + 1.5 * (1.0 + np.tanh((x[0] - 0.4 * L) / (0.01 * L))))
    mesh_time = time.perf_counter() - start
    comm.barrier()
    start = time.perf_counter()
    s = solve_mechanics(smesh, mu, config, comm, spec=spec).summary
    wall = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    return {"cells_per_side": n, "dofs": s["dofs"], "solver": s["solver"],
            "ksp_iterations": s["ksp_iterations"], "assemble_time_s": s["assemble_time_s"],
            "solve_time_s": s["solve_time_s"], "mechanics_wall_time_s": wall,
            "mesh_time_s": mesh_time, "max_von_mises_Pa": s["max_von_mises"],
            "peak_rss_MB_rank0": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "ranks": comm.size, "dolfinx": dolfinx.__version__}


def main() -> None:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[70, 160, 350, 707])
    parser.add_argument("--solvers", nargs="+", default=["direct", "iterative"])
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "mechanics.json"))
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    out = Path(args.output)
    records = json.loads(out.read_text()) if out.exists() and comm.rank == 0 else []
    for n in args.cells:
        for solver in args.solvers:
            rec = run(comm, n, solver)
            if comm.rank == 0:
                print(json.dumps(rec), flush=True)
                records = [r for r in records if (r["cells_per_side"], r["solver"], r["ranks"])
                           != (n, solver, comm.size)] + [rec]
                out.write_text(json.dumps(records, indent=1) + "\n")


if __name__ == "__main__":
    main()
