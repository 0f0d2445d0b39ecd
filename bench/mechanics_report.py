"""The generated tables of docs/mechanics.md, from the JSON the mechanics bench scripts write.

    docker/run python3 bench/mechanics_report.py      (or plain python3: reads JSON only)

Every block between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` in
docs/mechanics.md is replaced by the table NAME built here from bench/results/*.json, so no
number in those tables is typed by hand. Blocks: peaks_* (bench/mechanics_peaks.py),
reference and dilute (bench/mechanics_reference.py), study1d (bench/mechanics_study.py),
study2d (bench/mechanics_study2d.py), timing (bench/mechanics.py), ranks
(bench/mechanics_ranks.py, under mpirun), presets (the material
presets of fem_sse/materials/strain.py).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "mechanics.md"
MPA, UM = 1e6, 1e-6
NAMES = {"max_principal": "max principal", "max_von_mises": "max von Mises",
         "crack_risk_index_local": "cell crack risk", "crack_risk_index": "crack risk"}


def _load(name: str):
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _f(value, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def _where(point) -> str:
    return "(" + ", ".join(f"{c / UM:.2f}" for c in point) + ")"


def _peak_rows(rows, first: str, key: str, fmt=None) -> list[str]:
    lines = []
    for r in rows:
        label = fmt(r[key]) if fmt else str(r[key])
        lines.append(f"| {label} | {r['cells']} | {r['fitted_edges']} | "
                     f"{r['max_principal'] / MPA:.2f} | {r['max_von_mises'] / MPA:.2f} | "
                     f"{_f(r.get('crack_risk_index_local'), '.4f')} | "
                     f"{r['crack_risk_index']:.4f} | {_where(r['crack_risk_location'])} | "
                     f"{r['crack_risk_nearest_electrode']} |")
    head = (f"| {first} | cells | fitted edges | max principal (MPa) | max von Mises (MPa) | "
            "cell crack risk | crack risk (flaw average) | crack-risk location (um) | "
            "nearest electrode |")
    return [head, "|---:|---:|---:|---:|---:|---:|---:|---|---|", *lines]


def _change(rows, key: str) -> str:
    if len(rows) < 2:
        return "-"
    a, b = rows[-2][key], rows[-1][key]
    return f"{100.0 * (b - a) / abs(a):+.2f} %"


def peaks(name: str) -> list[str]:
    data = _load("mechanics_peaks.json") or {}
    case = data.get(name)
    if case is None:
        return ["(not run yet: `docker/run python3 bench/mechanics_peaks.py --cases "
                f"{name}`)"]
    rows = case["rows"]
    if "refine_fronts" in rows[0]:
        lines = _peak_rows(rows, "refine_fronts", "refine_fronts")
    else:
        lines = _peak_rows(rows, "h (um)", "h_m", lambda h: f"{h / UM:g}")
    if "max_principal_gb_distance_m" in rows[-1]:
        lines += ["", "Max principal peak, location (um) and distance to the nearest GB (um): "
                  + ", ".join(f"{_where(r['max_principal_location'])} / "
                              f"{r['max_principal_gb_distance_m'] / UM:.2f}" for r in rows)
                  + "."]
    if "crack_risk_gb_distance_m" in rows[-1]:
        lines += ["", "Crack risk (flaw average), location (um) and distance to the nearest GB "
                  "(um): " + ", ".join(f"{_where(r['crack_risk_location'])} / "
                                       f"{r['crack_risk_gb_distance_m'] / UM:.2f}" for r in rows)
                  + "."]
    if "max_principal_flaw_average" in rows[-1]:
        lines += ["", "Averaged over the flaw size (Helmholtz filter of length "
                  f"{rows[-1]['flaw_average_length'] / UM:.2f} um, fem_sse/mechanics/average.py), "
                  "max principal / max von Mises (MPa) per row: " + ", ".join(
                      f"{r['max_principal_flaw_average'] / MPA:.2f} / "
                      f"{r['max_von_mises_flaw_average'] / MPA:.2f}" for r in rows)
                  + "; last two rows: "
                  f"{_change(rows, 'max_principal_flaw_average')} / "
                  f"{_change(rows, 'max_von_mises_flaw_average')}."]
    linear = case.get("linear_level_rows")
    if linear:
        lines += ["", "With the front fitted to the level linear in each transport cell (before "
                  "fem_sse/mechanics/smooth.py), refine_fronts " + " / ".join(
                      str(r["refine_fronts"]) for r in linear) + ": max principal " + " / ".join(
                      f"{r['max_principal'] / MPA:.2f}" for r in linear) + " MPa, max von Mises "
                  + " / ".join(f"{r['max_von_mises'] / MPA:.2f}" for r in linear)
                  + f" MPa (last vs first: {_change([linear[0], linear[-1]], 'max_principal')} / "
                  f"{_change([linear[0], linear[-1]], 'max_von_mises')})."]
    exact = case.get("film") or case.get("exact")
    if exact:
        lines += ["", f"Exact: max principal {exact['max_principal'] / MPA:.2f} MPa, max von "
                  f"Mises {exact['max_von_mises'] / MPA:.2f} MPa, cell crack risk "
                  f"{_f(exact.get('crack_risk_index_local'), '.4f')}, crack risk (flaw "
                  f"average) {exact['crack_risk_index']:.4f}"
                  + (f" at {_where(exact['crack_risk_location'])} um"
                     if "crack_risk_location" in exact else "") + "."]
    lines += ["", f"Last two rows: max principal {_change(rows, 'max_principal')}, max von "
              f"Mises {_change(rows, 'max_von_mises')}, crack risk (flaw average) "
              f"{_change(rows, 'crack_risk_index')}."]
    if len(rows) > 2:
        lines += ["", "Change from row to row (max principal / max von Mises): " + ", ".join(
            f"{_change(rows[k - 1:k + 1], 'max_principal')} / "
            f"{_change(rows[k - 1:k + 1], 'max_von_mises')}" for k in range(1, len(rows))) + "."]
    if exact:
        keys = [k for k in NAMES if k in exact and k in rows[-1]]
        worst = max(rows, key=lambda r: max(abs(r[k] / exact[k] - 1.0) for k in keys))
        label = (f"refine_fronts {worst['refine_fronts']}" if "refine_fronts" in worst
                 else f"h = {worst['h_m'] / UM:g} um")
        lines += ["", "Largest deviation from the exact values over the rows: " + ", ".join(
            f"{NAMES[k]} {100.0 * (worst[k] / exact[k] - 1.0):+.2f} %" for k in keys)
            + f" ({label})."]
    return lines


def _pair(row) -> str:
    return f"{row['max_principal'] / MPA:.2f} / {row['max_von_mises'] / MPA:.2f}"


def _shift(a, b) -> str:
    """Relative change a -> b of the max principal / max von Mises peaks."""
    return " / ".join(f"{100.0 * (b[k] - a[k]) / abs(a[k]):+.2f} %"
                      for k in ("max_principal", "max_von_mises"))


def smooth_level() -> list[str]:
    """study_single on two transport meshes, smooth vs linear level (mechanics_peaks.py)."""
    data = _load("mechanics_peaks.json") or {}
    cases = [data.get(k) for k in ("study_single", "study_single_fine")]
    if any(c is None or "linear_level_rows" not in c for c in cases):
        return ["(not run yet: `docker/run python3 bench/mechanics_peaks.py --cases "
                "study_single study_single_fine`)"]
    lines = ["| transport mesh sizes | transport cells | 1 - t_Li | level | refine_fronts 0: max "
             "principal / max von Mises (MPa) | refine_fronts 6 | 4 -> 6 |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for case in cases:
        smooth = {r["refine_fronts"]: r for r in case["rows"]}
        linear = {r["refine_fronts"]: r for r in case["linear_level_rows"]}
        head = (f"| x {case['mesh_scale']:g} | {case['transport_cells']} | "
                f"{1.0 - case['t_li']:.4e} |")
        lines += [f"{head} smooth | {_pair(smooth[0])} | {_pair(smooth[6])} | "
                  f"{_shift(smooth[4], smooth[6])} |",
                  f"| | | | linear | {_pair(linear[0])} | {_pair(linear[6])} | - |"]
    (coarse, fine) = ({r["refine_fronts"]: r for r in c["rows"]} for c in cases)
    (lin_c, lin_f) = ({r["refine_fronts"]: r for r in c["linear_level_rows"]} for c in cases)
    lines += ["", "Halving the transport mesh sizes changes the smooth level's peaks at "
              f"refine_fronts 6 by {_shift(coarse[6], fine[6])} (max principal / max von Mises) "
              f"and at refine_fronts 0 by {_shift(coarse[0], fine[0])}; the linear level's at "
              f"refine_fronts 0 by {_shift(lin_c[0], lin_f[0])}. The smooth level against the "
              f"linear one at refine_fronts 0 (the same elastic resolution): "
              f"{_shift(lin_c[0], coarse[0])} (sizes x 1), {_shift(lin_f[0], fine[0])} (x 0.5)."]
    return lines


def reference() -> list[str]:
    data = _load("mechanics_reference.json")
    if data is None:
        return ["(not run yet: `docker/run python3 bench/mechanics_reference.py`)"]
    lines = ["| law | delta_ref | max principal (MPa) | min principal (MPa) | max von Mises "
             "(MPa) | crack risk | fracture risk (K_I/K_IC) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in data["rows"]:
        lines.append(f"| {r['law']} | {r['delta_ref']:+.3f} | {r['max_principal'] / MPA:.1f} | "
                     f"{r['min_principal'] / MPA:.1f} | {r['max_von_mises'] / MPA:.1f} | "
                     f"{r['crack_risk_index']:.3f} | {r['fracture_risk_index']:.3f} |")
    return lines


def dilute() -> list[str]:
    data = _load("mechanics_reference.json")
    if data is None:
        return ["(not run yet)"]
    d = data["dilute_law"]
    return [f"With the paper's A = {d['A_S_per_m']:g} S/m: delta0 = {d['delta0']:.3e}; at "
            f"y = 3 the law gives {d['delta_at_y3_code']:.6e} and the derivation "
            f"(sigma_e - sigma_h)/(e u N) {d['delta_at_y3_derivation']:.6e}; the cap "
            f"{d['cap']:g} is reached {d['cap_distance_eV']:.3f} eV from B."]


def study1d() -> list[str]:
    data = _load("mechanics_study.json")
    if data is None:
        return ["(not run yet)"]
    lines = ["| law | design | t_Li | mu jumps (x/L) | max von Mises (MPa) | max principal "
             "(MPa) | crack risk (flaw average) | tensile > strength (fraction of L) | crack "
             "risk from nearest electrode (um) | largest lateral-stress step at a jump (MPa) |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in data:
        jumps = ", ".join(f"{x:.4f}" for x in r["jumps_x_over_L"])
        lines.append(f"| {r['law']} | {r['design']} | {r['t_li']:.4f} | {jumps} | "
                     f"{r['max_von_mises_MPa']:.1f} | {r['max_principal_MPa']:.1f} | "
                     f"{r['crack_risk_index']:.3f} | {r['fraction_over_strength']:.2f} | "
                     f"{r['crack_risk_distance_to_electrode_um']:.2f} | "
                     f"{_f(r['largest_jump_stress_step_MPa'], '.0f')} |")
    return lines


def study2d() -> list[str]:
    data = _load("mechanics_study2d.json")
    if data is None:
        return ["(not run yet)"]
    lines = ["| design | law | refine_fronts | elastic cells | max von Mises (MPa) | max "
             "principal (MPa) | cell crack risk | crack risk (flaw average) | fracture risk | "
             "crack risk: nearest electrode, distance (um) | area with sigma_1 > strength | GB "
             "normal max / shear max (MPa) | PB normal mean (MPa) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|"]
    for r in data:
        lines.append(
            f"| {r['design']} | {r['law']} | {r['front_refinements']} | {r['elastic_cells']} | "
            f"{r['max_von_mises_MPa']:.1f} | {r['max_principal_MPa']:.1f} | "
            f"{_f(r.get('crack_risk_index_local'), '.3f')} | "
            f"{r['crack_risk_index']:.3f} | {_f(r.get('fracture_risk_index'), '.3f')} | "
            f"{r['crack_risk_nearest_electrode']}, "
            f"{r['crack_risk_distance_to_electrode_um']:.2f} | "
            f"{r['area_fraction_over_strength']:.3f} | {_f(r['gb_normal_max_MPa'], '.0f')} / "
            f"{_f(r['gb_shear_max_MPa'], '.0f')} | {_f(r['pb_normal_mean_MPa'], '.2f')} |")
    if "load_average_1min" in data[0]:
        first = {r["design"]: r for r in reversed(data)}  # transport time once per design
        transport = sum(r["transport_wall_time_s"] for r in first.values())
        mechanics = sum(r["mechanics_wall_time_s"] for r in data)
        lines += ["", f"Run: transport {transport:.0f} s + mechanics {mechanics:.0f} s, 1 rank, "
                  f"load average {data[0]['load_average_1min']:.1f}."]
    return lines


def timing() -> list[str]:
    data = _load("mechanics.json")
    if data is None:
        return ["(not run yet)"]
    lines = ["| DOFs | solver | KSP its | assemble (s) | solve (s) | mechanics total (s) | "
             "peak RSS (MB) |", "|---:|---|---:|---:|---:|---:|---:|"]
    for r in data:
        lines.append(f"| {r['dofs']} | {r['solver']} | {r['ksp_iterations']} | "
                     f"{r['assemble_time_s']:.2f} | {r['solve_time_s']:.2f} | "
                     f"{r['mechanics_wall_time_s']:.2f} | {r['peak_rss_MB_rank0']:.0f} |")
    return lines


def elastic_vs_transport() -> list[str]:
    records = [json.loads(f.read_text())
               for f in sorted(RESULTS.glob("mech_vs_transport_2d_study_bilayer_r1_h*.json"))]
    if not records:
        return ["(not run yet: `docker/run python3 bench/transport2d.py --mechanics`)"]
    lines = ["| h (m) | cells | transport DOFs | Newton its (linear solves) | transport set-up + "
             "solve (s) | elastic DOFs | MUMPS solve / total (s) | GAMG its | GAMG solve / "
             "total (s) | elastic / transport (GAMG total) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(records, key=lambda r: -r["size_bulk_m"]):
        mech = {m["solver"]: m for m in r["mechanics"]}
        d, i = mech["direct"], mech["iterative"]
        transport = r["setup_time_s"] + r["solve_time_s"]
        lines.append(f"| {r['size_bulk_m']:g} | {r['cells']} | {r['dofs']} | "
                     f"{r['newton_iterations']} ({r['transport_linear_solves']}) | "
                     f"{transport:.1f} | {d['dofs']} | {d['solve_time_s']:.2f} / "
                     f"{d['mechanics_wall_time_s']:.2f} | {i['ksp_iterations']} | "
                     f"{i['solve_time_s']:.2f} / {i['mechanics_wall_time_s']:.2f} | "
                     f"{100 * i['mechanics_wall_time_s'] / transport:.1f} % |")
    return lines


def poly() -> list[str]:
    data = (_load("mechanics_peaks.json") or {}).get("poly")
    if data is None:
        return ["(not run yet: `docker/run python3 bench/mechanics_peaks.py --cases poly`)"]
    lines = ["| refine_fronts | cells | max principal (MPa) | to GB / side / electrode (um) | "
             "max von Mises (MPa) | to GB / side / electrode (um) |",
             "|---:|---:|---:|---|---:|---|"]
    for r in data["rows"]:
        cols = []
        for key in ("max_principal", "max_von_mises"):
            cols.append(f"{r[key] / MPA:.2f} | {r[key + '_gb_distance_m'] / UM:.2f} / "
                        f"{r[key + '_side_distance_m'] / UM:.2f} / "
                        f"{r[key + '_electrode_distance_m'] / UM:.2f}")
        lines.append(f"| {r['refine_fronts']} | {r['cells']} | {cols[0]} | {cols[1]} |")
    nodal = data["mu_dg1_refine_fronts_0"]
    film = (_load("mechanics_peaks.json") or {}).get("uniform", {}).get("film")
    lines += ["", f"Last two rows: max principal {_change(data['rows'], 'max_principal')}, "
              f"max von Mises {_change(data['rows'], 'max_von_mises')}.",
              "", f"Given mu_Li0 interpolated in DG1 instead of W (the tutorial's former call), "
              f"refine_fronts 0: max principal {nodal['max_principal'] / MPA:.2f} MPa, max von "
              f"Mises {nodal['max_von_mises'] / MPA:.2f} MPa ({nodal['cells']} cells)."]
    if film:
        lines[-1] += (f" Film values (laterally uniform stack): max principal "
                      f"{film['max_principal'] / MPA:.2f} MPa, max von Mises "
                      f"{film['max_von_mises'] / MPA:.2f} MPa.")
    return lines


def ranks() -> list[str]:
    data = _load("mechanics_ranks.json")
    if data is None:
        return ["(not run yet: `docker/run mpirun -n 2 python3 -m mpi4py "
                "bench/mechanics_ranks.py`)"]
    one = data["one_rank_run"]
    n = data["ranks"]
    same = max(r["max_rel"] for r in data["same_ranks_restart"])
    return ["| comparison (largest relative difference of the peaks) | value | elastic cells |",
            "|---|---:|---|",
            f"| restart on the {n} writing ranks vs the run ({len(data['same_ranks_restart'])}"
            f" restarts) | {same:.1e} | {data['elastic_cells']} |",
            f"| restart on 1 rank (COMM_SELF) of the {n}-rank checkpoint vs the run | "
            f"{data['self_restart']['max_rel']:.1e} | {data['self_restart_cells']} |",
            f"| full run on 1 rank vs {n} ranks (transport meshes identical: "
            f"{'yes' if one['transport_mesh_identical'] else 'no'}; t_Li "
            f"{one['t_li_rel']:.1e} apart) | {one['max_rel']:.1e} | "
            f"{one['elastic_cells'][0]} / {one['elastic_cells'][1]} |",
            f"| (load average {data['load_average_1min']:.1f}) | | |"]


def presets() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from fem_sse.materials.strain import MECHANICAL_PRESETS

    lines = ["| preset | E (GPa) | nu | strength (MPa) | K_IC (MPa m^0.5) | flaw size a (um) | "
             "Y | source |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, m in MECHANICAL_PRESETS.items():
        lines.append(f"| `{name}` | {m.E / 1e9:.1f} | {m.nu:.2f} | {m.strength / MPA:.0f} | "
                     f"{m.toughness / MPA:.2f} | {m.flaw_size / UM:g} | "
                     f"{m.flaw_shape_factor:g} | {m.source} |")
    return lines


BLOCKS = {"peaks_uniform": lambda: peaks("uniform"),
          "peaks_sharp_straight": lambda: peaks("sharp_straight"),
          "peaks_narrow_straight": lambda: peaks("narrow_straight"),
          "peaks_sharp_curved": lambda: peaks("sharp_curved"),
          "peaks_smooth_curved": lambda: peaks("smooth_curved"),
          "peaks_eshelby": lambda: peaks("eshelby"), "peaks_study": lambda: peaks("study"),
          "peaks_study_single": lambda: peaks("study_single"),
          "peaks_study_thin": lambda: peaks("study_thin"), "smooth_level": smooth_level,
          "reference": reference, "dilute": dilute, "study1d": study1d, "study2d": study2d,
          "timing": timing, "presets": presets, "ranks": ranks,
          "poly": poly, "elastic_vs_transport": elastic_vs_transport}


def main() -> None:
    text = DOC.read_text()
    for name, build in BLOCKS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)",
                             re.S)
        if not pattern.search(text):
            print(f"docs/mechanics.md has no block {name}", file=sys.stderr)
            continue
        body = "\n".join(build())
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    DOC.write_text(text)


if __name__ == "__main__":
    main()
