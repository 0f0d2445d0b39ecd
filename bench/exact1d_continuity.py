"""Continuity of the exact 1D state over the random stacks of bench/stress1d.py and the paper
cases, with a solver-independent check of the stacks whose root is ulp-sensitive.

    docker/run python3 bench/exact1d_continuity.py [--seed 16 --count 200] [-o bench/results]
    docker/run python3 bench/exact1d_continuity.py --table     # the docs table of the JSON

Per stack: the exact solver's outcome and, for a steady state, the largest miss (eV) of a
segment's closed-form trajectory at its far end (``exact1d._join_defects``; the solver raises
beyond ``CONTINUITY_TOL_EV``). For ``--radau`` stacks (default 31 and 122 of seed 16) every
segment end is compared with stiff Radau integrations (scipy, Kirchhoff variable, no closed
form) from the cathode up to the end where cathode and anode integrations meet and from the
anode after it, with the exact solver's currents, and 1 - t_Li is found again by shooting
(the currents for which those integrations meet); also for ``--radau-cases`` paper cases.
Writes bench/results/exact1d_continuity.json (exact solver: ~30 s; the Radau checks ~3 min).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def integrate(config, sol, upto: int, direction: int, x_extra=()) -> dict:
    """mu (eV) at the segment ends (and at ``x_extra`` (m)) by Radau integration of
    dW/dx = j_e - (j_i / sigma_li) sigma_eh(W), W = 2 A kT sinh((mu - B)/kT), from the cathode
    (direction +1) or the anode (-1) up to end ``upto``, with the exact solver's currents."""
    import numpy as np
    from scipy.integrate import solve_ivp

    kT, segs = config.cell.kT, config.segments()
    order = range(upto) if direction > 0 else reversed(range(upto, len(segs)))
    mu = config.cell.mu_cathode if direction > 0 else config.cell.mu_anode
    out = {0.0 if direction > 0 else segs[-1].x1: mu}
    for i in order:
        seg, m = segs[i], segs[i].material
        span = (seg.x0, seg.x1) if direction > 0 else (seg.x1, seg.x0)
        inner = sorted((x for x in x_extra if seg.x0 < x < seg.x1), reverse=direction < 0)
        drift, scale = sol.j_ionic / m.sigma_li, 2.0 * m.A * kT

        def rhs(x, v, m=m, drift=drift, scale=scale):
            return [(sol.j_electronic - drift * 2.0 * m.A * math.sqrt(v[0] ** 2 + 1.0)) / scale]

        v0 = math.sinh((mu - m.B) / kT)
        res = solve_ivp(rhs, span, [v0], method="Radau", rtol=1e-12,
                        atol=1e-9 * max(1.0, abs(v0)), t_eval=[*inner, span[1]])
        values = m.B + kT * np.arcsinh(res.y[0])
        out.update(zip([*inner, span[1]], values))
        mu = float(values[-1])
    return out


def two_sided(config, sol, x_extra=()) -> tuple[int, dict]:
    """(meeting end, {x: mu}): Radau from the cathode up to the end where the integrations
    from both electrodes agree best, from the anode after it."""
    edges = sol.x_edges()
    n = len(sol.segments)
    fw, bw = integrate(config, sol, n, +1), integrate(config, sol, 0, -1)
    meet = min(range(n + 1), key=lambda k: abs(fw[edges[k]] - bw[edges[k]]))
    fw = integrate(config, sol, meet, +1, x_extra)
    bw = integrate(config, sol, meet, -1, x_extra)
    return meet, {**bw, **fw}


def shoot(config, sol, meet: int) -> float:
    """ln(j_e/j_i) (-) for which the Radau integrations from both electrodes meet at end
    ``meet`` (brentq within 1e-6 of the exact solver's value): t_Li without the closed form."""
    import dataclasses

    from scipy.optimize import brentq

    from fem_sse.transport.exact1d import _currents

    def gap(log_ratio):
        j_i, j_e = _currents(config, log_ratio)
        trial = dataclasses.replace(sol, j_ionic=j_i, j_electronic=j_e)
        x = sol.x_edges()[meet]
        return (integrate(config, trial, meet, +1)[x] - integrate(config, trial, meet, -1)[x])

    width = 1e-6 * (1.0 + abs(sol.log_ratio))
    return brentq(gap, sol.log_ratio - width, sol.log_ratio + width, xtol=1e-14, rtol=1e-15)


def check(name: str, config, radau: bool) -> dict:
    from fem_sse.errors import ConvergenceError, SolveError
    from fem_sse.transport.exact1d import _join_defects, solve_exact

    try:
        sol = solve_exact(config)
    except SolveError:
        return {"name": name, "outcome": "no steady state"}
    except ConvergenceError as exc:
        return {"name": name, "outcome": "defect raised", "diagnosis": exc.diagnosis.to_summary()}
    row = {"name": name, "outcome": "steady state", "segments": len(sol.segments),
           "one_minus_t_li": sol.one_minus_t_li,
           "max_join_miss_eV": max(_join_defects(sol.segments, sol.log_ratio,
                                                 sol.j_electronic, sol.kT, sol.mu_edges))}
    if radau:
        meet, ref = two_sided(config, sol)
        row.update(radau_meeting_end=meet, radau_max_edge_err_eV=max(
            abs(mu - ref[x]) for mu, x in zip(sol.mu_edges, sol.x_edges())))
        omt = 1.0 / (1.0 + math.exp(-shoot(config, sol, meet)))
        row.update(radau_one_minus_t_li=omt,
                   radau_rel_err_one_minus_t=abs(omt / sol.one_minus_t_li - 1.0))
    return row


def run(seed: int, count: int, radau: set[int], radau_cases: set[str]) -> list[dict]:
    import stress1d
    from fem_sse.spec.config import load_config, parse_config

    rows = []
    for path in sorted((ROOT / "cases").glob("*.toml")):
        config = load_config(path)
        if config.dim == 1:
            rows.append({"kind": "paper", **check(path.stem, config, path.stem in radau_cases)})
    for index in range(count):
        data = stress1d.random_stack(seed, index)
        config = parse_config(json.loads(json.dumps(data)), data["name"])
        rows.append({"kind": "random", "index": index,
                     **check(data["name"], config, index in radau)})
    return rows


def table(path: Path) -> str:
    data = json.loads(path.read_text())
    rows = data["rows"]
    lines = ["| stacks | count | steady state | no steady state | defect raised | "
             "max segment miss (eV) |", "|---|---|---|---|---|---|"]
    for kind, label in (("paper", "paper cases (1D)"),
                        ("random", f"random, seed {data['seed']}")):
        sel = [r for r in rows if r["kind"] == kind]
        ok = [r for r in sel if r["outcome"] == "steady state"]
        lines.append(f"| {label} | {len(sel)} | {len(ok)} | "
                     f"{sum(r['outcome'] == 'no steady state' for r in sel)} | "
                     f"{sum(r['outcome'] == 'defect raised' for r in sel)} | "
                     f"{max(r['max_join_miss_eV'] for r in ok):.1e} |")
    lines += ["", "| stack | segments | Radau meeting end | max segment-end error vs Radau (eV) "
              "| 1 - t_Li error vs Radau shooting (relative) |", "|---|---|---|---|---|"]
    for r in rows:
        if "radau_max_edge_err_eV" in r:
            label = f"random {r['index']}" if r["kind"] == "random" else r["name"]
            lines.append(f"| {label} | {r['segments']} | {r['radau_meeting_end']} | "
                         f"{r['radau_max_edge_err_eV']:.1e} | "
                         f"{r['radau_rel_err_one_minus_t']:.1e} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--radau", default="31,122", help="random stack indices checked by Radau")
    parser.add_argument("--radau-cases", default="fig3_bilayer,fig4b_bilayer_bottlenecks,"
                        "fig5c_anode_0.15,fig8a_geb", help="paper cases checked by Radau")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--table", action="store_true", help="print the docs table and exit")
    args = parser.parse_args(argv)
    out = Path(args.output) / "exact1d_continuity.json"
    if args.table:
        print(table(out))
        return 0
    load = os.getloadavg()
    rows = run(args.seed, args.count, {int(i) for i in args.radau.split(",") if i},
               set(args.radau_cases.split(",")) - {""})
    out.write_text(json.dumps({"seed": args.seed, "count": args.count, "rows": rows,
                               "load_average_before": load,
                               "load_average_after": os.getloadavg()}, indent=1) + "\n")
    print(table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
