"""Mesh convergence of the 1D EAFE scheme (fem_sse.transport.eafe) against the exact solution.

    docker/run python3 bench/eafe_rates.py [--cells 25 50 ... ] [-o bench/results]

On uniform meshes (N equal cells plus the segment ends, no adaptive refinement, no points from
the exact solution) of a paper case (Fig. 3 bilayer), the paper's Fig. 4c bilayer with
bottlenecks, and random stacks of bench/stress1d.py whose exact state has a cancellation ratio
far beyond the W formulation's limit (1e12): the error of 1 - t_Li (relative), of the jump
positions (/L) and of mu_Li0 at the layer interfaces (eV) for every N, and the observed rates
log2(e_N / e_2N). Each mesh starts Newton from the exact state interpolated at the nodes.

Writes bench/results/eafe_rates.json (with the load average: times are not the point).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

CASES = ["cases/fig3_bilayer.toml", "cases/fig4c_bilayer_bottlenecks.toml", "stress:3",
         "stress:13", "stress:2"]


def _config(name: str):
    from fem_sse.spec.config import load_config, parse_config

    if name.startswith("stress:"):
        import stress1d

        data = stress1d.random_stack(16, int(name.split(":")[1]))
        return parse_config(json.loads(json.dumps(data)), data["name"])
    return load_config(ROOT / name)


def uniform_mesh(config, comm, cells: int):
    """N equal cells plus the segment ends, with points closer than 1e-9 L merged (a node
    1e-20 m from a segment end would be a degenerate cell)."""
    from fem_sse.geometry import SeparatorMesh
    from fem_sse.geometry.line import _line_mesh
    from fem_sse.geometry.regions import regions_1d

    segments = config.segments()
    parents = np.array([seg.x0 for seg in segments])
    nodes = tags = None
    if comm.rank == 0:
        ends = np.append(parents, config.thickness)
        grid = np.linspace(0.0, config.thickness, cells + 1)
        far = np.min(np.abs(grid[:, None] - ends[None, :]), axis=1) > 1e-9 * config.thickness
        nodes = np.unique(np.concatenate([grid[far], ends]))
        tags = np.arange(1, len(segments) + 1, dtype=np.int32)
    regions, groups = regions_1d(config)
    return SeparatorMesh(*_line_mesh(comm, config, nodes, parents, tags), regions, groups, {})


def errors(config, comm, cells: int, exact: dict, sol) -> dict:
    from fem_sse.transport.certify1d import compare
    from fem_sse.transport.eafe import EafeProblem
    from fem_sse.transport.eafe_solve import gather_profile, solve
    from fem_sse.transport.metrics1d import fem_metrics
    from fem_sse.transport.results import TransportResult

    problem = EafeProblem(config, uniform_mesh(config, comm, cells))
    start = time.perf_counter()
    result = solve(problem, sol)
    profile = gather_profile(problem)
    metrics = comm.bcast(fem_metrics(config, profile) if comm.rank == 0 else None, root=0)
    diff = compare(TransportResult.of(result, metrics), TransportResult.from_summary(exact),
                   config.thickness)
    problem.destroy()
    return {"cells": cells, "dofs": problem.imap.size_global,
            "one_minus_t_li": result["one_minus_t_li"], **diff,
            "newton_iterations": result["newton_iterations"],
            "time_s": time.perf_counter() - start}


def rates(rows: list[dict], key: str) -> list[float | None]:
    """log2(e_N / e_2N) between consecutive rows (None where an error is 0 or missing)."""
    out = []
    for a, b in zip(rows[:-1], rows[1:]):
        ea, eb = a[key], b[key]
        ok = ea and eb and ea > 0 and eb > 0
        out.append(float(np.log(ea / eb) / np.log(b["cells"] / a["cells"])) if ok else None)
    return out


def table(path: Path) -> str:
    """Markdown table of an eafe_rates JSON: per case and N, the errors (for the docs)."""
    data = json.loads(path.read_text())

    def fmt(value):
        return "-" if value is None else f"{value:.1e}"
    lines = ["| case (cancellation ratio) | N | 1 - t_Li (rel.) | jumps (/L) | interface mu (eV) |",
             "|---|---|---|---|---|"]
    for name, case in data["cases"].items():
        label = f"{Path(name).stem if name.endswith('.toml') else name} "
        label += f"({case['cancellation_ratio']:.1e})"
        for row in case["rows"]:
            lines.append(f"| {label} | {row['cells']} | {fmt(row['rel_err_one_minus_t'])} | "
                         f"{fmt(row['jump_err_over_L'])} | {fmt(row['mu_interface_err_eV'])} |")
            label = ""
    return "\n".join(lines)


def main(argv=None) -> int:
    from mpi4py import MPI

    from fem_sse.app.transport_case import solve_exact_case as _solve_exact
    from fem_sse.transport.start1d import cancellation_ratio

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+",
                        default=[50, 100, 200, 400, 800, 1600, 3200, 6400])
    parser.add_argument("--cases", nargs="+", default=CASES)
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--table", action="store_true",
                        help="print the docs table of the existing eafe_rates.json and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table(Path(args.output) / "eafe_rates.json"))
        return 0
    comm = MPI.COMM_WORLD
    load_before = os.getloadavg()
    results = {}
    for name in args.cases:
        config = _config(name)
        exact, extras = _solve_exact(config)
        rows = [errors(config, comm, n, exact, extras.exact) for n in args.cells]
        results[name] = {
            "exact_one_minus_t_li": exact["one_minus_t_li"],
            "cancellation_ratio": cancellation_ratio(extras.exact), "rows": rows,
            "rates": {key: rates(rows, key) for key in
                      ("rel_err_one_minus_t", "jump_err_over_L", "mu_interface_err_eV")}}
        if comm.rank == 0:
            print(name, f"ratio {results[name]['cancellation_ratio']:.1e}", flush=True)
            for r in rows:
                jump = r["jump_err_over_L"]
                print(f"  N {r['cells']:6d}  1-t {r['rel_err_one_minus_t']:.2e}  jump "
                      f"{'-' if jump is None else format(jump, '.2e')}  mu "
                      f"{r['mu_interface_err_eV']:.2e}  newton {r['newton_iterations']}",
                      flush=True)
            print("  rates 1-t", [None if v is None else round(v, 2)
                                  for v in results[name]["rates"]["rel_err_one_minus_t"]])
    if comm.rank == 0:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "eafe_rates.json").write_text(json.dumps(
            {"cases": results, "ranks": comm.size, "load_average_before": load_before,
             "load_average_after": os.getloadavg(), "cpus": os.cpu_count()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
