"""The edge-crack case of tests/test_cracks2d.py with fem-eafe, step by step, on the ranks it
is started with (issue 16: 1 rank and 2 ranks must give the same numbers).

    docker/run python3 bench/eafe2d_ranks.py --output /tmp/r1.json
    docker/run mpirun -n 2 python3 -m mpi4py bench/eafe2d_ranks.py --output /tmp/r2.json
    docker/run python3 bench/eafe2d_ranks.py --compare /tmp/r1.json /tmp/r2.json \
        --output bench/results/eafe2d_edge_crack_ranks.json
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(output: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(ROOT / "tests"))
    from test_cracks2d import EDGE, _config

    from fem_sse.app.run import solve_case

    comm = MPI.COMM_WORLD
    start = time.perf_counter()
    summary, _ = solve_case(_config(EDGE), comm, "fem-eafe")
    if comm.rank == 0:
        keys = ("step", "cells", "one_minus_t_li", "newton_iterations")
        output.write_text(json.dumps({
            "ranks": comm.size, "converged": summary["converged"],
            "stop_reason": summary["stop_reason"], "phi_V": summary["ionic_potential_drop_V"],
            "steps": [{k: h[k] for k in keys} for h in summary["refinement_history"]],
            "wall_time_s": time.perf_counter() - start, "load_average": os.getloadavg()},
            indent=1) + "\n")


def compare(paths: list[Path], output: Path) -> None:
    runs = [json.loads(p.read_text()) for p in paths]
    steps = zip(*(r["steps"] for r in runs))
    diff = [max(abs(s["one_minus_t_li"] / group[0]["one_minus_t_li"] - 1.0) for s in group)
            for group in steps]
    same_cells = all(len({s["cells"] for s in g}) == 1 for g in zip(*(r["steps"] for r in runs)))
    doc = {"runs": runs, "same_cells_every_step": same_cells,
           "max_rel_diff_one_minus_t_per_step": diff,
           "max_rel_diff_phi": max(abs(r["phi_V"] / runs[0]["phi_V"] - 1.0) for r in runs)}
    output.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--compare", nargs="+", type=Path)
    args = parser.parse_args()
    compare(args.compare, args.output) if args.compare else run(args.output)
