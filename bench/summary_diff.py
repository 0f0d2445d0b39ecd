"""Refactoring check: run cases, keep their summary.json, and diff two such runs.

    docker/run python3 bench/summary_diff.py run OUT [--cases GLOB ...] [--solver fem|exact|...]
    docker/run python3 bench/summary_diff.py diff BEFORE AFTER [--json REPORT]

``run`` solves every case (default: the 20 paper cases, cases/2d and the 1D design case with
mechanics) through :func:`fem_sse.app.run.run_case` without PNGs and copies each summary.json
to ``OUT/<solver>/<case>.json`` (a failed solve keeps its not-converged summary), with the load
average in ``OUT/<solver>/_run.json``. ``diff`` compares two such folders key by key, in key
order too, ignoring the wall times (keys ending in ``time_s``, and the seconds the W solve's
budget message names: "stopped by its budget after 2 s"), and exits 1 on any difference;
``--json`` writes the verdict per summary, with the runs' load averages and statuses.
A summary written by the code before and after a refactoring must be identical.
``--cases "bench/failing_cases/*.toml"`` adds cases that fail on purpose (Newton capped at one
iteration, with and without the fallback; no steady state) or whose W solve a tiny
``solver.w_budget_s`` stops: their not-converged summaries and diagnoses, and the fallback
block (bench/results/summary_diff_diag_s12.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ("cases/fig*.toml", "cases/2d/*.toml", "cases/design/best_1d.toml")


def _timing(key) -> bool:
    return isinstance(key, str) and key.endswith("time_s")


#: the wall time a budget message names (fem_sse/transport/budget.py)
_BUDGET_SECONDS = re.compile(r"(stopped by its budget after )\d+( s)")


def strip_times(value):
    """``value`` without wall-time keys (at any depth) and with the seconds of a budget
    message masked, key order kept."""
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if not _timing(k)}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    if isinstance(value, str):
        return _BUDGET_SECONDS.sub(r"\1?\2", value)
    return value


def differences(a, b, path: str = "") -> list[str]:
    """Human-readable differences between two JSON values (keys, their order, values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        if list(a) != list(b):
            out.append(f"{path or '/'}: keys {list(a)} != {list(b)}")
        for k in a:
            if k in b:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def run(out: Path, patterns, solver: str | None) -> None:
    from mpi4py import MPI

    from fem_sse.app.run import run_case
    from fem_sse.spec.config import load_config

    comm = MPI.COMM_WORLD
    target = out / (solver or "default")
    target.mkdir(parents=True, exist_ok=True)
    files = sorted({p for pattern in patterns for p in ROOT.glob(pattern)})
    log = {"load_average_start": os.getloadavg(), "cases": {}}
    for path in files:
        config = load_config(path)
        if solver == "exact" and config.dim != 1:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outdir = Path(tmp) / "out"
            start = time.perf_counter()
            try:
                run_case(config, outdir, comm, solver, png=False)
                status = "ok"
            except Exception as exc:  # a not-converged run writes its summary too
                status = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            if comm.rank == 0 and (outdir / "summary.json").exists():
                shutil.copy(outdir / "summary.json", target / f"{config.name}.json")
            log["cases"][config.name] = {"status": status,
                                         "wall_time_s": time.perf_counter() - start}
        if comm.rank == 0:
            print(f"{config.name}: {status}", flush=True)
    log["load_average_end"] = os.getloadavg()
    if comm.rank == 0:
        (target / "_run.json").write_text(json.dumps(log, indent=1))


def diff(before: Path, after: Path, report: Path | None = None) -> int:
    names_a = {p.relative_to(before) for p in before.rglob("*.json") if p.name != "_run.json"}
    names_b = {p.relative_to(after) for p in after.rglob("*.json") if p.name != "_run.json"}
    bad, verdicts = 0, {}
    for name in sorted(names_a ^ names_b):
        print(f"{name}: only in {'before' if name in names_a else 'after'}")
        verdicts[str(name)] = f"only in {'before' if name in names_a else 'after'}"
        bad += 1
    for name in sorted(names_a & names_b):
        a = strip_times(json.loads((before / name).read_text()))
        b = strip_times(json.loads((after / name).read_text()))
        found = differences(a, b)
        print(f"{name}: {'identical' if not found else f'{len(found)} difference(s)'}")
        for line in found[:20]:
            print("    " + line)
        verdicts[str(name)] = found[:20] or "identical"
        bad += bool(found)
    print(f"{len(names_a & names_b)} summaries compared, {bad} differ")
    if report is not None:
        runs = {f"{side}/{log.parent.name}": json.loads(log.read_text())
                for side, root in (("before", before), ("after", after))
                for log in sorted(root.glob("*/_run.json"))}
        report.write_text(json.dumps({"compared": len(names_a & names_b), "differ": bad,
                                      "summaries": verdicts, "runs": runs}, indent=1))
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    r.add_argument("--cases", nargs="*", default=list(DEFAULT_CASES))
    r.add_argument("--solver", default=None)
    d = sub.add_parser("diff")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    d.add_argument("--json", type=Path, default=None, help="write the verdicts here")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.out, args.cases, args.solver)
        return 0
    return diff(args.before, args.after, args.json)


if __name__ == "__main__":
    sys.exit(main())
