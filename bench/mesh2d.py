"""Benchmark: 2D meshing of a 100 um x 100 um bilayer with Voronoi grains and 50 nm GB strips.

    docker/run python3 bench/mesh2d.py [--grains 50 200 800] [--model strip|interface]

Each grain count runs in its own process (so the peak RSS is its own) and writes
bench/results/mesh2d_<model>_<grains>.json: cells, vertices, Gmsh geometry and meshing time,
DOLFINx conversion time, wall time, peak RSS (MB) and versions. Grains are split evenly between
the two layers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
UM = 1e-6


def case(grains: int, model: str) -> dict:
    """The benchmark configuration as a dict."""
    gb = {"model": model, "sigma_li_factor": 1e-2}
    if model == "strip":
        gb["width"] = 0.05 * UM
    return {
        "cell": {"temperature": 298.0, "current_density": 10.0, "mu_cathode": -3.0,
                 "mu_anode": 0.0},
        "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3},
                      "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}},
        "geometry": {"dim": 2, "width": 100 * UM, "grain_boundaries": gb, "layers": [
            {"material": "SE_cathodic", "thickness": 50 * UM,
             "grains": {"count": grains // 2, "seed": 1}},
            {"material": "SE_anodic", "thickness": 50 * UM,
             "grains": {"count": grains - grains // 2, "seed": 2}}]},
    }


def run_one(grains: int, model: str) -> dict:
    """Build, mesh and distribute (1 rank) one case; returns the measurements."""
    import gmsh
    from mpi4py import MPI

    from fem_sse.spec.config import parse_config
    from fem_sse.geometry import build_mesh

    config = parse_config(case(grains, model), name=f"mesh2d_{model}_{grains}")
    start = time.perf_counter()
    smesh = build_mesh(config, MPI.COMM_SELF)
    wall = time.perf_counter() - start
    topo = smesh.mesh.topology
    info = smesh.info
    return {
        "case": config.name, "grains_requested": grains, "gb_model": model,
        "gb_width_m": config.geometry2d.grain_boundaries.width,
        "grains": sum(info["grains_per_layer"]),
        "cells": topo.index_map(2).size_global, "vertices": topo.index_map(0).size_global,
        "gb_centerline_length_m": info["gb_centerline_length_m"],
        "geometry_time_s": info["geometry_time_s"], "gmsh_time_s": info["mesh_time_s"],
        "dolfinx_conversion_time_s": wall - info["mesh_time_s"], "wall_time_s": wall,
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "sizes_m": config.geometry2d.sizes.__dict__, "gmsh_version": gmsh.__version__,
    }


def main() -> int:
    """Run every grain count in a child process and write the JSON files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grains", type=int, nargs="+", default=[50, 200, 800])
    parser.add_argument("--model", choices=("strip", "interface"), default="strip")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.model)))
        return 0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'grains':>6} {'cells':>9} {'vertices':>9} {'gmsh (s)':>9} {'total (s)':>9} "
          f"{'RSS (MB)':>9}")
    for n in args.grains:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), "--model",
                               args.model], capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        (out / f"mesh2d_{args.model}_{n}.json").write_text(json.dumps(row, indent=2) + "\n")
        print(f"{row['grains']:>6} {row['cells']:>9} {row['vertices']:>9} "
              f"{row['gmsh_time_s']:>9.1f} {row['wall_time_s']:>9.1f} {row['peak_rss_MB']:>9.0f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
