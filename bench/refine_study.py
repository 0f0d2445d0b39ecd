"""How 1 - t_Li of one 2D configuration converges under different refinements (issue 16).

    docker/run python3 bench/refine_study.py --one 2:22 --output bench/results/x.json
    docker/run python3 bench/refine_study.py --config case.toml --modes uniform-eafe,ionic

Modes, each from the configuration's first mesh (``build_mesh``, crack lines cut open):

* ``uniform-eafe`` / ``uniform-w``: every cell refined (Plaza), ``--levels`` times, solved by
  the exponentially fitted scheme / the W formulation on each mesh;
* ``ionic``: Doerfler marking (theta 0.7, no cap) of the ionic error indicator alone
  (:func:`fem_sse.transport.ionic_error.ionic_indicators`), the EAFE state on each mesh, up to
  ``--max-cells``;
* ``graded``: the first mesh graded towards its singular junctions
  (:func:`fem_sse.geometry.junctions.graded`) with at most k = 0, 1, 2, ... halvings, until
  the grading stops by itself; the EAFE state on each;
* ``graded-uniform``: the fully graded first mesh (an adaptive run's first mesh), then refined
  uniformly (cells at the resolvable size stay), ``--levels`` meshes, EAFE;
* ``adaptive-uniform``: the EAFE adaptive loop's final mesh (the first record: the loop's
  final solve, with the wall time of the whole loop), then refined uniformly,
  ``--levels`` meshes in all, each from the previous state transferred, EAFE: what the
  loop's mesh still misses anywhere.

Each mesh's record: cells, 1 - t_Li, Phi (V), the ionic conductance G (S/m per unit depth) and
the ionic error estimate (EAFE modes). Written to ``--output`` (JSON) after every mesh.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MODES = ("uniform-eafe", "uniform-w", "ionic", "graded", "graded-uniform", "adaptive-uniform")


def _eafe_meshes(config, comm, mode: str, levels: int, max_cells: int):
    """(record, problem) per mesh of an EAFE mode."""
    from fem_sse.geometry import build_mesh
    from fem_sse.geometry.junctions import graded
    from fem_sse.transport.adapt import doerfler_marking
    from fem_sse.transport.discretisation import Plane2D
    from fem_sse.transport.eafe2d import EafeProblem2D, EafeView
    from fem_sse.transport.eafe2d_gb import averaged_state
    from fem_sse.transport.eafe2d_solve import solve_balanced, solve_transferred
    from fem_sse.transport.ionic_error import ionic_indicators

    smesh, sol, plane = build_mesh(config, comm, cut_cracks=True), averaged_state(config), Plane2D()
    first = smesh
    uniform = mode in ("uniform-eafe", "graded-uniform", "adaptive-uniform")
    if mode.startswith("graded"):
        smesh = graded(first, config, most=0 if mode == "graded" else None)
    adaptive = None  # adaptive-uniform: the loop's final state, the first mesh's record
    if mode == "adaptive-uniform":
        from fem_sse.transport.eafe2d_solve import solve_adaptive_eafe_2d

        start = time.perf_counter()
        adaptive = solve_adaptive_eafe_2d(config, comm, sol)
    old = None  # adaptive-uniform: the previous mesh's problem, its state transferred
    for level in itertools.count():
        if adaptive is not None and level == 0:  # the loop's solve, not solved again
            problem, result, smesh = adaptive.problem, adaptive.result, adaptive.problem.smesh
        else:
            start = time.perf_counter()
            problem = EafeProblem2D(config, smesh)
            result = (solve_balanced(problem, sol)[0] if old is None
                      else solve_transferred(old, EafeView(old), problem, sol)[0])
        if old is not None:
            old.destroy()
            old = None
        eta2, estimate = ionic_indicators(problem)
        cells = problem.mesh.topology.index_map(2).size_global
        halvings = (smesh.info.get("singular_junctions") or {}).get("levels", 0)
        yield {"cells": cells, "one_minus_t_li": result.one_minus_t_li, "phi_V": problem.phi,
               "ionic_conductance": problem.conductance, "ionic_rel_error_estimate": estimate,
               "junction_halvings": halvings, "newton_iterations": result.newton_iterations,
               "wall_time_s": time.perf_counter() - start}
        if (uniform and level + 1 >= levels) or (mode == "ionic" and cells >= max_cells) or (
                mode == "graded" and halvings < level):
            problem.destroy()
            return
        if mode == "graded":
            smesh = graded(first, config, most=level + 1)
        else:
            marked = (np.arange(len(problem.cell_tag), dtype=np.int32) if uniform
                      else doerfler_marking(eta2, comm, theta=0.7, max_count=10**9).cells)
            smesh = plane.refine(problem.smesh, config, marked)
        if mode == "adaptive-uniform":
            old = problem
            continue
        problem.destroy()


def _w_meshes(config, comm, levels: int):
    """Records of the W formulation on uniformly refined meshes."""
    from fem_sse.transport.adapt import _first_problem, _refine_mesh, _solve_checked
    from fem_sse.transport.discretisation import for_dimension
    from fem_sse.transport.problem import TransportProblem

    problem = _first_problem(config, comm, for_dimension(2).exact_state(config, None))
    for level in range(levels):
        start = time.perf_counter()
        result = _solve_checked(problem)
        yield {"cells": problem.mesh.topology.index_map(2).size_global,
               "one_minus_t_li": result.one_minus_t_li, "phi_V": result.ionic_potential_drop,
               "wall_time_s": time.perf_counter() - start}
        if level + 1 == levels:
            return
        n = problem.mesh.topology.index_map(2).size_local
        new = TransportProblem(config, _refine_mesh(problem, np.arange(n, dtype=np.int32),
                                                    np.ones(n)),
                               degree=problem.degree, forms=problem.forms)
        new.start_from(problem)
        problem = new


_LABELS = {"uniform-eafe": "uniform, exponentially fitted", "uniform-w": "uniform, W formulation",
           "ionic": "ionic indicator alone (Doerfler 0.7, no cap)",
           "graded": "first mesh, 0, 1, 2, ... halvings at the junctions",
           "graded-uniform": "graded first mesh, then uniform, exponentially fitted",
           "adaptive-uniform": "the adaptive loop's mesh, then uniform, exponentially fitted"}


def extrapolated(values: list[float]) -> float | None:
    """The limit of a sequence whose last differences shrink geometrically (the last three
    values; None when they do not shrink)."""
    if len(values) < 3:
        return None
    d1, d2 = values[-2] - values[-3], values[-1] - values[-2]
    ratio = d2 / d1 if d1 else float("inf")
    return values[-1] + d2 * ratio / (1.0 - ratio) if 0.0 <= ratio < 1.0 else None


def junction_table(doc: dict, shown=(0, 1, 2, 4, 8, 12, 16, 20)) -> str:
    """Markdown: the ``graded`` mode of a run, the first mesh with 0, 1, 2, ... halvings at the
    junctions (``shown`` and the last): cells, 1 - t_Li, and the change of 1 - t_Li per
    halving and its ratio to the one before (the factor 2^(-2 alpha) of the decay)."""
    records = doc["modes"]["graded"]
    done = max(r["junction_halvings"] for r in records)
    rows = ["| halvings | cells | 1 - t_Li | change from the halving before | ratio to the "
            "change before |", "|---|---|---|---|---|"]
    by_k = {r["junction_halvings"]: r for r in records}
    for k in sorted({*shown, done} & set(by_k)):
        value = by_k[k]["one_minus_t_li"]
        step = value / by_k[k - 1]["one_minus_t_li"] - 1.0 if k >= 1 else None
        ratio = (step / (by_k[k - 1]["one_minus_t_li"] / by_k[k - 2]["one_minus_t_li"] - 1.0)
                 if k >= 2 else None)
        rows.append(f"| {k} | {by_k[k]['cells']} | {value:.7g} | "
                    f"{'-' if step is None else f'{step:+.1e}'} | "
                    f"{'-' if ratio is None else f'{ratio:.2f}'} |")
    return "\n".join(rows)


def converged_table(rows: list[tuple[str, dict, dict]], mode: str = "uniform-eafe",
                    adaptive: str = "adaptive (converged)") -> str:
    """Markdown: per configuration (name, its refine_study doc with ``mode``, a uniform
    sequence, else ``uniform-eafe``, its adaptive record of bench/stress2d.py) the adaptive run's 1 - t_Li, the
    uniform sequence's last value and geometric extrapolation, and the adaptive value's
    difference from that."""
    out = [f"| configuration | features | {adaptive}: 1 - t_Li, cells | uniform: last "
           "mesh | uniform: extrapolated | adaptive / extrapolated - 1 |",
           "|---|---|---|---|---|---|"]
    for name, doc, record in rows:
        uniform = doc["modes"][mode if mode in doc["modes"] else "uniform-eafe"]
        values = [r["one_minus_t_li"] for r in uniform]
        limit = extrapolated(values)
        value = record["one_minus_t_li"]
        out.append(f"| {name} | {', '.join(record['features'])} | {value:.6g}, "
                   f"{record['cells']} | {values[-1]:.6g} ({uniform[-1]['cells']} cells) | "
                   f"{'-' if limit is None else f'{limit:.6g}'} | "
                   f"{'-' if limit is None else f'{value / limit - 1.0:+.1e}'} |")
    return "\n".join(out)


def adaptive_uniform_table(rows: list[tuple[str, dict, list[str], dict | None]]) -> str:
    """Markdown: per configuration (name, its ``adaptive-uniform`` doc, its features, a doc
    with a uniform sequence from the first mesh or None) the EAFE loop's 1 - t_Li and cells,
    the value on its mesh refined everywhere, their relative change, that solve's time and
    Newton iterations, and where the loop's value lies from the extrapolated limit of
    uniform refinement from the first mesh."""
    out = ["| configuration | features | EAFE loop: 1 - t_Li, cells | its mesh refined "
           "everywhere: 1 - t_Li, cells | change | refined solve: s, Newton | uniform from "
           "the first mesh: loop / extrapolated - 1 |", "|---|---|---|---|---|---|---|"]
    for name, doc, features, uniform in rows:
        loop, fine = doc["modes"]["adaptive-uniform"][:2]
        change = fine["one_minus_t_li"] / loop["one_minus_t_li"] - 1.0
        limit = None
        if uniform is not None:
            mode = next(m for m in ("graded-uniform", "uniform-eafe") if m in uniform["modes"])
            limit = extrapolated([r["one_minus_t_li"] for r in uniform["modes"][mode]])
        versus = "-" if limit is None else f"{loop['one_minus_t_li'] / limit - 1.0:+.1e}"
        out.append(f"| {name} | {', '.join(features)} | {loop['one_minus_t_li']:.7g}, "
                   f"{loop['cells']} | {fine['one_minus_t_li']:.7g}, {fine['cells']} | "
                   f"{change:+.1e} | {fine['wall_time_s']:.0f}, {fine['newton_iterations']} | "
                   f"{versus} |")
    return "\n".join(out)


def table(doc: dict, modes=None) -> str:
    """Markdown: per mode (all, or ``modes``) its meshes (cells), 1 - t_Li on them, the
    relative change of 1 - t_Li from mesh to mesh and, where measured, that of the ionic
    conductance G (docs/transport2d.md, via bench/docs_numbers.py)."""
    def changes(values):
        return ", ".join(f"{b / a - 1.0:+.1e}" for a, b in zip(values, values[1:]))

    rows = ["| refinement | cells | 1 - t_Li | change of 1 - t_Li per mesh | change of G per mesh "
            "| ionic error estimate per mesh |", "|---|---|---|---|---|---|"]
    key = "ionic_rel_error_estimate"
    for mode, records in doc["modes"].items():
        if modes is not None and mode not in modes:
            continue
        one = [r["one_minus_t_li"] for r in records]
        g = [r["ionic_conductance"] for r in records if "ionic_conductance" in r]
        rows.append(f"| {_LABELS[mode]} | {' / '.join(str(r['cells']) for r in records)} | "
                    f"{' / '.join(f'{v:.6g}' for v in one)} | {changes(one)} | "
                    f"{changes(g) if len(g) == len(one) else '-'} | "
                    f"{' / '.join(f'{r[key]:.2g}' for r in records) if key in records[0] else '-'}"
                    " |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--one", help="SEED:INDEX of bench/stress2d.py")
    source.add_argument("--config", type=Path, help="a 2D case TOML")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--levels", type=int, default=4, help="uniform modes: meshes")
    parser.add_argument("--max-cells", type=int, default=80000, help="ionic mode: stop above")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    from mpi4py import MPI

    from fem_sse.spec.config import load_config, parse_config

    comm = MPI.COMM_WORLD
    if args.one:
        import stress2d

        seed, index = (int(v) for v in args.one.split(":"))
        config = parse_config(stress2d.random_config(seed, index))
    else:
        config = load_config(args.config)
    out = {"configuration": args.one or str(args.config), "modes": {}}
    for mode in args.modes.split(","):
        if mode not in MODES:
            parser.error(f"--modes: {mode!r} is not one of {', '.join(MODES)}")
        meshes = (_w_meshes(config, comm, args.levels) if mode == "uniform-w"
                  else _eafe_meshes(config, comm, mode, args.levels, args.max_cells))
        out["modes"][mode] = []
        for record in meshes:
            out["modes"][mode].append(record)
            if comm.rank == 0:
                print(mode, json.dumps(record), flush=True)
                args.output.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
