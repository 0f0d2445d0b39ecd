"""The paper's 1D cases with the exponentially fitted scheme (``--solver fem-eafe``).

    docker/run python3 bench/eafe_cases.py [cases/*.toml ...] [-o bench/results]

Each case: the exact solution and the adaptive EAFE run (certified against it); writes
bench/results/eafe_cases.json with the errors of 1 - t_Li (relative), t_Li (relative), the jump
positions (/L) and the interface potentials (eV), DOFs, Newton iterations, the wall time and
the load average (the machine is shared: times are indicative only). ``--table`` prints the
docs table of the existing JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(paths: list[Path], comm) -> list[dict]:
    from fem_sse.transport.certify1d import compare
    from fem_sse.transport.results import TransportResult
    from fem_sse.spec.config import load_config
    from fem_sse.app.run import solve_case

    rows = []
    for path in paths:
        config = load_config(path)
        if config.dim != 1:
            continue
        exact, _ = solve_case(config, comm, "exact")
        start = time.perf_counter()
        fem, _ = solve_case(config, comm, "fem-eafe")
        rows.append({"case": path.stem, **compare(TransportResult.from_summary(fem), TransportResult.from_summary(exact),
                                             config.thickness),
                     "rel_err_t_li": abs(fem["t_li"] / exact["t_li"] - 1.0),
                     "dofs": fem["dofs"], "newton_iterations": fem["newton_iterations"],
                     "converged": fem["converged"], "time_s": time.perf_counter() - start})
    return rows


def table(path: Path) -> str:
    """Markdown summary of an eafe_cases JSON (worst errors over the cases)."""
    data = json.loads(path.read_text())
    rows = data["rows"]

    def worst(key):
        return max(r[key] for r in rows)
    return "\n".join([
        "| quantity (over the cases) | value |", "|---|---|",
        f"| cases, certified | {len(rows)}, {sum(r['converged'] for r in rows)} |",
        f"| max error 1 - t_Li (relative) | {worst('rel_err_one_minus_t'):.1e} |",
        f"| max error t_Li (relative) | {worst('rel_err_t_li'):.1e} |",
        f"| max jump error / L | {worst('jump_err_over_L'):.1e} |",
        f"| max interface mu error (eV) | {worst('mu_interface_err_eV'):.1e} |",
        f"| DOFs | {min(r['dofs'] for r in rows)}-{worst('dofs')} |",
        f"| slowest run (s), load average {data['load_average_before'][0]:.1f} | "
        f"{worst('time_s'):.2f} |"])


def main(argv=None) -> int:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.output) / "eafe_cases.json"
    if args.table:
        print(table(out))
        return 0
    comm = MPI.COMM_WORLD
    paths = [Path(p) for p in args.cases] or sorted((ROOT / "cases").glob("*.toml"))
    load = os.getloadavg()
    rows = run(paths, comm)
    if comm.rank == 0:
        out.write_text(json.dumps({"rows": rows, "load_average_before": load,
                                   "load_average_after": os.getloadavg(),
                                   "cpus": os.cpu_count(), "ranks": comm.size}, indent=1) + "\n")
        print(table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
