"""Issue 9, point 4: the optimised design on a 2D polycrystal, side by side with the baselines.

    docker/run python3 bench/design_2d.py [BEST.toml]

BEST.toml is the ``best.toml`` of ``fem-sse design`` (docs/design.md; default
cases/design/best_1d.toml). Three 2D polycrystals (50 um wide, Voronoi grains, zero-thickness
GB interfaces of Li+ conductance 1e3 S/m^2, the two-state strain law everywhere):

* ``single``: the single-layer baseline cases/2d/poly_single.toml (Fig. 2 window: a single SE
  cannot hold the [-3, 0.15] eV window at 10 A/m^2, the exact solver finds no steady state);
* ``paper``: the paper's Fig. 5c bilayer (B = -2.3 / -0.7 eV, 1:1, anode at 0.15 eV);
* ``best``: the optimised stack at the same window.

The 1D bottleneck strips are dropped in 2D (the grain boundaries take their place). Each run:
adaptive 2D transport (fem_sse.app.run.solve_case), then plane-strain elasticity from its mu_Li0
field, called directly (``fem_sse.mechanics.solve_mechanics``: ``fem-sse run`` does not run 2D
mechanics on main yet). Writes the 2D cases to cases/design/poly_*.toml,
bench/results/design_2d.json and docs/figures/design_2d_{mu,stress}.png.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import tomllib
from mpi4py import MPI

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
GRAINS_PER_100_UM = 40
MESH = {"size_bulk": 5e-6, "size_gb": 2.5e-6, "grading": 1.0}
SOLVER = {"max_cells": 40000, "max_refinements": 6, "tolerance": 1e-4}


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
    from fem_sse.spec.config import parse_config
    from fem_sse.app.design.metrics import design_metrics
    from fem_sse.transport.exact1d import solve_exact
    from fem_sse.mechanics import solve_mechanics
    from fem_sse.transport.metrics2d import cell_data
    from fem_sse.app.run import solve_case

    config = parse_config(data, name=data["name"])
    start = time.perf_counter()
    summary, extras = solve_case(config, comm)
    t_transport = time.perf_counter() - start
    problem = extras["problem"]
    mech = solve_mechanics(problem.smesh, problem.mu_function(), config, comm)
    exact = design_metrics(solve_exact(config.stack_1d()))
    cells = cell_data(problem)
    stress = mech.fields["max_principal [Pa]"]
    n = problem.mesh.topology.index_map(2).size_local
    L = config.thickness  # noqa: N806
    record = {
        "case": data["name"], "cells": summary["cells"], "dofs": summary["dofs"],
        "t_li_2d": summary["t_li"], "t_li_exact_1d_stack": exact["t_li"],
        "fronts_mean_x_over_L": sorted(j["x"] / L for j in summary["jumps"]),
        "exact_1d_jumps_x_over_L": exact["jump_x_over_L"],
        "overshoot_fraction_2d": summary["overshoot_fraction"],
        "max_von_mises_Pa": mech.summary["max_von_mises"],
        "max_principal_Pa": mech.summary["max_principal"],
        "crack_risk_index": mech.summary["crack_risk_index"],
        "crack_risk_distance_to_electrode_m": mech.summary["crack_risk_distance_to_electrode"],
        "tensile_over_strength_area_fraction": tensile_area_fraction(mech),
        "exact_1d_tensile_over_strength_fraction": exact["tensile_over_strength_fraction"],
        "transport_wall_time_s": t_transport,
        "mechanics_wall_time_s": mech.summary["mechanics_wall_time_s"],
        "window_eV": [config.cell.mu_cathode, config.cell.mu_anode],
    }
    plot = {"x": cells["x"] * 1e6, "mu": cells["mu"], "fronts": extras["fronts"],
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
