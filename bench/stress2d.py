"""Seeded random 2D configurations: does the adaptive FEM converge, and is it right? (issue 16)

    docker/run nice python3 bench/stress2d.py --count 50 --seed 0       # writes bench/results/
    docker/run python3 bench/stress2d.py --one 0:7                      # one configuration
    docker/run python3 bench/stress2d.py --one 0:7 --toml out/c7.toml   # its TOML, to rerun
    python3 bench/stress2d.py --table bench/results/stress2d_s0.json     # the docs' table
    docker/run nice python3 bench/stress2d.py --indices 0,9,14 --output bench/results/x.json
    docker/run python3 bench/stress2d.py --merge bench/results/stress2d_s0.json \
        bench/results/stress2d_s0_rerun.json --output bench/results/stress2d_s0_now.json
    docker/run nice python3 bench/stress2d.py --solver fem-eafe --start 0 --count 10 \
        --output /tmp/part0.json                                        # EAFE (2D), in chunks
    python3 bench/stress2d.py --concat /tmp/part*.json --output bench/results/x.json
    docker/run nice python3 bench/stress2d.py --fallback fem-eafe ...  # default fem + fallback
    docker/run nice python3 bench/stress2d.py --fallback fem-eafe --indices 9 --max-cells 60000 \
        --output bench/results/x.json              # those that hit the cell cap, with a larger one
    docker/run nice python3 bench/stress2d.py --fallback fem-eafe --refined-check --seed 0 \
        --output bench/results/x.json   # each converged run solved again on its refined mesh

Every configuration is drawn from ``numpy.random.default_rng([seed, index])``: 1-3 layers whose
B lie in any order, 0-2 full-width bottleneck strips, T 273-353 K, j 1-50 A/m^2 (or a
potentiostatic Phi), mu_cathode -3.4..-2.2 eV, mu_anode -0.3..+0.12 eV, sigma_li 0.01-1 S/m,
A 1e-18..1e-16 S/m, and 2D features: Voronoi grains with GB interfaces (a conductance) or GB
strips, rough phase boundaries, pores, cracks, partial anode contact. About a third are
laterally uniform (layers and strips only): their exact value is the 1D exact solution of the
stack (:mod:`fem_sse.transport.exact1d`), and the FEM is compared with it in (1 - t_Li) and in the jump
positions. For the others, the exact solution of the laterally averaged stack says whether a
steady state is plausible at all (it is recorded, not compared).

Each configuration runs in its own process (``--one``) under a time limit, so a hang is a
recorded "timeout" and not a stuck benchmark. The JSON (``bench/results/stress2d_s<seed>.json``)
holds every record (features, status, stop_reason, errors vs exact, DOFs, cells, steps, times)
and the totals; docs/transport2d.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

__all__ = ["evaluate", "random_config"]

_MIN_T_LI = 0.1  # of the laterally averaged stack (exact 1D)


def _log_uniform(rng, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _materials(rng, count: int) -> dict:
    """``count`` materials, B from the paper's three families (cathodic -2.3, middle -1.5,
    anodic -0.7 eV, each +- 0.3 eV) in any order through the stack."""
    out = {}
    for i in range(count):
        out[f"M{i}"] = {"sigma_li": _log_uniform(rng, 0.01, 1.0),
                        "A": _log_uniform(rng, 1e-18, 1e-16),
                        "B": float(rng.choice([-2.3, -1.5, -0.7]) + rng.uniform(-0.3, 0.3))}
    return out


def _features(rng, uniform: bool) -> list[str]:
    """The 2D features of one configuration (none when laterally uniform)."""
    if uniform:
        return []
    pool = ["grains_interface", "grains_strip", "rough_pb", "pores", "cracks", "partial_contact"]
    count = int(rng.integers(1, 3))
    picked = list(rng.choice(pool, size=count, replace=False))
    if "grains_interface" in picked and "grains_strip" in picked:
        picked.remove("grains_strip")
    return picked


def _bottlenecks(rng, thickness: float) -> list[dict]:
    out = []
    for k in range(int(rng.integers(0, 3))):
        width = _log_uniform(rng, 1e-8, 1e-6)
        center = float(rng.uniform(0.1, 0.9)) * thickness
        if all(abs(center - b["center"]) > 2e-6 for b in out):
            out.append({"center": center, "width": width,
                        "sigma_li_factor": _log_uniform(rng, 1e-4, 1.0), "name": f"S{k}"})
    return out


def _geometry(rng, layers: list[dict], width: float, features: list[str]) -> dict:
    """The [geometry] table: layers, strips and the 2D features."""
    thickness = sum(layer["thickness"] for layer in layers)
    geometry = {"dim": 2, "width": width, "layers": layers}
    t_min = min(layer["thickness"] for layer in layers)
    if "grains_interface" in features or "grains_strip" in features:
        for i, layer in enumerate(layers):
            layer["grains"] = {"count": int(rng.integers(3, 9)), "seed": int(rng.integers(100)) + i}
        if "grains_interface" in features:
            geometry["grain_boundaries"] = {"model": "interface",
                                            "conductance": _log_uniform(rng, 1e2, 1e5)}
        else:
            geometry["grain_boundaries"] = {"model": "strip",
                                            "width": _log_uniform(rng, 5e-8, 3e-7),
                                            "sigma_li_factor": _log_uniform(rng, 1e-3, 1.0)}
    if "rough_pb" in features and len(layers) > 1:
        geometry["phase_boundaries"] = {"roughness": {
            "amplitude": float(rng.uniform(0.05, 0.3)) * t_min, "wavelength": width / 2}}
    if "pores" in features:
        geometry["pores"] = [{"center": [float(rng.uniform(0.3, 0.7)) * thickness,
                                         float(rng.uniform(0.3, 0.7)) * width],
                              "radii": [0.08 * t_min, 0.05 * width]}]
    if "cracks" in features:
        x = float(rng.uniform(0.3, 0.7)) * thickness
        geometry["cracks"] = [{"start": [x, 0.2 * width], "end": [x, 0.5 * width]}]
    if "partial_contact" in features:
        y0 = float(rng.uniform(0.0, 0.4)) * width
        geometry["anode_contact"] = [[y0, y0 + float(rng.uniform(0.3, 0.6)) * width]]
    if not any(f in features for f in ("grains_interface", "grains_strip")):
        geometry["bottlenecks"] = _bottlenecks(rng, thickness)
    return geometry


def random_config(seed: int, index: int) -> dict:
    """Configuration ``index`` of the seeded family ``seed`` (a TOML-shaped dict, SI): the
    first draw of ``default_rng([seed, index, k])``, k = 0, 1, ..., whose laterally averaged
    stack has an exact steady state with t_Li >= 0.1 (as in the issue's sample; about half of
    the raw draws are electronic shorts with t_Li < 1e-9, which no one would build)."""
    from fem_sse.spec.config import parse_config
    from fem_sse.transport.exact1d import SolveError, solve_exact

    for k in range(1000):
        data = _draw(np.random.default_rng([seed, index, k]), f"stress2d_{seed}_{index}")
        try:
            sol = solve_exact(parse_config(data, data["name"]).stack_1d())
        except SolveError:
            continue
        if sol.t_li < _MIN_T_LI:
            continue
        data["meta"]["draws"] = k + 1
        return data
    raise RuntimeError(f"no configuration with a steady state in 1000 draws ({seed}:{index})")


def _draw(rng, name: str) -> dict:
    """One random configuration (module docstring)."""
    mu_c = float(rng.uniform(-3.4, -2.2))
    mu_a = float(rng.uniform(-0.3, 0.12))
    n_layers = int(rng.integers(1, 4))
    materials = _materials(rng, n_layers)
    layers = [{"material": f"M{i}", "thickness": _log_uniform(rng, 5e-6, 40e-6)}
              for i in range(n_layers)]
    width = float(rng.uniform(8e-6, 30e-6))
    uniform = rng.uniform() < 0.35
    features = _features(rng, uniform)
    cell = {"temperature": float(rng.uniform(273.0, 353.0)), "mu_cathode": mu_c,
            "mu_anode": mu_a}
    if rng.uniform() < 0.2:
        cell["ionic_potential_drop"] = _log_uniform(rng, 1e-4, 1e-2)
    else:
        cell["current_density"] = _log_uniform(rng, 1.0, 50.0)
    geometry = _geometry(rng, layers, width, features)
    thickness = sum(layer["thickness"] for layer in layers)
    return {"name": name, "cell": cell, "materials": materials,
            "geometry": geometry,
            "mesh": {"size_bulk": min(thickness, width) / 6, "grading": 1.0},
            # the cell cap is the 2D default (160 000; 80 000 in sessions 14-16, 20 000
            # before: --max-cells reproduces the earlier results)
            "solver": {"tolerance": 1e-4},
            "meta": {"features": [str(f) for f in features] or ["laterally_uniform"]}}


def _exact(config) -> dict:
    """The exact 1D solution of the laterally averaged stack, or why there is none."""
    from fem_sse.transport.exact1d import SolveError, solve_exact

    try:
        sol = solve_exact(config.stack_1d())
    except SolveError as exc:
        return {"status": "no steady state", "reason": str(exc)}
    jumps = [x for x, _, _ in sol.crossings(lambda seg: seg.material.B)]
    return {"status": "ok", "one_minus_t_li": sol.one_minus_t_li, "jumps": jumps}


def _compare(summary: dict, exact: dict, length: float) -> dict:
    """Errors of a laterally uniform FEM run vs the exact 1D solution."""
    if exact["status"] != "ok" or summary.get("one_minus_t_li") is None:
        return {}
    rel = abs(summary["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0)
    fem_x = sorted(j["x"] for j in summary["jumps"])
    ex_x = sorted(exact["jumps"])
    same = len(fem_x) == len(ex_x)
    dx = max((abs(a - b) for a, b in zip(fem_x, ex_x)), default=0.0) / length if same else None
    return {"rel_error_one_minus_t": rel, "jump_error_over_L": dx, "fronts_fem": len(fem_x),
            "jumps_exact": len(ex_x), "abs_error_one_minus_t":
            abs(summary["one_minus_t_li"] - exact["one_minus_t_li"])}


_KEYS = ("converged", "stop_reason", "t_li", "one_minus_t_li", "dofs", "cells",
         "refinement_steps", "newton_iterations", "current_balance", "newton_residual",
         "newton_residual_relative", "not_converged_because",
         "front_coverage", "exact_1d", "last_change")


def evaluate(data: dict, comm, solver: str = "fem", fallback: str = "none",
             max_cells: int | None = None, refined_check: bool = False) -> dict:
    """Run one configuration in this process: a record (identical on every rank).
    ``solver``: "fem" or "fem-eafe"; ``fallback``: the ``solver.fallback`` of a "fem" run
    (default none: the W formulation alone, as the benchmark's earlier results);
    ``max_cells``: the adaptive loop's cell cap instead of the 2D default (160 000);
    ``refined_check``: ``solver.refined_check`` (its block goes into the record)."""
    from fem_sse.spec.config import ConfigError, parse_config
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.exact1d import SolveError
    from fem_sse.geometry.stacked import is_laterally_uniform
    from fem_sse.transport.precision2d import averaged_ratio
    from fem_sse.app.run import solve_case

    record = {"name": data["name"], "features": data["meta"]["features"]}
    data = {**data, "solver": {**data.get("solver", {}), "fallback": fallback}}
    if max_cells is not None:
        data["solver"]["max_cells"] = max_cells
    if refined_check:
        data["solver"]["refined_check"] = True
    try:
        config = parse_config({k: v for k, v in data.items()}, data["name"])
    except ConfigError as exc:
        return {**record, "status": "invalid", "error": str(exc)}
    record["max_cells"] = config.solver.max_cells
    uniform = is_laterally_uniform(config)
    exact = _exact(config)
    record.update(laterally_uniform=uniform, layers=len(config.layers),
                  potentiostatic=not config.cell.galvanostatic, exact_stack=exact,
                  cancellation_ratio=averaged_ratio(config))
    start = time.perf_counter()
    try:
        summary, _ = solve_case(config, comm, solver)
    except ConfigError as exc:  # fem-eafe: a mesh it does not support (GB interfaces, cracks)
        return {**record, "status": "unsupported", "error": str(exc)[:300],
                "wall_time_s": time.perf_counter() - start}
    except (ConvergenceError, SolveError) as exc:
        diagnosis = exc.diagnosis  # a SolveError: the exact verdict, no steady state
        status = "no steady state" if isinstance(exc, SolveError) else "failed"
        if str(diagnosis.stage or "").startswith("precision check"):
            status = "beyond precision"  # refused before the solve, with the ratio
        return {**record, "status": status, "error": str(exc)[:300],
                "stage": diagnosis.stage, "fallback_error": diagnosis.fallback,
                "refinement_step": diagnosis.refinement_step,
                "hint": diagnosis.hint is not None,
                "wall_time_s": time.perf_counter() - start}
    record.update({k: summary.get(k) for k in _KEYS},
                  cells_step0=summary["refinement_history"][0].get("cells"),
                  fronts=len(summary["jumps"]), wall_time_s=time.perf_counter() - start,
                  solver=summary["solver"], fallback=summary.get("fallback"),
                  fallback_failed=summary.get("fallback_failed"),
                  obtuse_edges=summary.get("obtuse_edges"),
                  scheme_check=summary.get("scheme_check"),
                  refined_check=summary.get("refined_check"),
                  singular_junctions=summary.get("singular_junctions"),
                  status="converged" if summary["converged"] else "not converged")
    if uniform:
        record.update(_compare(summary, exact, config.thickness))
    return record


def _one(label: str, toml: str | None, solver: str = "fem", fallback: str = "none",
         max_cells: int | None = None, refined_check: bool = False) -> int:
    from mpi4py import MPI

    seed, index = (int(v) for v in label.split(":"))
    data = random_config(seed, index)
    if toml:
        from fem_sse.spec.tomlwrite import dumps

        Path(toml).write_text(dumps(data))
    record = evaluate(data, MPI.COMM_WORLD, solver, fallback, max_cells, refined_check)
    if MPI.COMM_WORLD.rank == 0:
        print("RECORD " + json.dumps(record, default=float))
    return 0


def _identity(seed: int, index: int) -> dict:
    """Features and cancellation ratio of a configuration (records of runs that gave none)."""
    from fem_sse.spec.config import parse_config
    from fem_sse.transport.precision2d import averaged_ratio

    data = random_config(seed, index)
    return {"features": data["meta"]["features"],
            "cancellation_ratio": averaged_ratio(parse_config(data, data["name"]))}


def _child(seed: int, index: int, timeout: float, solver: str = "fem",
           fallback: str = "none", max_cells: int | None = None,
           refined_check: bool = False) -> dict:
    """``--one seed:index`` in a fresh process, killed after ``timeout`` s."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", f"{seed}:{index}",
               "--solver", solver, "--fallback", fallback]
    if max_cells is not None:
        command += ["--max-cells", str(max_cells)]
    if refined_check:
        command += ["--refined-check"]
    start = time.perf_counter()
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                             cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"name": f"stress2d_{seed}_{index}", "status": "timeout",
                "wall_time_s": time.perf_counter() - start,
                "load_average_1min": os.getloadavg()[0], **_identity(seed, index)}
    lines = [line for line in out.stdout.splitlines() if line.startswith("RECORD ")]
    if not lines:
        return {"name": f"stress2d_{seed}_{index}", "status": "crash",
                "error": out.stderr[-500:], "returncode": out.returncode,
                **_identity(seed, index)}
    # the 1-minute load when it ended: its time is only comparable at a similar load
    return {**json.loads(lines[-1][len("RECORD "):]), "load_average_1min": os.getloadavg()[0]}


def totals(records: list[dict]) -> dict:
    """Counts per status and stop reason; accuracy of the laterally uniform ones."""
    status, stops = {}, {}
    for r in records:
        status[r["status"]] = status.get(r["status"], 0) + 1
        if r.get("stop_reason"):
            stops[r["stop_reason"]] = stops.get(r["stop_reason"], 0) + 1
    uniform = [r for r in records if r.get("laterally_uniform") and "rel_error_one_minus_t" in r]
    times = [r["wall_time_s"] for r in records if "wall_time_s" in r]

    def worst(key):
        vals = [r[key] for r in uniform if r.get(key) is not None]
        return max(vals) if vals else None

    return {"configurations": len(records), "status": status, "stop_reason": stops,
            "converged_by_cancellation_ratio": _by_ratio(records),
            "failed_at_step_0": sum(1 for r in records if r["status"] == "failed"
                                    and r.get("refinement_step") == 0),
            "uniform_compared": len(uniform),
            "uniform_max_rel_error_one_minus_t": worst("rel_error_one_minus_t"),
            "uniform_max_abs_error_one_minus_t": worst("abs_error_one_minus_t"),
            "uniform_max_jump_error_over_L": worst("jump_error_over_L"),
            "uniform_front_count_mismatch": sum(1 for r in uniform
                                                if r["fronts_fem"] != r["jumps_exact"]),
            "median_wall_time_s": float(np.median(times)) if times else None,
            "max_wall_time_s": max(times) if times else None, **_refined_totals(records)}


def _refined_totals(records: list[dict]) -> dict:
    """With ``--refined-check``: how many converged runs were checked on their refined mesh,
    how many checks gave no state, and the largest relative change of 1 - t_Li."""
    blocks = [r["refined_check"] for r in records if r.get("refined_check")]
    if not blocks:
        return {}
    changes = [b["relative_change"] for b in blocks if b["relative_change"] is not None]
    return {"refined_checked": len(blocks),
            "refined_failed": sum(1 for b in blocks if b["failure"] is not None),
            "refined_max_relative_change": max(changes, default=None)}


_RATIO_BINS = (0.0, 1e3, 1e6, 1e9, 1e12, np.inf)


def _by_ratio(records: list[dict]) -> dict:
    """'converged / all' per range of the averaged stack's cancellation ratio."""
    out = {}
    for lo, hi in zip(_RATIO_BINS[:-1], _RATIO_BINS[1:]):
        rows = [r for r in records if r.get("cancellation_ratio") is not None
                and lo <= r["cancellation_ratio"] < hi]
        if rows:
            done = sum(1 for r in rows if r["status"] == "converged")
            out[f"[{lo:.0e}, {hi:.0e})"] = f"{done} / {len(rows)}"
    return out


def _fmt(value, spec: str = ".2g") -> str:
    return "-" if value is None else format(value, spec)


def table(doc: dict) -> str:
    """Markdown rows of a results JSON (docs/transport2d.md)."""
    rows = ["| # | features | status | stop | cancellation ratio | cells (step 0 -> last) | "
            "DOFs | time (s) | 1 - t rel. err. | jump err. / L | fronts FEM / exact |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["records"]:
        index = r["name"].rsplit("_", 1)[1]
        fronts = (f"{r['fronts_fem']} / {r['jumps_exact']}" if "fronts_fem" in r
                  else str(r.get("fronts", "-")))
        rows.append(f"| {index} | {', '.join(r['features'])} | {r['status']} | "
                    f"{r.get('stop_reason') or '-'} | {_fmt(r.get('cancellation_ratio'))} | "
                    f"{r.get('cells_step0') or '-'} -> "
                    f"{r.get('cells') or '-'} | {r.get('dofs') or '-'} | "
                    f"{_fmt(r.get('wall_time_s'), '.0f')} | "
                    f"{_fmt(r.get('rel_error_one_minus_t'))} | "
                    f"{_fmt(r.get('jump_error_over_L'))} | {fronts} |")
    return "\n".join(rows)


def rerun_table(earlier: list[tuple[str, dict]], rerun: dict) -> str:
    """Markdown rows comparing a rerun of chosen configurations (``--indices``) with earlier
    results JSONs of the same seed: ``earlier`` is [(column title, results doc)], matched by
    configuration name (docs/transport2d.md, via bench/docs_numbers.py)."""
    def status(doc, name):
        row = next((r for r in doc["records"] if r["name"] == name), None)
        return "-" if row is None else row["status"]

    head = " | ".join(title for title, _ in earlier)
    rows = [f"| # | features | cancellation ratio | {head} | now | time now (s) | stage of the "
            "failure |", "|---|---|---|" + "---|" * len(earlier) + "---|---|---|"]
    for r in rerun["records"]:
        stage = r.get("stage") or "-"
        rows.append(f"| {r['name'].rsplit('_', 1)[1]} | {', '.join(r['features'])} | "
                    f"{_fmt(r.get('cancellation_ratio'))} | "
                    + " | ".join(status(doc, r["name"]) for _, doc in earlier)
                    + f" | {r['status']} | {_fmt(r.get('wall_time_s'), '.0f')} | {stage} |")
    return "\n".join(rows)


def _outcome(doc: dict, name: str) -> str:
    """A configuration's status in ``doc``, "(fem-eafe)" when the fallback solved it."""
    row = next((r for r in doc["records"] if r["name"] == name), None)
    if row is None:
        return "-"
    return row["status"] + (" (fem-eafe)" if isinstance(row.get("fallback"), dict) else "")


def _counts(doc: dict) -> str:
    status = {}
    for r in doc["records"]:
        key = _outcome(doc, r["name"])
        status[key] = status.get(key, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(status.items(), key=lambda kv: -kv[1]))


def eafe_table(w_doc: dict, eafe_doc: dict, default_doc: dict) -> str:
    """Markdown comparison of the W formulation alone (``w_doc``), ``--solver fem-eafe``
    (``eafe_doc``) and the default ``fem`` run with its fallback (``default_doc``) on the same
    configurations, with the EAFE errors vs exact of the laterally uniform ones
    (docs/transport2d.md, via bench/docs_numbers.py)."""
    rows = ["| # | features | cancellation ratio | W formulation | fem-eafe | default fem "
            "(fallback) | fem-eafe: 1 - t rel. err. | jump err. / L | cells | time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in eafe_doc["records"]:
        name = r["name"]
        rows.append(f"| {name.rsplit('_', 1)[1]} | {', '.join(r['features'])} | "
                    f"{_fmt(r.get('cancellation_ratio'))} | {_outcome(w_doc, name)} | "
                    f"{r['status']} | {_outcome(default_doc, name)} | "
                    f"{_fmt(r.get('rel_error_one_minus_t'))} | "
                    f"{_fmt(r.get('jump_error_over_L'))} | {r.get('cells') or '-'} | "
                    f"{_fmt(r.get('wall_time_s'), '.0f')} |")
    t = eafe_doc["totals"]
    loads = [r["load_average_1min"] for r in eafe_doc["records"] if "load_average_1min" in r]
    uniform = [r for r in eafe_doc["records"] if r.get("laterally_uniform")]
    done = [r for r in uniform if r["status"] == "converged"]
    rows += ["", f"W formulation alone: {_counts(w_doc)}.",
             f"fem-eafe: {_counts(eafe_doc)}; laterally uniform: {len(done)} of {len(uniform)} "
             f"converged, 1 - t_Li within {_fmt(t['uniform_max_rel_error_one_minus_t'])} "
             f"relative and jumps within {_fmt(t['uniform_max_jump_error_over_L'])} L of the "
             f"exact values, {t['uniform_front_count_mismatch']} with a different number of "
             "jumps.",
             f"Default fem (W formulation, fem-eafe where it is refused, fails or stops "
             "before its tolerance): "
             f"{_counts(default_doc)}.",
             _obtuse_line(eafe_doc["records"]),
             f"fem-eafe times at a 1-minute load average of {min(loads):.1f}-{max(loads):.1f} "
             "on 2 cores (shared)."]
    return "\n".join(rows)


def defaults_table(pairs: list[tuple[dict | None, dict]], before_label: str = "cap 20 000",
                   cells_above: int | None = 20000) -> str:
    """Markdown: the default run of each seed (``pairs``: (an earlier run, the run now), one
    pair per seed; no earlier run: None), a row per seed, then the configurations whose
    outcome changed or that took more than ``cells_above`` cells (None: the changed ones)
    (docs/transport2d.md, via bench/docs_numbers.py). ``before_label`` names the earlier runs
    (the former cap of 20 000 cells, or the code before a fix)."""
    rows = [f"| seed | converged / configurations | {before_label} (before) | not converged now "
            "| uniform: 1 - t rel. err. / jump err. / L | median / slowest (s) | most cells |",
            "|---|---|---|---|---|---|---|"]
    changed = [f"| seed:# | features | {before_label}: status, cells | now: status (stop), "
               "cells, steps | time now (s) | 1 - t now / before - 1 |",
               "|---|---|---|---|---|---|"]
    none = {"totals": {"status": {"converged": "-"}, "configurations": "-"}, "records": []}
    for before, now in pairs:
        before = before or none
        t = now["totals"]
        done = t["status"].get("converged", 0)
        other = [f"{r['name'].rsplit('_', 1)[1]} ({r.get('stop_reason') or r['status']}, "
                 f"{r.get('cells') or '-'} cells)" for r in now["records"]
                 if r["status"] != "converged"]
        rows.append(f"| {now['seed']} | {done} / {t['configurations']} | "
                    f"{before['totals']['status'].get('converged', 0)} / "
                    f"{before['totals']['configurations']} | {', '.join(other) or 'none'} | "
                    f"{_fmt(t['uniform_max_rel_error_one_minus_t'])} / "
                    f"{_fmt(t['uniform_max_jump_error_over_L'])} | "
                    f"{_fmt(t['median_wall_time_s'], '.0f')} / "
                    f"{_fmt(t['max_wall_time_s'], '.0f')} | "
                    f"{max(r.get('cells') or 0 for r in now['records'])} |")
        old = {r["name"]: r for r in before["records"]}
        for r in now["records"]:
            b = old.get(r["name"], {})
            big = cells_above is not None and (r.get("cells") or 0) > cells_above
            if not before["records"] or (r["status"] == b.get("status") and not big):
                continue
            ratio = (r["one_minus_t_li"] / b["one_minus_t_li"] - 1.0
                     if r.get("one_minus_t_li") and b.get("one_minus_t_li") else None)
            changed.append(f"| {now['seed']}:{r['name'].rsplit('_', 1)[1]} | "
                           f"{', '.join(r['features'])} | {b.get('status', '-')}, "
                           f"{b.get('cells') or '-'} | {r['status']} "
                           f"({r.get('stop_reason') or '-'}), {r.get('cells') or '-'}, "
                           f"{r.get('refinement_steps', '-')} | "
                           f"{_fmt(r.get('wall_time_s'), '.0f')} | {_fmt(ratio, '.1e')} |")
    return "\n".join(rows + [""] + changed)


def _obtuse_line(records: list[dict]) -> str:
    """Shares of assembled edges with a negative EAFE coefficient (not Delaunay), converged
    vs not (only runs that ended with a summary have the count)."""
    def share(rows):
        vals = [r["obtuse_edges"]["share_edges_negative"] for r in rows if r.get("obtuse_edges")]
        return (f"{100 * max(vals):.2g} % at most (median {100 * float(np.median(vals)):.2g} %, "
                f"{len(vals)} meshes)") if vals else "-"

    done = [r for r in records if r["status"] == "converged"]
    other = [r for r in records if r["status"] != "converged"]
    return (f"Assembled edges with a negative coefficient (the M-matrix property lost), final "
            f"meshes: converged {share(done)}; not converged {share(other)}.")


def _concat(parts: list[Path], output: Path) -> int:
    """Records of several runs (chunks of one benchmark) in one results JSON."""
    docs = [json.loads(p.read_text()) for p in parts]
    records = [r for d in docs for r in d["records"]]
    doc = {k: docs[0].get(k) for k in ("seed", "timeout_s", "solver", "fallback")}
    doc.update(parts=[p.name for p in parts], load_average=[d["load_average"] for d in docs],
               totals=totals(records), records=records)
    output.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    print(json.dumps(doc["totals"], indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first index")
    parser.add_argument("--indices", help="comma-separated indices instead of --start/--count "
                        "(a rerun of chosen configurations)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="per configuration (s)")
    parser.add_argument("--one", help="SEED:INDEX: run one configuration in this process")
    parser.add_argument("--toml", help="with --one: also write its TOML here")
    parser.add_argument("--solver", default="fem", choices=("fem", "fem-eafe"))
    parser.add_argument("--fallback", default="none", choices=("none", "fem-eafe"),
                        help="solver.fallback of the 'fem' runs (default none: the W "
                        "formulation alone, as the earlier results)")
    parser.add_argument("--max-cells", type=int, help="the adaptive loop's cell cap instead "
                        "of the 2D default solver.max_cells = 160000 (80000: sessions 14-16; "
                        "20000: before)")
    parser.add_argument("--refined-check", action="store_true",
                        help="solver.refined_check = true: each converged run solved once more "
                             "on its final mesh refined everywhere")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--table", type=Path, help="print the markdown table of a results JSON")
    parser.add_argument("--merge", nargs=2, type=Path, metavar=("ALL", "RERUN"),
                        help="write --output: the records of ALL with those of RERUN in their "
                        "place, every one with its cancellation ratio, and their totals")
    parser.add_argument("--concat", nargs="+", type=Path, metavar="PART",
                        help="write --output: the records of these results JSONs (chunks)")
    args = parser.parse_args(argv)
    if args.concat:
        return _concat(args.concat, args.output)
    if args.merge:
        return _merge(*args.merge, args.output)
    if args.table:
        doc = json.loads(args.table.read_text())
        print(table(doc))
        print(json.dumps(totals(doc["records"]), indent=1))
        return 0
    if args.one:
        return _one(args.one, args.toml, args.solver, args.fallback, args.max_cells,
                    args.refined_check)
    output = args.output or ROOT / "bench" / "results" / f"stress2d_s{args.seed}.json"
    records = []
    indices = ([int(i) for i in args.indices.split(",")] if args.indices
               else range(args.start, args.start + args.count))
    for index in indices:
        record = _child(args.seed, index, args.timeout, args.solver, args.fallback,
                        args.max_cells, args.refined_check)
        records.append(record)
        print(f"{index:3d} {record['status']:15s} {record.get('stop_reason') or '':12s} "
              f"{record.get('wall_time_s', 0):7.1f} s  {','.join(record['features'])}  "
              f"{record.get('rel_error_one_minus_t', '')}", flush=True)
        _write(output, args, records)
    print(json.dumps(totals(records), indent=1))
    return 0


def _merge(whole: Path, rerun: Path, output: Path) -> int:
    """The results of a whole run (``whole``) updated by a rerun of some of its configurations:
    the current state of the benchmark without running the unchanged ones again."""
    base, new = json.loads(whole.read_text()), json.loads(rerun.read_text())
    replaced = {r["name"]: r for r in new["records"]}
    records = []
    for r in base["records"]:
        r = replaced.get(r["name"], r)
        if "cancellation_ratio" not in r:
            seed, index = (int(v) for v in r["name"].split("_")[1:])
            r = {**r, "cancellation_ratio": _identity(seed, index)["cancellation_ratio"]}
        records.append(r)
    doc = {"seed": base["seed"], "merged_from": [str(whole.name), str(rerun.name)],
           "rerun": sorted(replaced), "totals": totals(records), "records": records}
    output.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    print(json.dumps(doc["totals"], indent=1))
    return 0


def _write(output: Path, args, records: list[dict]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    doc = {"seed": args.seed, "start": args.start, "count": args.count,
           "indices": args.indices,
           "timeout_s": args.timeout, "load_average": os.getloadavg(),
           "solver": args.solver, "fallback": args.fallback, "max_cells": args.max_cells,
           "refined_check": args.refined_check,
           "totals": totals(records), "records": records}
    output.write_text(json.dumps(doc, indent=1, default=float) + "\n")


if __name__ == "__main__":
    sys.exit(main())
