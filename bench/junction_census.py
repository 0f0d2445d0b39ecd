"""Which configurations of bench/stress2d.py have singular junctions, and how singular
(fem_sse/geometry/junctions.py; docs/transport2d.md). Meshes only, no solve.

    docker/run python3 bench/junction_census.py --seeds 0,1,2,3,4,5 \
        --output bench/results/junction_census_s16.json

Per configuration: its features, the number of junctions, the smallest exponent alpha and
the halvings it asks for (``Junction.levels``, before the resolvable size stops them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def census(seed: int, count: int, comm) -> list[dict]:
    """One record per configuration of ``seed`` (indices 0 .. count - 1)."""
    import stress2d

    from fem_sse.geometry import build_mesh
    from fem_sse.geometry.junctions import singular_junctions
    from fem_sse.spec.config import ConfigError, parse_config

    rows = []
    for index in range(count):
        raw = stress2d.random_config(seed, index)
        row = {"name": f"{seed}:{index}", "features": raw.get("meta", {}).get("features", [])}
        try:
            config = parse_config(raw)
            found = singular_junctions(build_mesh(config, comm, cut_cracks=True), config)
        except ConfigError as exc:  # refused before meshing, as the run would be
            rows.append({**row, "refused": str(exc)})
            continue
        row.update(junctions=len(found),
                   smallest_exponent=min((j.alpha for j in found), default=None),
                   levels=max((j.levels for j in found), default=0))
        rows.append(row)
    return rows


def table(doc: dict) -> str:
    """Markdown: per seed, the configurations with junctions, their features and exponents."""
    out = ["| seed | configurations with junctions | of them: GB interfaces / cracks | junctions "
           "(most in one) | smallest exponent |", "|---|---|---|---|---|"]
    for seed, rows in doc["seeds"].items():
        hit = [r for r in rows if r.get("junctions")]
        gb = sum("grains_interface" in r["features"] for r in hit)
        cracks = sum("cracks" in r["features"] for r in hit)
        alphas = [r["smallest_exponent"] for r in hit]
        most = max((r["junctions"] for r in hit), default=0)
        out.append(f"| {seed} | {len(hit)} / {len(rows)} | {gb} / {cracks} | "
                   f"{sum(r['junctions'] for r in hit)} ({most}) | "
                   f"{f'{min(alphas):.3f}' if alphas else '-'} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    doc = {"count": args.count, "seeds": {}}
    for seed in (int(s) for s in args.seeds.split(",")):
        doc["seeds"][str(seed)] = census(seed, args.count, comm)
        if comm.rank == 0:
            args.output.write_text(json.dumps(doc, indent=1))
            print(table(doc).splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
