"""1 rank == N ranks for the 2D mechanics: the small study case (tests/test_mechanics2d_run.py).

Run under ``mpirun -n N`` (N >= 2)::

    docker/run mpirun -n 2 python3 -m mpi4py bench/mechanics_ranks.py [--restarts 3]

Measures, as the largest relative difference over the mechanics peaks (KEYS):

* ``same_ranks_restart``: ``fem-sse mechanics OUTDIR`` on the N ranks that wrote it, repeated;
* ``self_restart``: rank 0 alone (COMM_SELF) reading the N-rank checkpoint;
* ``one_rank_run``: the full run (transport + mechanics) on COMM_SELF vs the N-rank run, and
  whether the two converged transport meshes are the same (canonical vertex and cell arrays);
* the elastic meshes: cells of each run.

Writes bench/results/mechanics_ranks.json (rank 0) with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from mpi4py import MPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fem_sse.app.restart import rerun_mechanics  # noqa: E402
from fem_sse.app.cli import main  # noqa: E402
from fem_sse.spec.config import load_config  # noqa: E402
from fem_sse.io.checkpoint import load_transport, read_state  # noqa: E402
from fem_sse.mechanics.canonical import _gather  # noqa: E402
from fem_sse.app.run import solve_case  # noqa: E402
from test_mechanics2d_run import _small_case  # noqa: E402
from test_restart import KEYS  # noqa: E402


def _value(summary: dict, key: str) -> float:
    return summary.get(key, summary.get("mechanics", {}).get(key))


def _worst(a: dict, b: dict) -> dict:
    out = {}
    for key in KEYS:
        x, y = _value(a, key), _value(b, key)
        out[key] = abs(x - y) / max(abs(x), abs(y), 1e-300)
    return {"max_rel": max(out.values()), "per_key": out}


def _canonical_mesh(smesh, level):
    return _gather(smesh, level, smesh.mesh.comm)


def main_bench(restarts: int) -> dict:
    comm = MPI.COMM_WORLD
    folder = Path(comm.bcast(tempfile.mkdtemp(prefix="mech_ranks_") if comm.rank == 0 else None))
    case = _small_case(folder, comm)
    run = folder / "run"
    assert main(["run", str(case), "-o", str(run), "-q"]) == 0
    original = json.loads((run / "summary.json").read_text())
    results = {"ranks": comm.size, "case": "study_bilayer small (6000 cells, refine_fronts 3)",
               "keys": list(KEYS), "original": {k: _value(original, k) for k in KEYS},
               "elastic_cells": original["mechanics"]["cells"], "same_ranks_restart": []}
    for i in range(restarts):
        out = folder / f"same{i}"
        assert main(["mechanics", str(run), "-o", str(out), "--no-png",
                     "--progress=off"]) == 0
        results["same_ranks_restart"].append(
            _worst(original, json.loads((out / "summary.json").read_text())))
    alone = rerun_mechanics(run, folder / f"self{comm.rank}", MPI.COMM_SELF, png=False)
    results["self_restart"] = _worst(original, alone)
    results["self_restart_cells"] = alone["mechanics"]["cells"]

    # the full run on one rank; its transport mesh against the N-rank checkpoint's
    config = load_config(case)
    if comm.rank == 0:
        single, extras = solve_case(config, MPI.COMM_SELF)
        problem = extras.problem
        mine = _canonical_mesh(problem.smesh, problem.kirchhoff_function())
        state, _ = read_state(run, MPI.COMM_SELF)
        saved = load_transport(run, state, config, MPI.COMM_SELF)
        theirs = _canonical_mesh(saved.smesh, saved.kirchhoff_function())
        same_shape = mine[0].shape == theirs[0].shape and mine[1].shape == theirs[1].shape
        results["one_rank_run"] = {
            **_worst(original, single),
            "t_li_rel": abs(single["t_li"] - original["t_li"]) / original["t_li"],
            "transport_cells": [single["cells"], original["cells"]],
            "elastic_cells": [single["mechanics"]["cells"], original["mechanics"]["cells"]],
            "transport_mesh_identical": bool(same_shape and np.array_equal(mine[0], theirs[0])
                                             and np.array_equal(mine[1], theirs[1])),
            "transport_vertex_max_diff_m": (float(np.abs(mine[0] - theirs[0]).max())
                                            if same_shape else None),
        }
        results["load_average_1min"] = os.getloadavg()[0]
        (ROOT / "bench" / "results" / "mechanics_ranks.json").write_text(
            json.dumps(results, indent=1) + "\n")
        print(json.dumps(results, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
    comm.barrier()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=3)
    main_bench(parser.parse_args().restarts)
