"""Fuzz fem-sse with generated configs: every one must run or be rejected cleanly (issue 8).

Each config (tests/config_strategies.py: fuzz_case) is written as TOML and goes the way of
``fem-sse run``: load_config, then run_case with the exact solver (most), FEM (some, with a
small cell budget), or validation only (2D). Outcomes:

* ``ran``: the run finished (summary.json written);
* ``rejected``: a ConfigError (exit code 2), one line naming the key;
* ``not_converged``: a clean solver failure (exit code 3: ConvergenceError / SolveError);
* ``traceback``: any other exception (a bug);
* ``hang``: no answer within the per-config timeout (the worker is killed and restarted).

The configs run in a worker process, so a hang or a crash cannot stop the fuzz::

    docker/run python3 bench/fuzz_configs.py --examples 500 --timeout 120

writes bench/results/fuzz_configs.json (counts, every failure with its config and traceback)
and exits 1 when there was a traceback or a hang.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


#: Shares of the fuzz mix: valid 1D configs for the exact solver (paper-like and the whole
#: documented ranges), valid 1D configs for FEM (small budgets), broken 1D configs, 2D configs
#: (validated only, half of them broken).
MIX = {"exact": 0.4, "wide": 0.16, "fem": 0.1, "bad": 0.2, "2d": 0.14}


def draw_cases(count: int, seed: int) -> list[tuple[dict, str]]:
    """``count`` (config, solver) pairs in the proportions of :data:`MIX`, reproducible by
    ``seed`` (each kind drawn by hypothesis, then shuffled)."""
    import random

    from config_strategies import fuzz_case
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    def _draw(strategy, size: int, key: int) -> list:
        drawn = []

        @hseed(key)
        @settings(max_examples=size, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(case):
            drawn.append(case)

        collect()
        return drawn[:size]

    cases = []
    sizes = {kind: round(share * count) for kind, share in MIX.items()}
    sizes["exact"] += count - sum(sizes.values())
    for n, (kind, size) in enumerate(sizes.items()):
        cases += _draw(fuzz_case(kind), size, seed + n)
    random.Random(seed).shuffle(cases)
    return cases


def _worker(conn) -> None:
    """Run the configs sent through ``conn`` until it closes."""
    import logging

    from config_strategies import run_outcome

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        while True:
            try:
                index, data, solver = conn.recv()
            except EOFError:
                return
            folder = Path(tmp) / f"case{index}"
            folder.mkdir()
            conn.send(run_outcome(data, solver, folder))


class Worker:
    """A worker process that is replaced when it hangs or dies."""

    def __init__(self):
        self.context = multiprocessing.get_context("spawn")
        self._start()

    def _start(self):
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()

    def run(self, index: int, data: dict, solver: str, timeout: float) -> dict:
        self.conn.send((index, data, solver))
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
            outcome = "traceback"
            message = f"worker died (exit code {self.process.exitcode})"
        else:
            outcome, message = "hang", f"no answer within {timeout:g} s"
        self.process.kill()
        self.process.join()
        self._start()
        return {"outcome": outcome, "message": message, "seconds": timeout}

    def close(self):
        self.conn.close()
        self.process.join(timeout=10)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="number of configs")
    parser.add_argument("--seed", type=int, default=8, help="hypothesis seed")
    parser.add_argument("--timeout", type=float, default=120.0, help="per config (s)")
    parser.add_argument("-o", "--output", default=str(HERE / "results" / "fuzz_configs.json"))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    cases = draw_cases(args.examples, args.seed)
    worker = Worker()
    records = []
    for index, (data, solver) in enumerate(cases):
        result = worker.run(index, data, solver, args.timeout)
        records.append({"index": index, "solver": solver, **result})
        if result["outcome"] in ("traceback", "hang", "not_converged"):
            records[-1]["config"] = data
            print(f"[{index}] {result['outcome']}: {result['message'].splitlines()[-1]}",
                  flush=True)
        if (index + 1) % 50 == 0:
            print(f"{index + 1}/{len(cases)} configs, {time.perf_counter() - start:.0f} s",
                  flush=True)
    worker.close()
    counts = {}
    for rec in records:
        key = f"{rec['outcome']} ({rec['solver']})"
        counts[key] = counts.get(key, 0) + 1
    totals = {name: sum(1 for r in records if r["outcome"] == name)
              for name in ("ran", "validated", "rejected", "not_converged", "traceback", "hang")}
    totals["accepted"] = len(records) - totals["rejected"]
    report = {
        "configs": len(records), "seed": args.seed, "timeout_s": args.timeout,
        "totals": totals, "by_solver": counts,
        "wall_time_s": time.perf_counter() - start,
        "slowest_s": sorted((r["seconds"] for r in records), reverse=True)[:5],
        "failures": [r for r in records if r["outcome"] in ("traceback", "hang")],
        "not_converged": [r for r in records if r["outcome"] == "not_converged"],
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    from fem_sse.io.outputs import atomic_write_text

    atomic_write_text(out, json.dumps(report, indent=1, default=str) + "\n")
    print(json.dumps(totals), f"-> {out}")
    return 1 if totals["traceback"] or totals["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
