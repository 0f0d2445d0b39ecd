"""How far the adaptive loop's change rule alone would stop from the exact answer (1D).

    docker/run python3 bench/stop_rule.py [--seeds 16,17,18] [--timeout 60] [-o bench/results]
    docker/run python3 bench/stop_rule.py --text   # the summary docs/robustness.md quotes

The adaptive loop stops when 1 - t_Li changed by less than ``solver.tolerance`` (relative) on
two consecutive refinement steps and, in 1D, the result passes the exact check. 2D runs have
no exact check: the change rule is all that stops them. This script runs the 1D default
scheme (``fem-eafe``) on the stacks of bench/stress1d.py that have an exact steady state,
takes each run's refinement history, finds the step at which the change rule alone would have
stopped, and compares 1 - t_Li there with the exact value. Writes
bench/results/stop_rule.json: per stack the step the rule picks, the loop's last step, the
relative error of 1 - t_Li at both; totals: stacks, how many the rule would stop beyond 1e-4.
Stacks whose run fails or takes longer than ``--timeout`` (s) are listed, not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import stress1d  # noqa: E402

TARGET = 1e-4  # relative error of 1 - t_Li (issue 16's 1D target)


def rule_stop(history: list[float], tolerance: float) -> int | None:
    """The refinement step at which two consecutive relative changes of 1 - t_Li are below
    ``tolerance`` (None: never)."""
    small = [abs(b / a - 1.0) <= tolerance if a else False
             for a, b in zip(history, history[1:])]
    for k in range(1, len(small)):
        if small[k - 1] and small[k]:
            return k + 1
    return None


def audit(seed: int, index: int, timeout: float) -> dict | None:
    """The record of one stack (None: no exact steady state)."""
    from fem_sse.app.run import solve_case
    from fem_sse.errors import ConvergenceError, SolveError
    from fem_sse.spec.config import parse_config
    from fem_sse.transport.exact1d import solve_exact

    config = parse_config(stress1d.random_stack(seed, index), f"stack_{index}")
    try:
        exact = solve_exact(config).one_minus_t_li
    except SolveError:
        return None
    record = {"seed": seed, "index": index}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        summary, _ = solve_case(config, MPI.COMM_SELF, "fem-eafe")
    except stress1d._Timeout:
        return {**record, "outcome": "timeout"}
    except ConvergenceError as exc:
        return {**record, "outcome": "failed", "error": str(exc)[:200]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
    history = [step["one_minus_t_li"] for step in summary["refinement_history"]]
    stop = rule_stop(history, config.solver.tolerance)
    return {**record, "outcome": "judged", "steps": len(history) - 1, "rule_step": stop,
            "rule_error": None if stop is None else abs(history[stop] / exact - 1.0),
            "final_error": abs(history[-1] / exact - 1.0)}


def text(path: Path) -> str:
    """docs/robustness.md's summary of a stop_rule JSON (``--text``)."""
    t = json.loads(path.read_text())["totals"]
    skipped = ", ".join(f"stack {k}: {v}" for k, v in t["not_judged"].items()) or "none"
    return (f"Seeds {t['seeds']}: {t['with_exact_steady_state']} stacks with an exact steady "
            f"state, {t['judged']} judged (not judged: {skipped}); the change rule alone "
            f"stops {t['rule_stops']} of them, {t['rule_stops_beyond_target']} beyond "
            f"{t['target']:g} in 1 - t_Li (largest error where it stops: "
            f"{t['max_rule_error']:.1e}).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="16,17,18")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--text", action="store_true",
                        help="print the docs summary of the existing JSON and exit")
    args = parser.parse_args(argv)
    if args.text:
        print(text(Path(args.output) / "stop_rule.json"))
        return 0
    signal.signal(signal.SIGALRM, stress1d._alarm)  # its timeout, as bench/stress1d.py's
    load_before = os.getloadavg()
    records = [r for seed in map(int, args.seeds.split(",")) for index in range(args.count)
               if (r := audit(seed, index, args.timeout)) is not None]
    judged = [r for r in records if r["outcome"] == "judged"]
    beyond = [r for r in judged if r["rule_error"] is not None and r["rule_error"] > TARGET]
    totals = {"seeds": args.seeds, "with_exact_steady_state": len(records),
              "judged": len(judged), "rule_stops": sum(r["rule_step"] is not None
                                                       for r in judged),
              "rule_stops_beyond_target": len(beyond), "target": TARGET,
              "not_judged": {str(r["index"]) + f" (seed {r['seed']})": r["outcome"]
                             for r in records if r["outcome"] != "judged"},
              "max_rule_error": max((r["rule_error"] for r in judged
                                     if r["rule_error"] is not None), default=None),
              "load_average_before": load_before, "load_average_after": os.getloadavg()}
    out = Path(args.output) / "stop_rule.json"
    out.write_text(json.dumps({"totals": totals, "records": records}, indent=1) + "\n")
    print(json.dumps(totals, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
