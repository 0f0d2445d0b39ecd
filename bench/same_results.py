"""Before/after check of a refactoring: DOFs, cells, 1 - t_Li and jump positions of every
paper case (cases/*.toml) with the W-FEM and the EAFE scheme, and of one 2D case.

    docker/run python3 bench/same_results.py OUT.json            # run (from a checkout)
    python3 bench/same_results.py --compare BEFORE.json AFTER.json

Run it on a snapshot of the code before and after the change (``git archive``), then compare:
the values are compared bitwise. Times are informative only (the load average is recorded).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

KEYS = ("dofs", "cells", "one_minus_t_li", "jumps", "error")


def run(out: Path) -> None:
    from mpi4py import MPI

    from fem_sse.app.run import solve_case
    from fem_sse.spec.config import load_config

    comm = MPI.COMM_WORLD
    result = {"load_average": os.getloadavg(), "ranks": comm.size, "cases": {}}
    files = sorted(Path("cases").glob("*.toml")) + [Path("cases/2d/bilayer_bottlenecks.toml")]
    for path in files:
        config = load_config(path)
        for solver in ("fem", "fem-eafe"):
            start = time.perf_counter()
            try:
                s, _ = solve_case(config, comm, solver)
                row = {k: s.get(k) for k in ("dofs", "cells", "one_minus_t_li", "t_li")}
                row["jumps"] = [j.get("x") for j in s["jumps"]] if s.get("jumps") else None
            except Exception as exc:  # noqa: BLE001 - a failure is a result to compare
                row = {"error": f"{type(exc).__name__}: {exc}"}
            row["wall_time_s"] = time.perf_counter() - start
            result["cases"][f"{path}:{solver}"] = row
    if comm.rank == 0:
        out.write_text(json.dumps(result, indent=1) + "\n")


def compare(before: Path, after: Path) -> int:
    b = json.loads(before.read_text())["cases"]
    a = json.loads(after.read_text())["cases"]
    differ = [k for k in b if k not in a or any(b[k].get(f) != a[k].get(f) for f in KEYS)]
    for k in differ:
        print("differs:", k, b[k], a.get(k))
    print(f"{len(b)} runs, {len(differ)} differ ({', '.join(KEYS[:4])} compared bitwise)")
    return 1 if differ else 0


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    run(Path(sys.argv[1]))
