"""Stress test of the 1D FEM: seeded random stacks against the exact solution (issue 16).

    docker/run python3 bench/stress1d.py [--count 200] [--seed 16] [-o bench/results]

Each stack: 20-200 um thick, 1-6 layers (each its own material, B anywhere in or up to 0.2 eV
outside the electrode window, in any order along x), 0-5 bottleneck strips (some centred on a
layer interface) of width 10 nm - 1 um and sigma_li factor 1e-5 - 1, T 250-400 K,
j 0.1-100 A/m^2 (one stack in five potentiostatic, at the ionic drop of such a current),
mu_cathode -3.4..-2.2 eV, mu_anode -0.3..+0.12 eV, sigma_li 0.01-1 S/m, A 1e-18..1e-16 S/m.

Most drawn galvanostatic stacks are electronic shorts; 85 % of the indices redraw until the
exact solver finds a steady state (:func:`random_stack`). Both solvers run on every stack.

Outcomes: "converged" (FEM certified against exact, within TARGETS), "no steady state" (both
say so), "failed" (exit 3 where the exact solver finds a state), "caught by the exact check"
(the FEM result differed and the run said so: exit 3), "refused (precision limit)" (exit 3
before the solve: the exact state's cancellation ratio exceeds
fem_sse.transport.start1d.CANCELLATION_LIMIT), "wrong" (reported converged but beyond the
targets), "not converged (within targets)" / "not converged (off the targets)" (the run
returned a state but said converged: false, e.g. its adaptive loop stopped on "refinement
failed"), "error" (any other exception), "timeout". ``--indices 7,141`` reruns given stacks.

Writes bench/results/NAME.json after every stack: the configs, per-stack errors vs exact
(1 - t_Li relative, jump positions / L, interface mu in eV), DOFs, cells, solve times, and the
summary (convergence rates, error maxima, median and slowest solve time, load average before
and after). ``--table`` prints the docs tables of an existing JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import sys
import time
from pathlib import Path

import numpy as np

from fem_sse.transport.start1d import CANCELLATION_LIMIT

ROOT = Path(__file__).resolve().parent.parent
# the issue's targets
TARGETS = {"rel_err_one_minus_t": 1e-4, "jump_err_over_L": 1e-4, "mu_interface_err_eV": 1e-4}


def _log_uniform(rng, lo: float, hi: float) -> float:
    return float(f"{10.0 ** rng.uniform(math.log10(lo), math.log10(hi)):.4g}")


def _round(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def _strips(rng, edges: list[float], count: int) -> list[dict]:
    """``count`` non-overlapping strips inside (0, L), some centred on a layer interface."""
    length = edges[-1]
    strips = []
    for _ in range(50 * count):
        if len(strips) == count:
            break
        width = _log_uniform(rng, 1e-8, 1e-6)
        if len(edges) > 2 and rng.random() < 0.35:
            center = float(edges[rng.integers(1, len(edges) - 1)])
        else:
            center = _round(rng.uniform(0.0, length), 6)
        x0, x1 = center - width / 2, center + width / 2
        margin = 2e-6 * length  # the mesh generator's tolerance is 1e-6 L per piece
        if x0 < margin or x1 > length - margin:
            continue
        if any(abs(x - e) < margin for e in edges for x in (x0, x1)):
            continue
        if any(x0 < s["center"] + s["width"] / 2 + margin
               and s["center"] - s["width"] / 2 - margin < x1 for s in strips):
            continue
        strips.append({"center": center, "width": width,
                       "sigma_li_factor": _log_uniform(rng, 1e-5, 1.0),
                       "name": f"S{len(strips)}"})
    return sorted(strips, key=lambda s: s["center"])


def random_stack(seed: int, index: int) -> dict:
    """The config (TOML-like dict) of stack ``index`` of the seeded family ``seed``.

    Over these ranges most galvanostatic stacks are electronic shorts (no steady state), so
    for 85 % of the indices the stack is redrawn (up to 30 times, same generator) until the
    exact solver finds a steady state; the other 15 % are kept as drawn.
    """
    from fem_sse.spec.config import parse_config
    from fem_sse.transport.exact1d import SolveError, solve_exact

    rng = np.random.default_rng([seed, index])
    want_state = rng.random() < 0.85
    potentiostatic = rng.random() < 0.2  # always has a steady state: decided before redraws
    for _ in range(30):
        data = _draw(rng, f"stress1d_{seed}_{index}", potentiostatic)
        if not want_state:
            return data
        try:
            solve_exact(parse_config(json.loads(json.dumps(data))))
            return data
        except SolveError:
            continue
    return data


def _draw(rng, name: str, potentiostatic: bool) -> dict:
    """One random stack (see the module docstring for the ranges)."""
    mu_c = _round(rng.uniform(-3.4, -2.2))
    mu_a = _round(rng.uniform(-0.3, 0.12))
    cell = {"temperature": _round(rng.uniform(250.0, 400.0)), "mu_cathode": mu_c,
            "mu_anode": mu_a}
    n_layers = int(rng.integers(1, 7))
    total = _log_uniform(rng, 2e-5, 2e-4)  # m; layers of at least 1 um
    shares = rng.dirichlet(np.ones(n_layers))
    materials, layers = {}, []
    for k in range(n_layers):
        material = f"M{k}"
        materials[material] = {"sigma_li": _log_uniform(rng, 0.01, 1.0),
                           "A": _log_uniform(rng, 1e-18, 1e-16),
                           "B": _round(rng.uniform(mu_c - 0.2, mu_a + 0.2))}
        layers.append({"material": material,
                       "thickness": _round(max(1e-6, shares[k] * total))})
    edges = list(np.cumsum([0.0] + [lay["thickness"] for lay in layers]))
    strips = _strips(rng, edges, int(rng.integers(0, 6)))
    j = _log_uniform(rng, 0.1, 100.0)
    data = {"name": name, "cell": cell, "materials": materials,
            "geometry": {"dim": 1, "layers": layers, "bottlenecks": strips}}
    if potentiostatic:  # at the ionic drop of an all-ionic current j
        resistance = _ionic_resistance(data)
        cell["ionic_potential_drop"] = _round(j * resistance)
    else:
        cell["current_density"] = j
    return data


def _ionic_resistance(data: dict) -> float:
    from fem_sse.spec.config import parse_config

    probe = json.loads(json.dumps(data))
    probe["cell"]["current_density"] = 1.0
    return float(parse_config(probe).ionic_resistance(parse_config(probe).thickness)[0])


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Timeout()


def run_stack(data: dict, comm, timeout: float | None = None, solver: str = "fem",
              fallback: str = "none") -> dict:
    """Exact and FEM (``solver``: "fem" or "fem-eafe") solves of one stack; the record of the
    outcome (see module docstring). ``fallback``: the 1D ``solver.fallback`` of a "fem" run
    ("none", the default here: the W formulation alone is measured)."""
    from fem_sse.spec.config import parse_config
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.exact1d import SolveError
    from fem_sse.transport.certify1d import compare
    from fem_sse.transport.results import TransportResult
    from fem_sse.transport.exact1d import solve_exact
    from fem_sse.transport.start1d import cancellation_ratio
    from fem_sse.app.run import solve_case

    data = json.loads(json.dumps(data))
    data.setdefault("solver", {})["fallback"] = fallback
    config = parse_config(data, data["name"])
    record = {"name": data["name"], "layers": len(config.layers),
              "strips": len(config.bottlenecks),
              "mode": "galvanostatic" if config.cell.galvanostatic else "potentiostatic"}
    try:
        exact, _ = solve_case(config, comm, "exact")
        record.update(exact_one_minus_t=exact["one_minus_t_li"],
                      exact_jumps=len(exact["jumps"]),
                      drift_ratio=cancellation_ratio(solve_exact(config)))
    except SolveError as exc:
        exact = None
        record["exact"] = f"no steady state: {str(exc)[:160]}"
    use_alarm = timeout and comm.size == 1 and hasattr(signal, "SIGALRM")
    if use_alarm:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.perf_counter()
    try:
        fem, _ = solve_case(config, comm, solver)
    except SolveError as exc:  # the FEM's "no steady state" (the exact diagnosis)
        fem, record["fem_error"] = None, str(exc)[:300]
        record["outcome"] = "no steady state" if exact is None else "failed"
    except ConvergenceError as exc:
        fem, record["fem_error"] = None, str(exc)[:300]
        record["outcome"] = "failed" if exact is not None else "no steady state (exit 3)"
        record["diagnosis_stage"] = exc.diagnosis.stage
        if str(exc.diagnosis.stage or "").startswith("precision check"):
            record["outcome"] = "refused (precision limit)"
        if exc.diagnosis.exact_check is not None:  # a wrong result, caught by the check
            record["outcome"] = "caught by the exact check"
            record.update({k: exc.diagnosis.exact_check.differences[k] for k in TARGETS})
        record["hint"] = exc.diagnosis.hint
    except _Timeout:
        fem, record["outcome"] = None, "timeout"
    except Exception as exc:  # noqa: BLE001 - a bench records every outcome
        fem, record["outcome"] = None, "error"
        record["fem_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
    record["time_s"] = time.perf_counter() - start
    if fem is None:
        return record
    record.update(dofs=fem["dofs"], cells=fem["cells"], newton=fem["newton_iterations"],
                  refinement_steps=fem.get("refinement_steps"),
                  one_minus_t=fem["one_minus_t_li"])
    if "exact_check" in fem:
        record["exact_check"] = fem["exact_check"]
    if exact is None:
        record["outcome"] = "wrong (FEM converged, exact: no steady state)"
        return record
    err = compare(TransportResult.from_summary(fem), TransportResult.from_summary(exact), config.thickness)
    record.update(err)
    # t_Li itself: where 1 - t_Li ~ 1 (electronic leakage >> ionic current) its relative
    # error says nothing, that of t_Li (= of the electronic current) does
    record["rel_err_t_li"] = (abs(fem["t_li"] / exact["t_li"] - 1.0) if exact["t_li"] > 0.0
                              else None)
    ok = all(err[k] is not None and err[k] <= v for k, v in TARGETS.items())
    # the run's own verdict counts too: a loop that stopped before its tolerance (e.g.
    # "refinement failed", keeping an earlier mesh) said "not converged", even within targets
    record.update(fem_converged=fem.get("converged"), stop_reason=fem.get("stop_reason"))
    if fem.get("converged", True):
        record["outcome"] = "converged" if ok else "wrong"
    else:
        record["outcome"] = ("not converged (within targets)" if ok
                             else "not converged (off the targets)")
    return record


RATIO_BINS = (1e3, 1e6, 1e9, 1e12)


def _by_ratio(with_state: list[dict]) -> dict:
    """{bin: [converged, stacks]} over the exact state's cancellation ratio."""
    edges = (0.0, *RATIO_BINS, math.inf)
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = [r for r in with_state if lo <= r["drift_ratio"] < hi]
        out[f"[{lo:.0e}, {hi:.0e})"] = [sum(r["outcome"] == "converged" for r in inside),
                                        len(inside)]
    return out


def summarize(records: list[dict]) -> dict:
    """Counts by outcome, convergence rate over stacks with a steady state, error maxima,
    median and slowest solve time of the converged ones."""
    outcomes: dict[str, int] = {}
    for r in records:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    with_state = [r for r in records if "exact_one_minus_t" in r]
    good = [r for r in with_state if r["outcome"] == "converged"]
    times = [r["time_s"] for r in records if r["outcome"] in ("converged", "no steady state")]
    solved = [r for r in with_state if r["outcome"] == "converged"]
    limit = CANCELLATION_LIMIT
    fit = [r for r in with_state if r["drift_ratio"] <= limit]
    return {
        "stacks": len(records), "outcomes": outcomes,
        "with_exact_steady_state": len(with_state),
        "converged_rate": len(good) / max(len(with_state), 1),
        "cancellation_limit": limit,
        "with_steady_state_within_limit": len(fit),
        "converged_rate_within_limit": (sum(r["outcome"] == "converged" for r in fit)
                                        / max(len(fit), 1)),
        "converged_beyond_limit": sum(r["outcome"] == "converged" for r in with_state
                                      if r["drift_ratio"] > limit),
        "by_cancellation_ratio": _by_ratio(with_state),
        "max_rel_err_one_minus_t": max((r["rel_err_one_minus_t"] for r in solved), default=None),
        "max_jump_err_over_L": max((r["jump_err_over_L"] for r in solved), default=None),
        "max_mu_interface_err_eV": max((r["mu_interface_err_eV"] for r in solved), default=None),
        "max_rel_err_t_li": max((r["rel_err_t_li"] for r in solved
                                 if r.get("rel_err_t_li") is not None), default=None),
        "median_time_s": float(np.median(times)) if times else None,
        "max_time_s": max(times, default=None),
        "median_dofs": float(np.median([r["dofs"] for r in solved])) if solved else None,
        "max_dofs": max((r["dofs"] for r in solved), default=None),
    }


def versus(path: Path, baseline: Path) -> str:
    """Markdown table: outcome in ``baseline`` (another run of the same stacks, e.g. the W-FEM)
    -> outcomes here, with the stacks' cancellation ratio range."""
    ours = {r["name"]: r for r in json.loads(path.read_text())["stacks"]}
    theirs = json.loads(baseline.read_text())["stacks"]
    rows: dict[str, dict[str, int]] = {}
    for r in theirs:
        if r["name"] in ours:
            cell = rows.setdefault(r["outcome"], {})
            cell[ours[r["name"]]["outcome"]] = cell.get(ours[r["name"]]["outcome"], 0) + 1
    lines = [f"| outcome in {baseline.name} | stacks | outcome here |", "|---|---|---|"]
    for outcome, cell in sorted(rows.items(), key=lambda kv: -sum(kv[1].values())):
        here = ", ".join(f"{k} {v}" for k, v in sorted(cell.items(), key=lambda kv: -kv[1]))
        lines.append(f"| {outcome} | {sum(cell.values())} | {here} |")
    return "\n".join(lines)


def table(path: Path) -> str:
    """Markdown tables (outcomes; errors, DOFs and times) of a stress1d JSON, for the docs."""
    data = json.loads(path.read_text())
    stacks = data["stacks"]
    # the counts from the stacks themselves (the same function as the run's summary)
    summary = {**data["summary"], **summarize(stacks)}
    lines = ["| outcome | stacks |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(summary["outcomes"].items(),
                                                   key=lambda kv: -kv[1])]

    def fmt(value, spec=".2g"):
        return "-" if value is None else format(value, spec)
    load = summary["load_average_before"], summary["load_average_after"]
    lines += ["", "| quantity | value |", "|---|---|",
              f"| stacks (seed {summary['seed']}) | {summary['stacks']} |",
              f"| with an exact steady state | {summary['with_exact_steady_state']} |",
              f"| of those converged (certified) | {fmt(summary['converged_rate'], '.1%')} |",
              "| with a steady state and cancellation ratio <= "
              f"{summary['cancellation_limit']:.0e} | "
              f"{summary['with_steady_state_within_limit']} |",
              "| of those converged | "
              f"{fmt(summary['converged_rate_within_limit'], '.1%')} |",
              "| max error 1 - t_Li (relative), converged | "
              f"{fmt(summary['max_rel_err_one_minus_t'])} |",
              f"| max jump error / L, converged | {fmt(summary['max_jump_err_over_L'])} |",
              "| max interface mu error (eV), converged | "
              f"{fmt(summary['max_mu_interface_err_eV'])} |",
              f"| median / max DOFs, converged | {fmt(summary['median_dofs'], '.0f')} / "
              f"{fmt(summary['max_dofs'], '.0f')} |",
              f"| median / slowest solve (s), converged or no steady state | "
              f"{fmt(summary['median_time_s'], '.2f')} / {fmt(summary['max_time_s'], '.2f')} |",
              f"| load average (1 min) before / after, {summary['cpus']} cores | "
              f"{load[0][0]:.1f} / {load[1][0]:.1f} |"]
    lines += ["", "| cancellation ratio of the exact state | converged / with a steady state |",
              "|---|---|"]
    lines += [f"| {k} | {v[0]} / {v[1]} |" for k, v in summary["by_cancellation_ratio"].items()]
    wrong = sum(r["outcome"] == "wrong" for r in stacks)
    lines += ["", f"Reported converged but wrong: {wrong}."]
    t_errors = [r["rel_err_t_li"] for r in stacks
                if r["outcome"] == "converged" and r.get("rel_err_t_li") is not None]
    if t_errors:
        lines += [f"Max error of t_Li (relative), converged: {max(t_errors):.2e}."]
    if summary.get("solver", "fem") != "fem":
        lines += [f"Solver: {summary['solver']}."]
    return "\n".join(lines)


def stacks_table(path: Path) -> str:
    """Markdown table, one row per stack of a (small, e.g. rerun) stress1d JSON: outcome, the
    loop's stop reason and the errors against the exact solution."""
    def fmt(value):
        return "-" if value is None else f"{value:.2e}"
    lines = ["| stack | mode | outcome | stop reason | 1 - t_Li (rel.) | t_Li (rel.) | "
             "jump / L | interface mu (eV) |", "|---|---|---|---|---|---|---|---|"]
    for r in json.loads(path.read_text())["stacks"]:
        lines.append(f"| {r['index']} | {r['mode']} | {r['outcome']} | "
                     f"{r.get('stop_reason') or '-'} | {fmt(r.get('rel_err_one_minus_t'))} | "
                     f"{fmt(r.get('rel_err_t_li'))} | {fmt(r.get('jump_err_over_L'))} | "
                     f"{fmt(r.get('mu_interface_err_eV'))} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--first", type=int, default=0, help="index of the first stack")
    parser.add_argument("--timeout", type=float, default=120.0, help="per stack (s)")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--name", default="stress1d", help="JSON file name (without .json)")
    parser.add_argument("--solver", default="fem", choices=("fem", "fem-eafe"),
                        help="the FEM scheme: the W formulation or the exponentially fitted one")
    parser.add_argument("--fallback", default="none", choices=("none", "fem-eafe"),
                        help="solver.fallback of the 'fem' runs (default none: the W formulation "
                             "alone; fem-eafe: what `fem-sse run` does by default)")
    parser.add_argument("--rerun", metavar="JSON",
                        help="run only the stacks of this earlier result (its seed and indices) "
                             "whose outcome is one of --outcomes")
    parser.add_argument("--outcomes", default="refused (precision limit),failed,timeout,"
                        "caught by the exact check,error",
                        help="comma-separated outcomes selected by --rerun")
    parser.add_argument("--indices", metavar="I,J,...",
                        help="run only these stack indices (of --seed), e.g. to rerun the "
                             "stacks a change affects")
    parser.add_argument("--versus", metavar="JSON",
                        help="with --table: also the outcomes against an earlier run of the "
                             "same stacks (e.g. bench/results/stress1d.json, the W-FEM)")
    parser.add_argument("--stacks-table", action="store_true",
                        help="print one row per stack of the existing NAME.json and exit")
    parser.add_argument("--table", action="store_true",
                        help="print the docs tables of the existing NAME.json and exit")
    args = parser.parse_args(argv)
    if args.stacks_table:
        print(stacks_table(Path(args.output) / f"{args.name}.json"))
        return 0
    if args.table:
        print(table(Path(args.output) / f"{args.name}.json"))
        if args.versus:
            print("\n" + versus(Path(args.output) / f"{args.name}.json", Path(args.versus)))
        return 0
    comm = MPI.COMM_WORLD
    from fem_sse.spec.config import load_config
    from fem_sse.app.run import solve_case

    # JIT warm-up: the first FEM solve compiles the forms (shared by all 1D stacks)
    solve_case(load_config(ROOT / "cases" / "fig3_bilayer.toml"), comm, args.solver)
    load_before = os.getloadavg()
    records = []
    indices = range(args.first, args.first + args.count)
    if args.rerun:
        earlier = json.loads(Path(args.rerun).read_text())
        args.seed = earlier["summary"]["seed"]
        wanted = set(args.outcomes.split(","))
        indices = [earlier["summary"]["first"] + i for i, r in enumerate(earlier["stacks"])
                   if r["outcome"] in wanted][:args.count]
    if args.indices:
        indices = [int(i) for i in args.indices.split(",")]
    for index in indices:
        data = random_stack(args.seed, index)
        record = run_stack(data, comm, args.timeout, args.solver, args.fallback)
        record["index"] = index
        record["config"] = data
        records.append(record)
        if comm.rank == 0:
            extra = (" err {}/{}/{}".format(*(f"{record[k]:.2e}" if record[k] is not None
                                                 else "-" for k in TARGETS))
                     if "rel_err_one_minus_t" in record else f" {record.get('fem_error', '')[:90]}")
            print(f"{index:4d} {record['outcome']:<24s} {record['time_s']:7.2f} s "
                  f"R {record.get('drift_ratio', 0):.1e}{extra}",
                  flush=True)
        _write(args, records, load_before, comm)  # after every stack: a partial run counts
    if comm.rank == 0:
        print(json.dumps(_write(args, records, load_before, comm), indent=1))
    return 0


def _write(args, records: list[dict], load_before, comm) -> dict:
    """Write bench/results/NAME.json (rank 0); returns the summary."""
    summary = summarize(records)
    summary.update(seed=args.seed, first=args.first, requested=args.count,
                   solver=args.solver, fallback=args.fallback, rerun_of=args.rerun,
                   rerun_outcomes=args.outcomes if args.rerun else None,
                   load_average_before=load_before, load_average_after=os.getloadavg(),
                   ranks=comm.size, machine=platform.machine(), cpus=os.cpu_count(),
                   targets=TARGETS)
    if comm.rank == 0:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{args.name}.json").write_text(json.dumps(
            {"summary": summary, "stacks": records}, indent=1, default=str) + "\n")
    return summary


if __name__ == "__main__":
    sys.exit(main())
