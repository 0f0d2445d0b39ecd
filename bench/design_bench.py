"""Benchmark of the design assistant (issue 9 targets): a 50 x 50 map < 30 s, a 4-parameter
optimisation < 2 min, on this machine (one process; the exact 1D solver).

    docker/run python3 bench/design_bench.py [--points 50] [--seed 1]

Base case cases/design/bilayer_fig5.toml (the paper's Fig. 5c bilayer, anode at 0.15 eV).
Map: B of the anodic layer (-0.9..-0.4 eV) x its thickness fraction (0.05..0.6).
Optimisation (docs/design.md): B of both layers, the anodic fraction and the anodic A (log),
least electronic leakage (1 - t_Li) with every GEB jump within 1 % of L of an electrode, no
bottleneck in the zone open to overshoot and at most 25 % of L in tension above the strength
(two-state strain law); seeded differential evolution, popsize 15.
Writes bench/results/design_bench.json (wall times, evaluations, per-evaluation cost, failed
designs, the optimum, the machine's load average).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import tomllib

from fem_sse.app.design import (
    Evaluator,
    design_map,
    optimize,
    parse_constraint,
    parse_objective,
    parse_vary,
)

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "cases" / "design" / "bilayer_fig5.toml"
MAP_KEYS = ("materials.SE_anodic.B=-0.9:-0.4", "geometry.layers[1].fraction=0.05:0.6")
OPT_KEYS = ("materials.SE_anodic.B=-1.0:-0.4", "materials.SE_cathodic.B=-2.7:-2.0",
            "geometry.layers[1].fraction=0.05:0.6", "materials.SE_anodic.A=1e-18:1e-16:log")
OBJECTIVES = ("min:one_minus_t_li", "min:max_jump_distance_over_L")
CONSTRAINTS = ("max_jump_distance_over_L<=0.01", "bottlenecks_in_open_zone<=0",
               "tensile_over_strength_fraction<=0.25")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "design_bench.json"))
    args = parser.parse_args()
    base = tomllib.loads(CASE.read_text())

    evaluator = Evaluator(base, [parse_vary(k) for k in MAP_KEYS])
    load_before = os.getloadavg()
    result = design_map(evaluator, args.points)
    n_map = args.points ** 2
    failed = int((result["status"] != "ok").sum())
    map_record = {"keys": list(MAP_KEYS), "points": args.points, "evaluations": n_map,
                  "failed": failed, "wall_time_s": result["wall_time_s"],
                  "ms_per_evaluation": 1e3 * result["wall_time_s"] / n_map,
                  "target_s": 30.0, "met": result["wall_time_s"] < 30.0}
    print(f"map {args.points} x {args.points}: {result['wall_time_s']:.1f} s "
          f"({failed} without steady state)", flush=True)

    opt_eval = Evaluator(base, [parse_vary(k) for k in OPT_KEYS])
    opt = optimize(opt_eval, [parse_objective(o) for o in OBJECTIVES],
                   [parse_constraint(c) for c in CONSTRAINTS], seed=args.seed)
    best = opt.pop("best")
    opt_record = {"keys": list(OPT_KEYS), "objectives": list(OBJECTIVES),
                  "constraints": list(CONSTRAINTS), "seed": args.seed, **opt,
                  "ms_per_evaluation": 1e3 * opt["wall_time_s"] / opt["nfev"],
                  "best": {k: v for k, v in best.items() if not isinstance(v, list)},
                  "target_s": 120.0, "met": opt["wall_time_s"] < 120.0}
    print(f"optimisation (4 keys): {opt['wall_time_s']:.1f} s, {opt['nfev']} evaluations, "
          f"1 - t_Li = {best['one_minus_t_li']:.4g}", flush=True)
    record = {"case": str(CASE.relative_to(ROOT)), "map": map_record,
              "optimization": opt_record, "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "load_average_before": load_before,
              "load_average_after": os.getloadavg()}
    Path(args.output).write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
