"""Where the exact 1D profile depends on the segment end it is measured from.

    docker/run python3 bench/exact1d_pinned.py [--seeds 16,17] [--seeds-2d 0,1] [-o bench/results]
    docker/run python3 bench/exact1d_pinned.py --text   # the summary docs/robustness.md quotes

Positions inside a segment, x(y), are measured from the end that fixes the trajectory
(:meth:`fem_sse.transport.exact1d.ExactSolution.pinned_at_end`, session 13). Measured from the
start, a segment that starts on a plateau (y0 = -y* to round-off) puts its jump anywhere. For
every exact steady state of the stacks of bench/stress1d.py, of the paper cases and of the
laterally averaged 2D configurations of bench/stress2d.py, this lists the segments measured
from their end and how far x(y1) from the start misses the segment's end (/L; inf: the start
is a fixed point). Writes bench/results/exact1d_pinned.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

MATERIAL = 1e-9  # a miss above this (/L) moves the profile by more than the FEM's targets


def misses(sol) -> list[dict]:
    """The segments of ``sol`` measured from their end whose start-measured x(y1) misses the
    end by more than 1e-12 L: [{segment, miss_over_L}] (miss: inf or a float)."""
    import numpy as np

    out = []
    length = sol.config.thickness
    for i, seg in enumerate(sol.segments):
        if not sol.pinned_at_end(i):
            continue
        y0, y1 = sol.y_edges(i)
        with np.errstate(invalid="ignore"):
            miss = (seg.x0 + sol.branch(i).x_of(y1, y0) - seg.x1) / length
        if not math.isfinite(miss) or abs(miss) > 1e-12:
            out.append({"segment": i, "miss_over_L": abs(miss) if math.isfinite(miss) else "inf"})
    return out


def _stacks(seeds, seeds_2d):
    """(label, 1D config) of every stack scanned."""
    import stress1d
    import stress2d

    from fem_sse.spec.config import load_config, parse_config

    for seed in seeds:
        for i in range(200):
            data = stress1d.random_stack(seed, i)
            yield f"stress1d seed {seed} stack {i}", parse_config(data, data["name"])
    for path in sorted((ROOT / "cases").glob("*.toml")):
        config = load_config(path)
        yield f"case {path.stem}", config if config.dim == 1 else config.stack_1d()
    for seed in seeds_2d:
        for i in range(50):
            data = stress2d.random_config(seed, i)
            yield f"stress2d seed {seed} config {i}", parse_config(data, data["name"]).stack_1d()


def scan(seeds, seeds_2d) -> dict:
    from fem_sse.transport.exact1d import SolveError, solve_exact

    found, solved = [], 0
    for label, config in _stacks(seeds, seeds_2d):
        try:
            sol = solve_exact(config)
        except SolveError:
            continue
        solved += 1
        segments = misses(sol)
        if segments:
            found.append({"stack": label, "segments": segments})
    return {"seeds": seeds, "seeds_2d": seeds_2d, "steady_states": solved, "stacks": found}


def _largest(entry) -> float:
    return max(math.inf if s["miss_over_L"] == "inf" else s["miss_over_L"]
               for s in entry["segments"])


def text(path: Path) -> str:
    """The one-paragraph summary of a JSON written by this script."""
    data = json.loads(Path(path).read_text())
    stacks = data["stacks"]
    material = [e for e in stacks if _largest(e) > MATERIAL]
    finite = [_largest(e) for e in material if math.isfinite(_largest(e))]
    groups = {}
    for e in material:
        groups.setdefault(e["stack"].rsplit(" ", 1)[0], []).append(e["stack"].rsplit(" ", 1)[1])
    listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items()) or "none"
    return (f"{data['steady_states']} exact steady states (stress1d seeds "
            f"{','.join(map(str, data['seeds']))}, the paper cases, stress2d seeds "
            f"{','.join(map(str, data['seeds_2d']))} laterally averaged): {len(stacks)} have a "
            f"segment whose start-measured x(y1) misses its end by more than 1e-12 L, "
            f"{len(material)} by more than {MATERIAL:g} L ({listed}); the largest finite miss "
            f"is {max(finite, default=0.0):.2g} L, "
            f"{sum(not math.isfinite(_largest(e)) for e in material)} start on a fixed point.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="16,17")
    parser.add_argument("--seeds-2d", default="0,1")
    parser.add_argument("-o", "--output", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--text", action="store_true", help="print the docs summary")
    args = parser.parse_args(argv)
    path = Path(args.output) / "exact1d_pinned.json"
    if args.text:
        print(text(path))
        return 0
    data = scan([int(s) for s in args.seeds.split(",")],
                [int(s) for s in args.seeds_2d.split(",") if s])
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(text(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
