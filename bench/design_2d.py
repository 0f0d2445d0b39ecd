"""Issue 9, point 4: the optimised design on a 2D polycrystal, side by side with the baselines.

    docker/run python3 bench/design_2d.py [BEST.toml]

BEST.toml is the ``best.toml`` of ``fem-sse design`` (docs/design.md; default
cases/design/best_1d.toml). Three 2D polycrystals (50 um wide, Voronoi grains, zero-thickness
GB interfaces of Li+ conductance 1e3 S/m^2, the two-state strain law everywhere):

* ``single``: the single-layer baseline cases/2d/poly_single.toml (Fig. 2 window: a single SE
  cannot hold the [-3, 0.15] eV window at 10 A/m^2, the exact solver finds no steady state);
* ``paper``: the paper's Fig. 5c bilayer (B = -2.3 / -0.7 eV, 1:1, anode at 0.15 eV);
* ``best``: the optimised stack at the same window.

The 1D bottleneck strips are dropped in 2D (the grain boundaries take their place). Each run
goes the way of ``fem-sse run`` (fem_sse.app.run.solve_case: adaptive 2D transport, then the
[mechanics] step, plane strain, on the front-refined transport mesh). The crack risk is that of
``fem-sse run``: from the flaw-size averaged max principal stress (``crack_risk_basis``); the
cell peaks are kept beside it (max_principal_Pa, crack_risk_index_local). Writes the 2D cases to
cases/design/poly_*.toml, bench/results/design_2d.json (with the 1-minute load average before
and after each run, the wall times depend on it) and docs/figures/design_2d_{mu,stress}.png.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import numpy as np
import tomllib
from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
GRAINS_PER_100_UM = 40
MESH = {"size_bulk": 5e-6, "size_gb": 2.5e-6, "grading": 1.0}
SOLVER = {"max_cells": 80000, "max_refinements": 6, "tolerance": 1e-4}


def polycrystal(data: dict, name: str) -> dict:
    """The 2D polycrystalline version of a 1D case dict (same layers, materials and window)."""
    d = copy.deepcopy(data)
    d["name"] = name
    total = sum(layer["thickness"] for layer in d["geometry"]["layers"])
    layers = [{**layer, "grains": {"count": max(4, round(GRAINS_PER_100_UM * layer["thickness"]
                                                         / total)), "seed": 5 + i}}
              for i, layer in enumerate(d["geometry"]["layers"])]
    d["geometry"] = {"dim": 2, "width": 50e-6, "layers": layers,
                     "grain_boundaries": {"model": "interface", "conductance": 1e3}}
    d["mesh"], d["solver"] = dict(MESH), dict(SOLVER)
    d["mechanics"] = {}  # plane strain, cathode on rollers, anode face free, sides on rollers
    for material in d["materials"].values():
        material["strain_law"] = "two_state"
    return d


def cases(best_path: Path) -> dict[str, dict]:
    from fem_sse.spec.tomlwrite import dumps

    best = tomllib.loads(best_path.read_text())
    paper = tomllib.loads((ROOT / "cases" / "design" / "bilayer_fig5.toml").read_text())
    single = tomllib.loads((ROOT / "cases" / "2d" / "poly_single.toml").read_text())
    single.update(name="poly_single_baseline", mechanics={})
    for material in single["materials"].values():
        material["strain_law"] = "two_state"
    out = {"single": single, "paper": polycrystal(paper, "poly_paper_fig5c"),
           "best": polycrystal(best, "poly_best")}
    for data in out.values():
        (ROOT / "cases" / "design" / f"{data['name']}.toml").write_text(dumps(
            data, header="Written by bench/design_2d.py (issue 9, docs/design.md)"))
    return out


def tensile_area_fraction(result) -> float:
    """Area fraction where the cell mean of max principal stress / strength exceeds 1 (-)."""
    risk = result.fields["crack_risk [-]"]
    msh = risk.function_space.mesh
    n = msh.topology.index_map(2).size_local
    mean = risk.x.array[risk.function_space.dofmap.list[:n]].mean(axis=1)
    from fem_sse import compat

    x = msh.geometry.x[compat.geometry_dofmap(msh)[:n, :3], :2]
    area = 0.5 * np.abs((x[:, 1, 0] - x[:, 0, 0]) * (x[:, 2, 1] - x[:, 0, 1])
                        - (x[:, 1, 1] - x[:, 0, 1]) * (x[:, 2, 0] - x[:, 0, 0]))
    return float(area[mean > 1.0].sum() / area.sum())


def run(data: dict, comm) -> dict:
    """One polycrystal through the path of ``fem-sse run`` (transport, then the [mechanics]
    step on the front-refined transport mesh), with the exact 1D solution of its stack."""
    from fem_sse.spec.config import parse_config
    from fem_sse.app.design.metrics import design_metrics
    from fem_sse.transport.exact1d import solve_exact
    from fem_sse.transport.metrics2d import cell_data
    from fem_sse.app.run import solve_case

    config = parse_config(data, name=data["name"])
    load = os.getloadavg()[0]
    summary, extras = solve_case(config, comm)
    mech, m = extras.elastic, summary["mechanics"]
    exact = design_metrics(solve_exact(config.stack_1d()))
    cells = cell_data(extras.problem)
    stress = mech.fields["max_principal [Pa]"]
    n = stress.function_space.mesh.topology.index_map(2).size_local
    L = config.thickness  # noqa: N806
    record = {
        "case": data["name"], "solver": summary["solver"],
        "converged": summary.get("converged", True), "stop_reason": summary.get("stop_reason"),
        "fallback": summary.get("fallback") or summary.get("fallback_failed"),
        "cells": summary["cells"],
        "dofs": summary["dofs"], "mechanics_cells": m["cells"], "mechanics_dofs": m["dofs"],
        "t_li_2d": summary["t_li"], "t_li_exact_1d_stack": exact["t_li"],
        "fronts_mean_x_over_L": sorted(j["x"] / L for j in summary["jumps"]),
        "exact_1d_jumps_x_over_L": exact["jump_x_over_L"],
        "overshoot_fraction_2d": summary["overshoot_fraction"],
        # cell peaks (stress concentrations, not mesh-converged at the corners of a front)
        "max_von_mises_Pa": m["max_von_mises"], "max_principal_Pa": m["max_principal"],
        "max_principal_distance_to_electrode_m": m["max_principal_distance_to_electrode"],
        "crack_risk_index_local": m["crack_risk_index_local"],
        # the crack risk of fem-sse run: from the flaw-size averaged max principal stress
        "crack_risk_basis": m["crack_risk_basis"],
        "flaw_average_length_m": m["flaw_average_length"],
        "max_principal_flaw_average_Pa": m["max_principal_flaw_average"],
        "crack_risk_index": m["crack_risk_index"],
        "crack_risk_location_m": m["crack_risk_location"],
        "crack_risk_distance_to_electrode_m": m["crack_risk_distance_to_electrode"],
        "crack_risk_nearest_electrode": m["crack_risk_nearest_electrode"],
        "tensile_over_strength_area_fraction": tensile_area_fraction(mech),
        "exact_1d_tensile_over_strength_fraction": exact["tensile_over_strength_fraction"],
        # the laterally constrained film on the exact 1D profile (flaw-size averaged risk)
        "exact_1d_film_max_principal_Pa": exact["max_principal_Pa"],
        "exact_1d_film_crack_risk_index": exact["crack_risk_index"],
        "transport_wall_time_s": summary["wall_time_s"],
        "mechanics_wall_time_s": m["mechanics_wall_time_s"],
        "load_average_1min_before": load, "load_average_1min_after": os.getloadavg()[0],
        "window_eV": [config.cell.mu_cathode, config.cell.mu_anode],
    }
    plot = {"x": cells["x"] * 1e6, "mu": cells["mu"], "fronts": extras.front_lines,
            "stress_x": stress.function_space.tabulate_dof_coordinates()[
                stress.function_space.dofmap.list[:n]][..., :2] * 1e6,
            "stress": stress.x.array[stress.function_space.dofmap.list[:n]] / 1e6,
            "window": record["window_eV"], "title": data["name"]}
    return record, plot


def figure(path: Path, plots: list[dict], field: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(plots), figsize=(4.0 * len(plots), 2.9), dpi=100)
    for ax, p in zip(axes, plots, strict=True):
        if field == "mu":
            x, v = p["x"], p["mu"]
            lo, hi = p["window"][0] - 0.1, p["window"][1] + 0.1
            cmap, label = "RdYlBu_r", r"$\mu_{Li^0}$ (eV)"
        else:
            x, v = p["stress_x"], p["stress"]
            lo, hi, cmap, label = -350.0, 350.0, "PuOr_r", "max principal stress (MPa)"
        tri = np.arange(x.shape[0] * 3).reshape(-1, 3)
        art = ax.tripcolor(x[..., 0].ravel(), x[..., 1].ravel(), tri, np.clip(v.ravel(), lo, hi),
                           shading="gouraud", cmap=cmap, vmin=lo, vmax=hi, rasterized=True)
        if field == "mu":
            for front in p["fronts"] or []:
                pts = np.array(front["points_m"]) * 1e6
                ax.plot(pts[:, 0], pts[:, 1], color="k", lw=0.7)
        fig.colorbar(art, ax=ax, label=label, shrink=0.8)
        ax.set_aspect("equal")
        ax.set_title(p["title"], fontsize=8)
        ax.set_xlabel("x (um), cathode at 0", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].set_ylabel("y (um)", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _pair(values: list, fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


#: docs/design.md's rows: label -> the cell of one run (r) as text
ROWS = {
    "window mu_cathode / mu_anode (eV)": lambda r: "{:g} / {:g}".format(*r["window_eV"]),
    "transport cells / DOFs (mechanics DOFs)":
        lambda r: f"{r['cells']:,} / {r['dofs']:,} ({r['mechanics_dofs']:,})".replace(",", " "),
    "transport converged (stop reason)":
        lambda r: f"{'yes' if r['converged'] else 'NO'} ({r['stop_reason']})",
    "t_Li 2D (exact 1D of the stack)": lambda r: (
        f"1 - {1 - r['t_li_2d']:.1e} (1 - {1 - r['t_li_exact_1d_stack']:.1e})"
        if r["t_li_2d"] > 0.9999995 else
        f"{r['t_li_2d']:.4f} ({r['t_li_exact_1d_stack']:.4f})"),
    "fronts, mean x/L (exact 1D)": lambda r: (f"{_pair(r['fronts_mean_x_over_L'], '.3g')} "
                                             f"({_pair(r['exact_1d_jumps_x_over_L'], '.3g')})"),
    "max principal stress, cell peak (MPa; 1D film)": lambda r: (
        f"{r['max_principal_Pa'] / 1e6:.0f} ({r['exact_1d_film_max_principal_Pa'] / 1e6:.0f})"),
    "its distance to the nearest electrode (um)":
        lambda r: f"{r['max_principal_distance_to_electrode_m'] * 1e6:.3g}",
    "crack risk, cell peak (crack_risk_index_local)":
        lambda r: f"{r['crack_risk_index_local']:.3g}",
    "flaw-size averaged max principal stress, peak (MPa)":
        lambda r: f"{r['max_principal_flaw_average_Pa'] / 1e6:.3g}",
    "**crack risk, flaw-size averaged** (crack_risk_index; 1D film)": lambda r: (
        f"**{r['crack_risk_index']:.3g}** ({r['exact_1d_film_crack_risk_index']:.3g})"),
    "flaw-size averaged crack-risk peak: distance to nearest electrode (um)": lambda r: (
        f"{r['crack_risk_distance_to_electrode_m'] * 1e6:.3g} "
        f"({r['crack_risk_nearest_electrode']})"),
    "area fraction above the strength (2D; 1D film)": lambda r: (
        f"{r['tensile_over_strength_area_fraction']:.2g} "
        f"({r['exact_1d_tensile_over_strength_fraction']:.2g})"),
    "transport + mechanics wall time (s)": lambda r: (
        f"{r['transport_wall_time_s']:.1f} + {r['mechanics_wall_time_s']:.1f}"),
    "1-minute load average before / after": lambda r: (
        f"{r['load_average_1min_before']:.1f} / {r['load_average_1min_after']:.1f}"),
}
COLUMNS = {"single": "single layer (baseline)", "paper": "paper Fig. 5c bilayer",
           "best": "optimum"}


def table(doc: dict) -> str:
    """docs/design.md's table of the three polycrystals, from design_2d.json (``doc``)."""
    runs = [next(r for r in doc["runs"] if r["role"] == role) for role in COLUMNS]
    flaw = sorted({r["flaw_average_length_m"] * 1e6 for r in runs})
    lines = ["| | " + " | ".join(COLUMNS.values()) + " |", "|---|" + "---:|" * len(runs)]
    lines += [f"| {label} | " + " | ".join(cell(r) for r in runs) + " |"
              for label, cell in ROWS.items()]
    ranks = f"{doc['ranks']} rank" + ("s" if doc["ranks"] > 1 else "")
    return "\n".join(lines) + (f"\n\n{ranks}; the averaging length of the flaw-size average "
                               f"(flaw_average_length, fem_sse.mechanics.average): "
                               f"{_pair(flaw, '.3g')} um.\n")


def main() -> None:
    comm = MPI.COMM_WORLD
    best = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "cases" / "design" / "best_1d.toml"
    records, plots = [], []
    for key, data in cases(best).items():
        record, plot = run(data, comm)
        record["role"] = key
        records.append(record)
        plots.append(plot)
        print(json.dumps(record), flush=True)
    FIGURES.mkdir(parents=True, exist_ok=True)
    figure(FIGURES / "design_2d_mu.png", plots, "mu")
    figure(FIGURES / "design_2d_stress.png", plots, "stress")
    out = ROOT / "bench" / "results" / "design_2d.json"
    out.write_text(json.dumps({"runs": records, "ranks": comm.size}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
