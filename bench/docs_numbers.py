"""The numbers quoted in README.md, docs/tutorial.md and docs/commands/*.md, from the commands
those pages document (and the generated tables of docs/cases.md, transport2d.md, design.md).

    docker/run python3 bench/docs_numbers.py            # run every group, write JSON, fill pages
    docker/run python3 bench/docs_numbers.py tutorial   # only some groups (the others are kept)
    docker/run python3 bench/docs_numbers.py --fill     # fill the pages from the JSON, no runs
    docker/run python3 bench/docs_numbers.py --check    # exit 1 if a page differs from the JSON

A number in a page is marked ``<!-- n:KEY -->TEXT<!-- /n -->`` (invisible when rendered);
``bench/results/docs_numbers.json`` holds for every KEY its value, the TEXT it prints as, the
physics tolerance within which a re-run must reproduce it (None for timings and sizes: filled
from the JSON, never compared with a re-run; a page quotes a timing with the load average of
the machine when it was measured, also a key) and the group (command) that produced it.
No number in these pages is typed by hand: a timing or size without a script is dropped.
tests/test_docs_numbers.py checks every marker against the JSON and re-runs the groups against
it. When a change moves a documented number (a solver or mechanics change), this one command
regenerates the JSON and the pages.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JSON = ROOT / "bench" / "results" / "docs_numbers.json"
PAGES = ("README.md", "docs/tutorial.md", "docs/commands/*.md", "docs/cases.md",
         "docs/transport2d.md", "docs/design.md")
MARKER = re.compile(r"<!-- n:([\w.]+) -->(.*?)<!-- /n -->", re.S)
#: a whole generated table: ``<!-- table:NAME -->`` ... ``<!-- /table -->`` (see TABLES)
TABLE = re.compile(r"(<!-- table:(\w+) -->\n)(.*?)(<!-- /table -->)", re.S)


def spaced(value) -> str:
    """An integer with thin thousands groups as the docs write them: 40 245."""
    return f"{int(value):,}".replace(",", " ")


def sci(digits: int):
    """Scientific notation with ``digits`` significant digits and a short exponent: 3.6e-6."""
    def fmt(value) -> str:
        text = f"{value:.{digits}g}"
        return re.sub(r"e([+-])0*(\d)", lambda m: f"e{'-' if m[1] == '-' else ''}{m[2]}", text)
    return fmt


def fixed(decimals: int):
    return lambda value: f"{value:.{decimals}f}"


def thousands(decimals: int):
    """Count in thousands, e.g. 0.7 (k) or 21 (k)."""
    return lambda value: f"{value / 1000:.{decimals}f}"


@dataclass(frozen=True)
class Number:
    """How a key prints and how close a re-run must come (rel and abs; None: not re-checked)."""

    fmt: object = str
    rel: float | None = None
    abs: float | None = None


#: every documented number: key -> format and physics tolerance
NUMBERS = {
    # docs/tutorial.md step 5: docs/examples/poly_bilayer_stress.py on 2 ranks
    "tutorial.t_li": Number(fixed(4), abs=2e-4),
    "tutorial.cells": Number(spaced, rel=0.02),
    "tutorial.max_von_mises_MPa": Number(fixed(0), rel=0.02),
    "tutorial.max_principal_MPa": Number(fixed(0), rel=0.02),
    "tutorial.crack_risk_index": Number(sci(3), rel=0.02),
    "tutorial.crack_risk_electrode": Number(str, abs=0),
    "tutorial.crack_risk_distance_um": Number(sci(2), abs=0.5),
    "tutorial.strength_MPa": Number(fixed(0), rel=1e-12),
    "tutorial.film_stress_MPa": Number(fixed(0), rel=1e-6),
    "tutorial.xdmf_von_mises_max": Number(sci(2), rel=0.03),
    "tutorial.xdmf_max_principal_max": Number(sci(2), rel=0.03),
    # docs/commands/sweep.md: the --list thickness-ratio sweep (exact solver, film model)
    "sweep.ratio_max_principal_MPa": Number(fixed(0), rel=1e-6),
    # README "Verification (1D)": bench/run_cases.py -> bench/results/cases_summary.json
    "cases.count": Number(str, abs=0),
    # (the errors vs the exact solution and the DOFs are re-checked: a rerun whose error grew
    # or whose meshes changed fails the test instead of passing with untouched docs; the 1D
    # default scheme's errors are near round-off, 1e-10, which differs between PETSc builds:
    # the abs part, 1e-8, still fails a rerun that lost two orders of accuracy)
    "cases.worst_rel_err_one_minus_t": Number(sci(2), rel=0.5, abs=1e-8),
    "cases.worst_jump_err_over_L": Number(sci(2), rel=0.5, abs=1e-8),
    "cases.worst_mu_interface_err_eV": Number(sci(1), rel=0.5, abs=1e-8),
    "cases.min_dofs_k": Number(thousands(1), rel=0.05),
    "cases.max_dofs_k": Number(thousands(0), rel=0.05),
    "cases.min_time_s": Number(fixed(2)),
    "cases.max_time_s": Number(fixed(1)),
    "cases.total_time_s": Number(fixed(0)),
    "cases.max_load_average": Number(fixed(1)),
    # README and docs/commands/sweep.md: bench/suite.py's 200-point sweeps (timings: the load
    # average of the machine when they ran is quoted beside them)
    "suite.exact_200_r1_s": Number(fixed(1)),
    "suite.exact_200_r1_ms_per_point": Number(fixed(0)),
    "suite.exact_200_r1_load": Number(fixed(1)),
    "suite.exact_200_r2_s": Number(fixed(1)),
    "suite.exact_200_r2_load": Number(fixed(1)),
    "suite.fem_200_dofs": Number(str),
    "suite.fem_200_newton_per_point": Number(fixed(0)),
    "suite.fem_200_r1_s": Number(fixed(0)),
    "suite.fem_200_r1_load": Number(fixed(1)),
    "suite.fem_200_r2_s": Number(fixed(0)),
    "suite.fem_200_r2_load": Number(fixed(1)),
    # docs/commands/mechanics.md: a run of the study bilayer and its restart
    "refined.configurations": Number(str, abs=0),
    "refined.max_change": Number(sci(2), rel=1e-6),
    "restart.cells": Number(spaced, rel=0.02),
    "restart.max_rel_diff": Number(sci(1)),
    "restart.checkpoint_MB": Number(fixed(1)),
    "restart.run_folder_MB": Number(fixed(0)),
}


def _run(command: str, cwd: Path, capture: bool = False) -> str | None:
    """A documented command (without its ``docker/run`` prefix), in the runtime; its standard
    output when ``capture``."""
    done = subprocess.run(shlex.split(command), cwd=cwd, check=True, text=True,
                          stdout=subprocess.PIPE if capture else None)
    return done.stdout if capture else None


# ----------------------------------------------------------------------------------------------
# Groups: each runs its documented command(s) in a temporary folder and returns numbers
# ----------------------------------------------------------------------------------------------

TUTORIAL = "mpirun -n 2 python3 {root}/docs/examples/poly_bilayer_stress.py -o {out}/tutorial"


def _xdmf_max(h5: Path, name: str) -> float:
    """The largest value of the field ``name`` in an XDMF's HDF5 file (what ParaView's colour
    range shows for the cell data)."""
    import h5py

    found = []
    with h5py.File(h5, "r") as f:
        def visit(path, obj):
            if isinstance(obj, h5py.Dataset) and name in path:
                found.append(float(obj[...].max()))
        f.visititems(visit)
    if not found:
        raise KeyError(f"no {name!r} in {h5}")
    return max(found)


def _film_stress(data: dict) -> float:
    """E eps* / (1 - nu) (Pa) of the saturated eigenstrain of the first layer's material."""
    import numpy as np

    from fem_sse.spec.config import parse_config

    config = parse_config(data)
    name = config.layers[0].material
    mech, transport = config.mechanics.materials[name], config.materials[name]
    eps = mech.eigenstrain(np.array([transport.B + 1.0]), transport, config.cell.kT,
                           config.mechanics.mu_ref)[0]
    return mech.E * abs(eps) / (1.0 - mech.nu)


def group_tutorial(out: Path) -> dict:
    from fem_sse.spec.config import read_toml

    _run(TUTORIAL.format(root=ROOT, out=out), ROOT)
    s = json.loads((out / "tutorial" / "mechanics_summary.json").read_text())
    data = read_toml(ROOT / "cases" / "2d" / "poly_bilayer.toml")  # as the example changes it
    for material in data["materials"].values():
        material["strain_law"] = "two_state"
    data.setdefault("mechanics", {"stack_pressure": 5e6})
    h5 = out / "tutorial" / "mechanics.h5"
    return {"tutorial.t_li": s["t_li"], "tutorial.cells": s["cells"],
            "tutorial.max_von_mises_MPa": s["max_von_mises"] / 1e6,
            "tutorial.max_principal_MPa": s["max_principal"] / 1e6,
            "tutorial.crack_risk_index": s["crack_risk_index"],
            "tutorial.crack_risk_electrode": s["crack_risk_nearest_electrode"],
            "tutorial.crack_risk_distance_um": s["crack_risk_distance_to_electrode"] * 1e6,
            "tutorial.strength_MPa": s["max_principal_flaw_average"] / s["crack_risk_index"]
            / 1e6,
            "tutorial.film_stress_MPa": _film_stress(data) / 1e6,
            "tutorial.xdmf_von_mises_max": _xdmf_max(h5, "von_mises"),
            "tutorial.xdmf_max_principal_max": _xdmf_max(h5, "max_principal")}


SWEEP_RATIO = ("fem-sse sweep {root}/cases/fig3_bilayer.toml --list --solver exact "
               "-o {out}/sweep_ratio --progress off "
               "--set geometry.layers[0].thickness=90e-6:50e-6:9 "
               "--set geometry.layers[1].thickness=10e-6:50e-6:9 "
               "--set materials.SE_cathodic.strain_law=two_state "
               "--set materials.SE_anodic.strain_law=two_state "
               "--set mechanics.stack_pressure=5e6")


def group_sweep(out: Path) -> dict:
    _run(SWEEP_RATIO.format(root=ROOT, out=out), ROOT)
    rows = [json.loads(line) for line in (out / "sweep_ratio" / "results.jsonl").open()]
    peaks = [r["max_principal"] for r in rows if r["status"] != "failed"]
    if max(peaks) - min(peaks) > 1e-6 * max(peaks):
        raise AssertionError(f"sweep.md says the peak is the same for every ratio: {peaks}")
    return {"sweep.ratio_max_principal_MPa": max(peaks) / 1e6}


def group_cases(out: Path) -> dict:
    """README's verification table: read from bench/run_cases.py's JSON (re-run that script to
    renew it; ~1 min)."""
    return cases_numbers(json.loads((ROOT / "bench" / "results" / "cases_summary.json")
                                    .read_text()))


def rerun_cases(out: Path) -> dict:
    """The README's command ``bench/run_cases.py`` run again (into ``out``, one timed solve per
    case): the same numbers from what it measures now (the tests compare them)."""
    _run(f"python3 {ROOT}/bench/run_cases.py -o {out} --repeat 1", ROOT)
    return cases_numbers(json.loads((out / "cases_summary.json").read_text()))


def cases_numbers(rows: list[dict]) -> dict:
    """The README's numbers of a cases_summary.json."""
    return {"cases.count": len(rows),
            "cases.worst_rel_err_one_minus_t": max(r["rel_err_one_minus_t"] for r in rows),
            "cases.worst_jump_err_over_L": max(r["jump_err_over_L"] for r in rows),
            "cases.worst_mu_interface_err_eV": max(r["mu_interface_err_eV"] for r in rows),
            "cases.min_dofs_k": min(r["dofs"] for r in rows),
            "cases.max_dofs_k": max(r["dofs"] for r in rows),
            "cases.min_time_s": min(r["fem_wall_time_s"] for r in rows),
            "cases.max_time_s": max(r["fem_wall_time_s"] for r in rows),
            "cases.total_time_s": sum(r["fem_wall_time_s"] for r in rows),
            "cases.max_load_average": max(r["load_average"] or 0.0 for r in rows)}


SUITE = "python3 bench/suite.py --only sweep_exact_200 sweep_fem_200 --ranks 1 2"


def group_suite(out: Path) -> dict:
    """The 200-point sweeps of docs/commands/sweep.md and the README: read from bench/suite.py's
    JSON (re-run that command to renew them; ~5 min), with the load average of each run."""
    def bench(name: str, ranks: int) -> dict:
        return json.loads((ROOT / "bench" / "results" / "suite" / f"{name}_r{ranks}.json")
                          .read_text())

    e1, e2 = bench("sweep_exact_200", 1), bench("sweep_exact_200", 2)
    f1, f2 = bench("sweep_fem_200", 1), bench("sweep_fem_200", 2)
    for b in (e1, e2, f1, f2):
        if b["failed_points"]:
            raise AssertionError(f"{b['benchmark']} on {b['ranks']} rank(s): failed points")

    def load(b: dict) -> float:
        return b["machine"]["load_average_1min"]

    return {"suite.exact_200_r1_s": e1["wall_time_s"],
            "suite.exact_200_r1_ms_per_point": 1e3 * e1["wall_time_per_point_s"],
            "suite.exact_200_r1_load": load(e1),
            "suite.exact_200_r2_s": e2["wall_time_s"], "suite.exact_200_r2_load": load(e2),
            "suite.fem_200_dofs": f1["dofs"],
            "suite.fem_200_newton_per_point": f1["newton_iterations"] / f1["points"],
            "suite.fem_200_r1_s": f1["wall_time_s"], "suite.fem_200_r1_load": load(f1),
            "suite.fem_200_r2_s": f2["wall_time_s"], "suite.fem_200_r2_load": load(f2)}


def _t_li(value: float) -> str:
    return f"1 - {1.0 - value:.1e}" if value > 0.9999995 else f"{value:.6f}"


def cases_table(name: str = "cases_summary") -> str:
    """docs/cases.md's table of the 20 paper cases, from bench/run_cases.py's JSON ``name``
    (cases_summary: what ``fem-sse run`` does; cases_summary_fem: the W formulation)."""
    rows = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
    lines = ["| case | t_Li exact | t_Li FEM | paper | err(1-t) | jump err / L | mu_I err (eV) "
             "| DOFs | Newton its | FEM time (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        paper = "-" if r["paper_t_li"] is None else f"{r['paper_t_li']:g}"
        lines.append(f"| {r['case']} | {_t_li(r['t_li_exact'])} | {_t_li(r['t_li_fem'])} | "
                     f"{paper} | {r['rel_err_one_minus_t']:.1e} | {r['jump_err_over_L']:.1e} | "
                     f"{r['mu_interface_err_eV']:.1e} | {r['dofs']} | {r['newton_iterations']} | "
                     f"{r['fem_wall_time_s']:.2f} |")
    return "\n".join(lines) + "\n"


def stress2d_rerun_table() -> str:
    """docs/transport2d.md's rerun of the stress2d configurations that failed at step 0 or
    timed out (and a sample of converging ones), against the earlier results."""
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    results = ROOT / "bench" / "results"
    earlier = [("session 5", json.loads((results / "stress2d_s0.json").read_text())),
               ("main before", json.loads((results / "stress2d_s0_rerun_before.json")
                                          .read_text()))]
    rerun = json.loads((results / "stress2d_s0_rerun.json").read_text())
    totals = stress2d.totals(rerun["records"])
    now = json.loads((results / "stress2d_s0_now.json").read_text())["totals"]
    def counts(t: dict) -> str:
        status = ", ".join(f"{k} {v}" for k, v in sorted(t["status"].items(),
                                                          key=lambda kv: -kv[1]))
        bins = ", ".join(f"{k}: {v}" for k, v in t["converged_by_cancellation_ratio"].items())
        return f"{status}.\nConverged per range of the cancellation ratio: {bins}."

    loads = [r["load_average_1min"] for r in rerun["records"]]
    lines = [stress2d.rerun_table(earlier, rerun), "",
             f"These {totals['configurations']} (1-minute load average {min(loads):.1f}-"
             f"{max(loads):.1f}): {counts(totals)}", "",
             f"All {now['configurations']} now (`stress2d_s0_now.json`: session 5 with these "
             f"reruns in place): {counts(now)}"]
    return "\n".join(lines) + "\n"


def stress2d_eafe_table() -> str:
    """docs/transport2d.md's comparison of the W formulation, fem-eafe and the default fem run
    with its fallback on the 50 stress2d configurations of seed 0."""
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    results = ROOT / "bench" / "results"
    docs = [json.loads((results / name).read_text()) for name in
            ("stress2d_s0_w_s11_all.json", "stress2d_s0_eafe_s11_all.json",
             "stress2d_s0_fallback_s11.json")]
    return stress2d.eafe_table(*docs) + "\n"


def stress2d_eafe_s9_table() -> str:
    """docs/transport2d.md's rerun (session 9: natural monotonicity test, node relaxation,
    marking ties) of the fem-eafe configurations that did not converge in
    stress2d_s0_eafe_s8.json, before and after."""
    results = ROOT / "bench" / "results"
    before = {r["name"]: r for r in
              json.loads((results / "stress2d_s0_eafe_s8.json").read_text())["records"]}
    after = json.loads((results / "stress2d_s0_eafe_s9_subset.json").read_text())
    lines = ["| # | features | before (s8) | after | stop reason | 1 - t_Li | rel. err. vs exact "
             "| cells | newton its | time (s) | load (1 min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for rec in after["records"]:
        old = before[rec["name"]]
        one, err = rec.get("one_minus_t_li"), rec.get("rel_error_one_minus_t")
        lines.append(
            f"| {rec['name'].rsplit('_', 1)[1]} | {', '.join(rec.get('features', []))} "
            f"| {old['status']} | {rec['status']} | {rec.get('stop_reason') or '-'} "
            f"| {'-' if one is None else f'{one:.4g}'} | {'-' if err is None else f'{err:.2g}'} "
            f"| {rec.get('cells') or '-'} "
            f"| {rec.get('newton_iterations') or '-'} | {rec['wall_time_s']:.0f} "
            f"| {rec['load_average_1min']:.1f} |")
    return "\n".join(lines) + "\n"


def design_2d_table() -> str:
    """docs/design.md's 2D polycrystal table, from bench/design_2d.py's JSON."""
    sys.path.insert(0, str(ROOT / "bench"))
    import design_2d

    return design_2d.table(json.loads((ROOT / "bench" / "results" / "design_2d.json")
                                      .read_text()))


def design_bench_text() -> str:
    """docs/design.md's benchmark paragraph, from bench/design_bench.py's JSON."""
    b = json.loads((ROOT / "bench" / "results" / "design_bench.json").read_text())
    m, o = b["map"], b["optimization"]
    def load(key: str) -> str:
        return " / ".join(f"{v:.1f}" for v in b[key])

    return (f"{m['points']} x {m['points']} map (B_anodic x fraction): **{m['wall_time_s']:.1f} s**"
            f" ({m['ms_per_evaluation']:.1f} ms per design, {m['failed'] / m['evaluations']:.0%} "
            f"of them electronic shorts, which fail fast; target < {m['target_s']:.0f} s). "
            f"{len(o['keys'])}-key optimisation (the problem above, {o['nfev']} designs, "
            f"{o['nit']} generations): **{o['wall_time_s']:.1f} s** ({o['ms_per_evaluation']:.1f}"
            f" ms per design including the film stresses; target < {o['target_s']:.0f} s). "
            f"Load average (1 / 5 / 15 min) {load('load_average_before')} before, "
            f"{load('load_average_after')} after.\n")


PROGRESS_JSON = ROOT / "bench" / "results" / "docs_progress_example.json"


def progress_example() -> str:
    """docs/commands/run.md's example of ``--progress lines``: the last refinement step of the
    restart group's run and the elapsed-time line that followed it, as that run printed them."""
    lines = json.loads(PROGRESS_JSON.read_text())["lines"]
    steps = [i for i, line in enumerate(lines) if ": step " in line]
    ticks = [i for i, line in enumerate(lines) if " elapsed" in line and steps and i > steps[-1]]
    if not ticks:
        raise AssertionError(f"no step line followed by an elapsed line in {PROGRESS_JSON.name}")
    return "```\n" + lines[steps[-1]] + "\n" + lines[ticks[0]] + "\n```\n"


#: generated tables: name -> function returning the markdown (from bench JSON)
def gb_transverse_table() -> str:
    """docs/transport2d.md: both 2D schemes against the exact state of transverse GB
    interfaces (bench/gb_transverse.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import gb_transverse

    result = json.loads((ROOT / "bench" / "results" / "gb_transverse.json").read_text())
    return gb_transverse.table(result) + "\n"


def gb_check_table() -> str:
    """docs/transport2d.md: the default runs of the stress2d configurations with GB interfaces
    and their second-scheme check (bench/results/stress2d_s0_gbi_s10.json)."""
    doc = json.loads((ROOT / "bench" / "results" / "stress2d_s0_gbi_s10.json").read_text())
    lines = ["| # | outcome | solved by | 1 - t_Li | cells | checked by | difference |",
             "|---|---|---|---|---|---|---|"]
    for r in doc["records"]:
        check = r.get("scheme_check") or {}
        diff = check.get("relative_difference")
        text = f"{diff:.1e}" if diff is not None else f"not checked: {check.get('failure')}"
        solver = "fem-eafe (fallback)" if isinstance(r.get("fallback"), dict) else r["solver"]
        lines.append(f"| {r['name'].split('_')[-1]} | {r['status']} | {solver} | "
                     f"{r['one_minus_t_li']:.4g} | {spaced(r['cells'])} | "
                     f"{check.get('scheme', '-')} | {text[:90]} |")
    return "\n".join(lines) + "\n"


def stress2d_unseen_table(name: str = "stress2d_s1_fallback_all_s12") -> str:
    """docs/transport2d.md: the default fem run on configurations of a seed no change was made
    on (bench/results/NAME.json: seed 1, sessions 11-12; seed 2, session 13), with its totals."""
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    doc = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
    t = doc["totals"]
    status = ", ".join(f"{k} {v}" for k, v in sorted(t["status"].items()))
    loads = [r["load_average_1min"] for r in doc["records"]]
    return (stress2d.table(doc) + "\n\n"
            f"Seed {doc['seed']}, {t['configurations']} configurations: {status}; laterally "
            f"uniform: {t['uniform_compared']} compared with the exact 1D solution, 1 - t_Li "
            f"within {t['uniform_max_rel_error_one_minus_t']:.1e} relative, jumps within "
            f"{t['uniform_max_jump_error_over_L']:.1e} L, {t['uniform_front_count_mismatch']} "
            f"with a different number of fronts. Times at a 1-minute load average of "
            f"{min(loads):.1f}-{max(loads):.1f} on 2 cores (shared).\n")


def stress2d_defaults_table() -> str:
    """docs/transport2d.md: the three seeds with the 2D defaults of session 14 (cap 80 000,
    capped markings no quiet step) against their runs with the former cap of 20 000."""
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    results = ROOT / "bench" / "results"
    before = ("stress2d_s0_fallback_s11", "stress2d_s1_fallback_all_s12",
              "stress2d_s2_fallback_s13")
    pairs = [(json.loads((results / f"{old}.json").read_text()),
              json.loads((results / f"stress2d_s{seed}_default_s14.json").read_text()))
             for seed, old in enumerate(before)]
    loads = [r["load_average_1min"] for _, now in pairs for r in now["records"]]
    return (stress2d.defaults_table(pairs) + "\n\n"
            f"Times at a 1-minute load average of {min(loads):.1f}-{max(loads):.1f} on 2 cores "
            "(two configurations at a time).\n")


def stress2d_s15_table() -> str:
    """docs/transport2d.md: seeds 0-4 on the code of session 15 against the code of session 14
    (seed 3: a first run of this session before its fixes; seed 4: none)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    results = ROOT / "bench" / "results"
    before = ("stress2d_s0_default_s14", "stress2d_s1_default_s14", "stress2d_s2_default_s14",
              "stress2d_s3_default_s14code", None)
    pairs = [(json.loads((results / f"{old}.json").read_text()) if old else None,
              json.loads((results / f"stress2d_s{seed}_s15.json").read_text()))
             for seed, old in enumerate(before)]
    loads = [r["load_average_1min"] for _, now in pairs for r in now["records"]]
    moved = []  # (|1 - t now / before - 1|, seed:index, cells before, cells now), both converged
    for seed, (before_doc, now) in enumerate(pairs):
        old = {r["name"]: r for r in (before_doc or {"records": []})["records"]}
        for r in now["records"]:
            b = old.get(r["name"], {})
            if r["status"] == b.get("status") == "converged":
                moved.append((abs(r["one_minus_t_li"] / b["one_minus_t_li"] - 1.0),
                              f"{seed}:{r['name'].rsplit('_', 1)[1]}", b["cells"], r["cells"]))
    moved.sort(reverse=True)
    top, rest = moved[0], moved[1][0]
    return (stress2d.defaults_table(pairs, "session 14 code", None) + "\n\n"
            f"Converged both times ({len(moved)} configurations): 1 - t_Li moved by at most "
            f"{top[0]:.1e} ({top[1]}, {top[2]} -> {top[3]} cells), every other by at most "
            f"{rest:.1e}. Times at a 1-minute load average of {min(loads):.1f}-{max(loads):.1f} "
            "on 2 cores (two configurations at a time, beside other runs).\n")


def refine_study_table(name: str) -> str:
    """docs/transport2d.md: a ``bench/refine_study.py`` run (bench/results/NAME.json)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import refine_study

    doc = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
    return refine_study.table(doc) + "\n"


def refine_converged_table() -> str:
    """docs/transport2d.md: converged GB-interface configurations of session 14's default runs
    against the extrapolated limit of uniform refinement (bench/refine_study.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import refine_study

    results = ROOT / "bench" / "results"
    rows = []
    for seed, index in ((0, 28), (1, 13), (2, 33)):
        doc = json.loads((results / f"refine_study_s{seed}_{index}_s15.json").read_text())
        runs = json.loads((results / f"stress2d_s{seed}_default_s14.json").read_text())
        record = next(r for r in runs["records"] if r["name"] == f"stress2d_{seed}_{index}")
        rows.append((f"{seed}:{index}", doc, record))
    return refine_study.converged_table(rows) + "\n"


def stress2d_s16_table(before: int = 15, now_session: int = 16, seeds: int = 6) -> str:
    """docs/transport2d.md: seeds 0 to ``seeds`` - 1 on the code of session ``now_session``
    against session ``before``'s (a seed without a run then: never run before), and the
    configurations whose 1 - t_Li moved by more than 1e-4 with their junctions
    (bench/junction_census.py, seeds 0-5)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    results = ROOT / "bench" / "results"
    census = json.loads((results / "junction_census_s16.json").read_text())["seeds"]
    junctions = {r["name"]: r for rows in census.values() for r in rows}

    def run(seed: int, session: int) -> dict | None:
        path = results / f"stress2d_s{seed}_s{session}.json"
        return json.loads(path.read_text()) if path.exists() else None

    nows = {seed: run(seed, now_session) for seed in range(seeds)}
    pairs = [(run(seed, before), now) for seed, now in nows.items()
             if now is not None]  # seeds not run again: left out
    loads = [r["load_average_1min"] for _, now in pairs for r in now["records"]]
    rows = [f"| seed:# | features | junctions (smallest exponent) | session {before}: 1 - t_Li, "
            "cells | now: 1 - t_Li, cells, solver | now / before - 1 |", "|---|---|---|---|---|---|"]
    both = 0
    for before_doc, now in pairs:
        seed = now["seed"]
        old = {r["name"]: r for r in (before_doc or {"records": []})["records"]}
        for r in now["records"]:
            b = old.get(r["name"], {})
            if not (r["status"] == b.get("status") == "converged"):
                continue
            both += 1
            moved = r["one_minus_t_li"] / b["one_minus_t_li"] - 1.0
            if abs(moved) <= 1e-4:
                continue
            name = f"{seed}:{r['name'].rsplit('_', 1)[1]}"
            j = junctions.get(name, {})
            alpha = j.get("smallest_exponent")
            rows.append(f"| {name} | {', '.join(r['features'])} | {j.get('junctions', '-')}"
                        f"{f' ({alpha:.3f})' if alpha else ''} | {b['one_minus_t_li']:.6g}, "
                        f"{b['cells']} | {r['one_minus_t_li']:.6g}, {r['cells']}, "
                        f"{r['solver']} | {moved:+.1e} |")
    return (stress2d.defaults_table(pairs, f"session {before} code", None) + "\n\n"
            f"Converged both times: {both} configurations; those whose 1 - t_Li moved by more "
            "than 1e-4:\n\n" + "\n".join(rows) + "\n\n"
            f"Times at a 1-minute load average of {min(loads):.1f}-{max(loads):.1f} on 2 cores "
            "(two configurations at a time, beside other runs).\n")


def junction_census_table() -> str:
    """docs/transport2d.md: how many random configurations have singular junctions."""
    sys.path.insert(0, str(ROOT / "bench"))
    import junction_census

    doc = json.loads((ROOT / "bench" / "results" / "junction_census_s16.json").read_text())
    return junction_census.table(doc) + "\n"


def junctions_tables(name: str, what: str) -> str:
    """docs/transport2d.md, session 16: a refine_study run of the graded first mesh
    (bench/results/NAME.json): ``what`` "grading" (its halvings) or "uniform" (the uniform
    sequences from the graded mesh)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import refine_study

    doc = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
    if what == "grading":
        return refine_study.junction_table(doc) + "\n"
    return refine_study.table(doc, ("graded-uniform", "uniform-w")) + "\n"


#: configurations whose 1 - t_Li moved by more than 6e-4 in session 16's first runs (commit
#: 30d545b), refined uniformly
REFERENCED = ((0, 32), (0, 40), (3, 41), (3, 20), (3, 4), (4, 7), (2, 29))


#: session 17: configurations that only the exponentially fitted scheme solves (the W
#: formulation's precision check refuses them), refined uniformly from the first mesh
EAFE_ONLY = ((5, 4), (4, 41))


def adaptive_s16_table(session: int = 16, extra: tuple = ()) -> str:
    """docs/transport2d.md: session ``session``'s default runs against the extrapolated limit
    of uniform refinement from the graded first mesh (exponentially fitted); ``extra``:
    (seed, index) of more references (``refine_study_s{seed}_c{index}_s{session}``)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import refine_study

    results = ROOT / "bench" / "results"
    rows = []
    for seed, index, name in ((2, 22, "refine_study_s2_c22_graded_s16"),
                              (0, 28, "refine_study_s0_c28_graded_s16"),
                              *((s, i, f"refine_study_s{s}_c{i}_s16") for s, i in REFERENCED),
                              *((s, i, f"refine_study_s{s}_c{i}_s{session}") for s, i in extra)):
        doc = json.loads((results / f"{name}.json").read_text())
        runs = json.loads((results / f"stress2d_s{seed}_s{session}.json").read_text())
        record = next(r for r in runs["records"] if r["name"] == f"stress2d_{seed}_{index}")
        rows.append((f"{seed}:{index} ({record['solver']}, {record['stop_reason']})", doc,
                     record))
    return refine_study.converged_table(rows, "graded-uniform", "default run") + "\n"


#: session 17: the EAFE loop alone (``--solver fem-eafe``) against uniform references:
#: (seed, index, the reference's refine_study JSON, its mode)
EAFE_REFERENCES = ((2, 22, "refine_study_s2_c22_graded_s16", "graded-uniform"),
                   (0, 28, "refine_study_s0_c28_graded_s16", "graded-uniform"),
                   (2, 29, "refine_study_s2_c29_s17", "uniform-eafe"),
                   (4, 7, "refine_study_s4_c7_s16", "uniform-eafe"),
                   (5, 38, "refine_study_s5_c38_s17", "uniform-eafe"),
                   (5, 4, "refine_study_s5_c4_s17", "uniform-eafe"),
                   (4, 41, "refine_study_s4_c41_s17", "uniform-eafe"),
                   (0, 47, "refine_study_s0_c47_s17", "uniform-eafe"))


def eafe_loop_s17_table() -> str:
    """docs/transport2d.md: the EAFE loop with the electronic indicator (session 17,
    ``bench/results/stress2d_eafe_loop_s17.json``) against the extrapolated limits of uniform
    refinement."""
    sys.path.insert(0, str(ROOT / "bench"))
    import refine_study

    results = ROOT / "bench" / "results"
    runs = json.loads((results / "stress2d_eafe_loop_s17.json").read_text())
    by_name = {r["name"]: r for r in runs["records"]}
    rows = []
    for seed, index, name, mode in EAFE_REFERENCES:
        doc = json.loads((results / f"{name}.json").read_text())
        record = by_name.get(f"stress2d_{seed}_{index}")
        if record is None:  # not run alone: its default run, which ended on the EAFE scheme
            default = json.loads((results / f"stress2d_s{seed}_s17.json").read_text())
            record = next(r for r in default["records"] if r["name"] == f"stress2d_{seed}_{index}")
        rows.append((f"{seed}:{index} ({record['solver']}, {record['stop_reason']})", doc,
                     record))
    return refine_study.converged_table(rows, "graded-uniform", "EAFE loop") + "\n"


#: seeds run with ``--refined-check`` in session 18 (0: run before; 7: never run before)
REFINED_SEEDS = (0, 7)


def _refined_seed_rows(seed: int) -> tuple[str, list[str]]:
    """A seed's summary row of the refined-check table, and its rows of the configurations
    whose refined change is largest (three) or whose check gave no state."""
    doc = json.loads((ROOT / "bench" / "results" / f"stress2d_s{seed}_refined_s18.json")
                     .read_text())
    records = doc["records"]
    done = [r for r in records if r["status"] == "converged"]
    checks = [(r, r["refined_check"]) for r in done if r.get("refined_check")]
    measured = [(r, c) for r, c in checks if c["relative_change"] is not None]
    times = [c["check_time_s"] for _, c in checks]
    schemes = {k: sum(1 for r in done if r["solver"] == k) for k in ("fem", "fem-eafe")}
    worst = max(c["relative_change"] for _, c in measured)
    uniform = doc["totals"].get("uniform_max_rel_error_one_minus_t")
    row = (f"| {seed} | {len(done)} / {len(records)} | {schemes['fem']} / {schemes['fem-eafe']} "
           f"| {len(checks)} | {len(checks) - len(measured)} | {worst:.1e} | "
           f"{sorted(times)[len(times) // 2]:.0f} / {max(times):.0f} | "
           f"{max(c['refined_cells'] for _, c in checks)} | "
           f"{'-' if uniform is None else f'{uniform:.1e}'} |")
    largest = sorted(measured, key=lambda rc: -rc[1]["relative_change"])[:3]
    details = [f"| {seed}:{r['name'].rsplit('_', 1)[1]} | {', '.join(r['features'])} | "
               f"{r['solver']}, {r['cells']} | {r['one_minus_t_li']:.7g} | "
               f"{c['refined_one_minus_t_li']:.7g} | {c['relative_change']:.1e} |"
               for r, c in largest]
    details += [f"| {seed}:{r['name'].rsplit('_', 1)[1]} | {', '.join(r['features'])} | "
                f"{r['solver']}, {r['cells']} | {r['one_minus_t_li']:.7g} | no state: "
                f"{c['failure'][:80]} | - |" for r, c in checks if c["failure"] is not None]
    return row, details


def refined_seeds_table() -> str:
    """docs/transport2d.md: the default runs of whole seeds with ``--refined-check``."""
    rows = ["| seed | converged | by W / by EAFE | checked | no state | largest change | "
            "check time: median / max (s) | largest refined mesh (cells) | laterally uniform: "
            "largest error vs exact |", "|---|---|---|---|---|---|---|---|---|"]
    details = ["| seed:# | features | solver, cells | 1 - t_Li | refined everywhere | "
               "change |", "|---|---|---|---|---|---|"]
    for seed in REFINED_SEEDS:
        row, more = _refined_seed_rows(seed)
        rows.append(row)
        details += more
    return "\n".join(rows) + "\n\nThe largest changes per seed:\n\n" + "\n".join(details) + "\n"


#: the configurations whose loops converge slowest or whose references were uncertain
#: (session 17), checked by bench/refine_study.py --modes adaptive-uniform in session 18
ADAPTIVE_UNIFORM = ((0, 47), (4, 7), (5, 38), (2, 22), (0, 45), (0, 33), (2, 45), (3, 32),
                    (2, 29), (0, 28), (5, 4), (4, 41))


def adaptive_uniform_s18_table() -> str:
    """docs/transport2d.md: the EAFE loop's final mesh refined everywhere (session 18)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import refine_study

    results = ROOT / "bench" / "results"
    references = {(seed, index): name for seed, index, name, _ in EAFE_REFERENCES}
    rows = []
    for seed, index in ADAPTIVE_UNIFORM:
        doc = json.loads((results / f"refine_study_s{seed}_c{index}_adaptive_s18.json")
                         .read_text())
        default = json.loads((results / f"stress2d_s{seed}_s17.json").read_text())
        record = next(r for r in default["records"] if r["name"] == f"stress2d_{seed}_{index}")
        name = references.get((seed, index))
        uniform = None if name is None else json.loads((results / f"{name}.json").read_text())
        rows.append((f"{seed}:{index}", doc, record["features"], uniform))
    return refine_study.adaptive_uniform_table(rows) + "\n"


TABLES = {"stress2d_unseen": stress2d_unseen_table, "stress2d_s15": stress2d_s15_table,
          "junctions_2_22": lambda: junctions_tables("refine_study_s2_c22_graded_s16",
                                                     "grading"),
          "uniform_graded_2_22": lambda: junctions_tables("refine_study_s2_c22_graded_s16",
                                                          "uniform"),
          "uniform_graded_0_28": lambda: junctions_tables("refine_study_s0_c28_graded_s16",
                                                          "uniform"),
          "adaptive_s16": adaptive_s16_table, "stress2d_s16": stress2d_s16_table,
          "adaptive_s17": lambda: adaptive_s16_table(17, EAFE_ONLY),
          "eafe_loop_s17": eafe_loop_s17_table,
          "adaptive_uniform_s18": adaptive_uniform_s18_table,
          "refined_seeds_s18": refined_seeds_table,
          "stress2d_s17": lambda: stress2d_s16_table(16, 17, 7),
          "junction_census": junction_census_table,
          "refine_converged": refine_converged_table,
          "refine_2_22": lambda: refine_study_table("refine_study_s2_c22_s15"),
          "refine_2_22_sigma": lambda: refine_study_table("refine_study_s2_c22_sigma_M1_x32_s15"),
          "stress2d_defaults": stress2d_defaults_table,
          "stress2d_seed2": lambda: stress2d_unseen_table("stress2d_s2_fallback_s13"),
          "gb_check": gb_check_table, "gb_transverse": gb_transverse_table,
          "cases": cases_table, "cases_fem": lambda: cases_table("cases_summary_fem"),
          "stress2d_rerun": stress2d_rerun_table,
          "stress2d_eafe": stress2d_eafe_table, "stress2d_eafe_s9": stress2d_eafe_s9_table,
          "progress_example": progress_example, "design_2d": design_2d_table,
          "design_bench": design_bench_text}


RESTART = ("fem-sse run {root}/cases/2d/study_bilayer.toml -o {out}/sb --progress lines",
           "fem-sse mechanics {out}/sb --progress off")
RESTART_KEYS = ("max_von_mises", "max_principal", "crack_risk_index", "min_principal",
                "max_displacement")


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def group_restart(out: Path) -> dict:
    import os

    printed = _run(RESTART[0].format(root=ROOT, out=out), ROOT, capture=True)
    PROGRESS_JSON.write_text(json.dumps({  # the example of docs/commands/run.md
        "command": RESTART[0], "lines": printed.splitlines(),
        "load_average": os.getloadavg()[0]}, indent=1) + "\n")
    _run(RESTART[1].format(root=ROOT, out=out), ROOT)
    run = json.loads((out / "sb" / "summary.json").read_text())
    again = json.loads((out / "sb_mechanics" / "summary.json").read_text())
    diff = max(abs(again["mechanics"][k] / run["mechanics"][k] - 1.0) for k in RESTART_KEYS)
    return {"restart.cells": run["cells"], "restart.max_rel_diff": max(diff, 1e-16),
            "restart.checkpoint_MB": _megabytes(out / "sb" / "checkpoint"),
            "restart.run_folder_MB": _megabytes(out / "sb")}


def group_refined(out: Path) -> dict:
    """README's summary of the loops' meshes refined everywhere: read from
    bench/refine_study.py's ``adaptive-uniform`` JSONs (session 18; re-run that script to
    renew them)."""
    changes = []
    for seed, index in ADAPTIVE_UNIFORM:
        doc = json.loads((ROOT / "bench" / "results" /
                          f"refine_study_s{seed}_c{index}_adaptive_s18.json").read_text())
        loop, fine = doc["modes"]["adaptive-uniform"][:2]
        changes.append(abs(fine["one_minus_t_li"] / loop["one_minus_t_li"] - 1.0))
    return {"refined.configurations": len(changes), "refined.max_change": max(changes)}


GROUPS = {"cases": group_cases, "sweep": group_sweep, "tutorial": group_tutorial,
          "restart": group_restart, "suite": group_suite, "refined": group_refined}
#: the command lines of each group, as recorded in the JSON
COMMANDS = {"tutorial": [TUTORIAL], "sweep": [SWEEP_RATIO],
            "cases": ["python3 bench/run_cases.py"], "restart": list(RESTART),
            "suite": [SUITE], "refined": ["python3 bench/refine_study.py --modes "
                                          "adaptive-uniform --levels 2 --one S:I"]}


# ----------------------------------------------------------------------------------------------
# JSON, filling and checking
# ----------------------------------------------------------------------------------------------


def text_of(key: str, value) -> str:
    return NUMBERS[key].fmt(value)


def within(key: str, value, reference, widen: float = 1.0) -> bool:
    """Whether a re-run's ``value`` reproduces the recorded ``reference`` within the key's
    physics tolerance (times ``widen``); always true for keys without one (timings, sizes)."""
    spec = NUMBERS[key]
    if spec.rel is None and spec.abs is None:
        return True
    if isinstance(reference, str) or isinstance(value, str):
        return str(value) == str(reference)
    bound = widen * ((spec.rel or 0.0) * abs(reference) + (spec.abs or 0.0))
    return abs(value - reference) <= bound


def record(groups: list[str]) -> dict:
    """Run ``groups`` and merge their numbers into the JSON (other groups are kept)."""
    import os

    import dolfinx

    data = json.loads(JSON.read_text()) if JSON.exists() else {"numbers": {}, "groups": {}}
    for name in groups:
        with tempfile.TemporaryDirectory(prefix=f"docs_numbers_{name}_") as tmp:
            values = GROUPS[name](Path(tmp))
        for key, value in values.items():
            data["numbers"][key] = {"value": value, "text": text_of(key, value), "group": name,
                                    "rel": NUMBERS[key].rel, "abs": NUMBERS[key].abs}
        data["groups"][name] = {"commands": COMMANDS[name], "dolfinx": dolfinx.__version__,
                                "machine": platform.node(), "load_average": os.getloadavg()[0]}
        print(f"{name}: " + ", ".join(f"{k} = {text_of(k, v)}" for k, v in values.items()),
              flush=True)
        JSON.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")  # after each group
    return data


def pages() -> list[Path]:
    return sorted({p for pattern in PAGES for p in ROOT.glob(pattern)})


def fill(data: dict) -> list[str]:
    """Put every recorded text into its markers. Returns the pages changed."""
    changed = []
    for page in pages():
        text = page.read_text()
        new = MARKER.sub(lambda m: (f"<!-- n:{m[1]} -->{data['numbers'][m[1]]['text']}"
                                    "<!-- /n -->") if m[1] in data["numbers"] else m[0], text)
        new = TABLE.sub(lambda m: m[1] + TABLES[m[2]]() + m[4] if m[2] in TABLES else m[0], new)
        if new != text:
            page.write_text(new)
            changed.append(str(page.relative_to(ROOT)))
    return changed


def check(data: dict) -> list[str]:
    """Every marker's text equals the JSON's, every marker's key is known, every recorded
    number is quoted somewhere. Returns the problems (empty: all good)."""
    problems, seen = [], set()
    for page in pages():
        for m in MARKER.finditer(page.read_text()):
            key, shown = m[1], m[2]
            seen.add(key)
            where = f"{page.relative_to(ROOT)}: {key}"
            if key not in NUMBERS or key not in data["numbers"]:
                problems.append(f"{where}: no such number in {JSON.name}")
            elif shown != data["numbers"][key]["text"]:
                problems.append(f"{where}: the page says {shown!r}, the run gave "
                                f"{data['numbers'][key]['text']!r}")
        for m in TABLE.finditer(page.read_text()):
            if m[2] not in TABLES:
                problems.append(f"{page.relative_to(ROOT)}: no such table {m[2]!r}")
            elif m[3] != TABLES[m[2]]():
                problems.append(f"{page.relative_to(ROOT)}: table {m[2]!r} differs from its "
                                "bench JSON")
    problems += [f"{key}: recorded but quoted on no page" for key in data["numbers"]
                 if key not in seen]
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"groups to run (default all): {', '.join(GROUPS)}")
    parser.add_argument("--fill", action="store_true", help="fill the pages from the JSON only")
    parser.add_argument("--check", action="store_true", help="compare the pages with the JSON")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {unknown}: choose from {', '.join(GROUPS)}")
    if args.check:
        problems = check(json.loads(JSON.read_text()))
        print("\n".join(problems) or f"every documented number matches {JSON.name}")
        return 1 if problems else 0
    data = json.loads(JSON.read_text()) if args.fill else record(args.groups or list(GROUPS))
    changed = fill(data)
    print(f"filled {', '.join(changed) or 'nothing (pages already up to date)'}")
    problems = check(data)
    print("\n".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
