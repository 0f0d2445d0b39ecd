"""The benchmark suite: one entry point, one JSON per (benchmark, rank count) run.

    docker/run python3 bench/suite.py --list
    docker/run python3 bench/suite.py [--only NAME ...] [--ranks 1 2] [--tag quick]
    docker/run python3 bench/report.py        # docs/benchmarks.md from the latest JSONs

Each benchmark runs in its own ``mpirun -n R`` process (so the peak memory is its own) and
writes ``bench/results/suite/NAME_rR.json``: machine (host, CPU, cores), versions (fem_sse,
DOLFINx, PETSc, Python, MPI), git commit, ranks, DOFs, wall time (s, max over ranks), peak
resident memory (MiB, max per rank and sum over ranks), Newton and Krylov iterations, plus the
benchmark's own numbers. Run the benchmarks one after another, never two at once: timings on a
shared 2-core machine are only comparable when nothing else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "suite"
SWEEP_CASE = ROOT / "cases" / "fig3_bilayer.toml"
CASE_2D = ROOT / "cases" / "2d" / "partial_contact.toml"


def _sweep(comm, solver: str, points: int = 200) -> dict:
    """A 1D sweep of the anode potential (-0.2..0.2 eV) of the Fig. 3 bilayer; one rank per
    run, so N ranks run N points side by side."""
    from fem_sse.spec.config import read_toml
    from fem_sse.app.studies import parse_axis, plan_sweep, run_sweep

    plan = plan_sweep(read_toml(SWEEP_CASE), (parse_axis(f"cell.mu_anode=-0.2:0.2:{points}"),),
                      name=SWEEP_CASE.stem)
    folder = tempfile.mkdtemp(prefix="bench_sweep_") if comm.rank == 0 else None
    folder = comm.bcast(folder, root=0)
    start = time.perf_counter()
    rows = run_sweep(plan, folder, comm, solver=solver, show_progress=False)
    wall = time.perf_counter() - start
    comm.barrier()
    if comm.rank == 0:
        shutil.rmtree(folder)
    done = [r for r in rows if r["status"] == "done"]
    return {"case": SWEEP_CASE.stem, "points": points, "solver": solver,
            "failed_points": points - len(done), "wall_time_s": wall,
            "wall_time_per_point_s": wall / points,
            "dofs": max((r["dofs"] for r in done), default=0),
            "newton_iterations": sum(r["newton_iterations"] for r in done),
            "krylov_iterations": None}


class _LinearSolves:
    """Counts the transport's linear solves and their Krylov iterations (MUMPS: 1 each)."""

    def __enter__(self):
        from fem_sse.transport.problem import TransportProblem

        self.solves = self.iterations = 0
        self.original = TransportProblem.linear_solve
        counter = self

        def counted(problem, A, b, x, prefix):  # noqa: N803
            iterations = counter.original(problem, A, b, x, prefix)
            counter.solves += 1
            counter.iterations += max(iterations, 1)
            return iterations

        TransportProblem.linear_solve = counted
        return self

    def __exit__(self, *exc):
        from fem_sse.transport.problem import TransportProblem

        TransportProblem.linear_solve = self.original


def _transport2d(comm, size: float) -> dict:
    """One uniform-mesh 2D solve of the partial-contact case (bench/transport2d.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import transport2d

    from fem_sse.spec.config import load_config

    with _LinearSolves() as count:
        row = transport2d.run(load_config(CASE_2D), size, comm)
    for key in ("machine", "dolfinx", "python", "peak_rss_MiB_sum", "peak_rss_MiB_max"):
        row.pop(key, None)
    return {**row, "linear_solves": count.solves, "krylov_iterations": count.iterations}


def _mechanics(comm, cells: int) -> dict:
    """The 2D elastic solve with CG + GAMG (bench/mechanics.py), cells x cells squares."""
    sys.path.insert(0, str(ROOT / "bench"))
    import mechanics

    row = mechanics.run(comm, cells, "iterative")
    row.pop("peak_rss_MB_rank0", None)
    row.pop("dolfinx", None)
    return {**row, "wall_time_s": row["mesh_time_s"] + row["mechanics_wall_time_s"],
            "krylov_iterations": row["ksp_iterations"], "newton_iterations": None}


#: name -> (function(comm) -> record, tags); "quick" runs in about a minute in all
BENCHMARKS = {
    "sweep_exact_200": (lambda comm: _sweep(comm, "exact"), {"quick", "sweep"}),
    "sweep_fem_200": (lambda comm: _sweep(comm, "fem"), {"sweep"}),
    "transport2d_h2e-06": (lambda comm: _transport2d(comm, 2e-6), {"quick", "2d"}),
    "transport2d_h5e-07": (lambda comm: _transport2d(comm, 5e-7), {"2d"}),
    "transport2d_h2e-07": (lambda comm: _transport2d(comm, 2e-7), {"2d", "large"}),
    "mechanics_gamg_160": (lambda comm: _mechanics(comm, 160), {"quick", "mechanics"}),
    "mechanics_gamg_707": (lambda comm: _mechanics(comm, 707), {"mechanics", "large"}),
}


def _machine() -> dict:
    cpu = platform.processor()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                 .splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0]}


def _versions() -> dict:
    import dolfinx
    from mpi4py import MPI
    from petsc4py import PETSc

    from fem_sse import __version__

    return {"fem_sse": __version__, "dolfinx": dolfinx.__version__,
            "petsc": ".".join(str(v) for v in PETSc.Sys.getVersion()),
            "python": sys.version.split()[0],
            "mpi": MPI.Get_library_version().splitlines()[0].strip()}


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _wait_for_load(limit: float, max_wait_s: float) -> None:
    """Sleep until the 1-minute load average drops below ``limit`` (or ``max_wait_s`` passed)."""
    start = time.perf_counter()
    while os.getloadavg()[0] >= limit and time.perf_counter() - start < max_wait_s:
        time.sleep(10.0)


def run_one(name: str, output: Path) -> dict:
    """Run benchmark ``name`` on COMM_WORLD (a child process) and write its JSON (rank 0)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    comm.barrier()
    start = time.perf_counter()
    record = BENCHMARKS[name][0](comm)
    elapsed = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB -> MiB
    record = {"benchmark": name, "ranks": comm.size, **record,
              "process_time_s": elapsed,
              "peak_rss_MiB_max": comm.allreduce(rss, op=MPI.MAX),
              "peak_rss_MiB_sum": comm.allreduce(rss, op=MPI.SUM),
              "machine": _machine(), "versions": _versions(), "commit": _commit(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if comm.rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        path = output / f"{name}_r{comm.size}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp, path)
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these benchmarks")
    parser.add_argument("--tag", help="run the benchmarks with this tag (e.g. quick, 2d)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1], help="rank counts")
    parser.add_argument("--max-load", type=float, default=None, metavar="L",
                        help="before each run, wait until the 1-minute load average is below L "
                             "(a shared machine), at most --max-wait seconds")
    parser.add_argument("--max-wait", type=float, default=900.0, metavar="S")
    parser.add_argument("-o", "--output", default=str(RESULTS))
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_one(args.child, Path(args.output))
        return 0
    if args.list:
        for name, (_, tags) in BENCHMARKS.items():
            print(f"{name:22s} {', '.join(sorted(tags))}")
        return 0
    unknown = set(args.only or ()) - set(BENCHMARKS)
    if unknown:
        print(f"bench/suite.py: error: unknown benchmark(s) {sorted(unknown)}; see --list",
              file=sys.stderr)
        return 2
    names = args.only or [n for n, (_, tags) in BENCHMARKS.items()
                          if args.tag is None or args.tag in tags]
    status = 0
    for name in names:
        for ranks in args.ranks:
            cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", __file__,
                   "--child", name, "-o", args.output]
            if args.max_load is not None:
                _wait_for_load(args.max_load, args.max_wait)
            start = time.perf_counter()
            code = subprocess.run(cmd).returncode
            path = Path(args.output) / f"{name}_r{ranks}.json"
            if code != 0 or not path.exists():
                print(f"{name} on {ranks} rank(s): FAILED (exit {code})", flush=True)
                status = 1
                continue
            rec = json.loads(path.read_text())
            print(f"{name:22s} r{ranks}: {rec.get('dofs') or 0:>9} DOFs, wall "
                  f"{rec['wall_time_s']:8.2f} s, Newton {rec.get('newton_iterations')}, Krylov "
                  f"{rec.get('krylov_iterations')}, peak {rec['peak_rss_MiB_max']:.0f} MiB/rank "
                  f"({time.perf_counter() - start:.0f} s with start-up) -> {path.name}",
                  flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
