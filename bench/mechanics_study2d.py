"""Design study (issue 6, item 6), 2D polycrystals: single layer vs bilayer vs thin anodic (3:1).

    docker/run python3 bench/mechanics_study2d.py [--fine 4]

Runs cases/2d/study_single.toml, study_bilayer.toml and study_thin_anodic.toml through
``fem_sse.app.run.solve_case`` (adaptive 2D transport, then the plane-strain elastic solve on the
converged mesh from the converged mu_Li0): same current (10 A/m^2), 100 um x 50 um, the same
grain size (zero-thickness GBs, Li+ conductance 1e3 S/m^2), LLZO-like elastic data everywhere
(so only mu_Li0 differs), cathode and sides on rollers, 5 MPa stack pressure on the anode.
The two-state law of the cases, and the dilute law on the same mu_Li0 field (one transport
solve per design). The elastic mesh is the converged transport mesh refined ``refine_fronts``
(6) times at the eigenstrain fronts; every design is also solved with 2 more rounds
("two_state +2", ``--extra-rounds``; 0 leaves these rows out, which take most of the ~40 min),
so the table shows how far the peaks are from mesh convergence, and once on the transport
mesh itself, fitted to the fronts but not refined ("two_state, transport mesh").

Writes bench/results/mechanics_study2d.json and docs/figures/mechanics_study2d.png (maps of
mu_Li0, von Mises and max principal stress per design) and mechanics_study2d_zoom.png (the
peak's neighbourhood).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
UM = 1e-6
DESIGNS = {"single layer": "study_single", "bilayer 1:1": "study_bilayer",
           "thin anodic 3:1": "study_thin_anodic"}


def _dilute(spec):
    """The same mechanics with the dilute law (delta0 from A, cap 0.05) in every material."""
    from fem_sse.materials.strain import DiluteLaw

    return dataclasses.replace(spec, refine_fronts=0, materials={
        name: dataclasses.replace(m, law=DiluteLaw()) for name, m in spec.materials.items()})


def _area_over_strength(result, comm) -> float:
    """Fraction of the area where max principal stress > strength (crack_risk > 1), (-)."""
    import ufl
    from dolfinx import fem
    from mpi4py import MPI

    risk = result.fields["crack_risk [-]"]
    msh = risk.function_space.mesh
    over = fem.form(ufl.conditional(ufl.gt(risk, 1.0), 1.0, 0.0) * ufl.dx(domain=msh))
    area = fem.form(fem.Constant(msh, 1.0) * ufl.dx(domain=msh))
    return (comm.allreduce(fem.assemble_scalar(over), op=MPI.SUM)
            / comm.allreduce(fem.assemble_scalar(area), op=MPI.SUM))


def _record(design: str, law: str, rounds: int, summary: dict, mech: dict, result, config,
            comm) -> dict:
    L = config.thickness  # noqa: N806
    tr = mech["tractions"]

    def where(key):
        point = mech[f"{key}_location"]
        return {f"{key}_x_um": point[0] / UM, f"{key}_y_um": point[1] / UM,
                f"{key}_distance_to_electrode_um": mech[f"{key}_distance_to_electrode"] / UM}

    return {
        "design": design, "law": law, "front_refinements": rounds, "cells": summary["cells"],
        "elastic_cells": result.smesh.mesh.topology.index_map(2).size_global,
        "transport_dofs": summary["dofs"], "elastic_dofs": mech["dofs"],
        "window_eV": [config.cell.mu_cathode, config.cell.mu_anode], "t_li": summary["t_li"],
        "jumps_x_over_L": [j["x"] / L for j in summary["jumps"]],
        "max_von_mises_MPa": mech["max_von_mises"] / 1e6, **where("max_von_mises"),
        "max_principal_MPa": mech["max_principal"] / 1e6, **where("max_principal"),
        "min_principal_MPa": mech["min_principal"] / 1e6,
        "crack_risk_index": mech["crack_risk_index"],
        "crack_risk_basis": mech["crack_risk_basis"],
        "crack_risk_index_local": mech["crack_risk_index_local"],
        "crack_risk_distance_to_electrode_um": mech["crack_risk_distance_to_electrode"] / UM,
        "crack_risk_nearest_electrode": mech["crack_risk_nearest_electrode"],
        "area_fraction_over_strength": _area_over_strength(result, comm),
        "fracture_risk_index": mech["fracture_risk_index"],
        "fitted_edges": mech.get("fitted_edges"), "cut_cells": mech.get("cut_cells"),
        "gb_normal_max_MPa": tr["gb"]["normal_max"] / 1e6 if "gb" in tr else None,
        "gb_shear_max_MPa": tr["gb"]["shear_max"] / 1e6 if "gb" in tr else None,
        "pb_normal_mean_MPa": tr["pb0"]["normal_mean"] / 1e6 if "pb0" in tr else None,
        "pb_shear_max_MPa": tr["pb0"]["shear_max"] / 1e6 if "pb0" in tr else None,
        "max_displacement_nm": mech["max_displacement"] / 1e-9,
        "transport_wall_time_s": summary["wall_time_s"],
        "mechanics_wall_time_s": mech["mechanics_wall_time_s"],
    }


def _triangles(result, names: list[str], comm):
    """Vertex coordinates (um) and DG1 values of ``names`` per owned cell, gathered on rank 0."""
    field0 = result.fields[names[0]]
    V = field0.function_space
    cells = V.mesh.topology.index_map(2).size_local
    dofs = V.dofmap.list[:cells]
    x = V.tabulate_dof_coordinates()[dofs][..., :2] / UM
    values = [result.fields[n].x.array[dofs] for n in names]
    parts = comm.gather((x, values), root=0)
    if comm.rank != 0:
        return None
    x = np.concatenate([p[0] for p in parts]).reshape(-1, 2)
    values = [np.concatenate([p[1][k] for p in parts]).ravel() for k in range(len(names))]
    return x, values


def plot(maps: dict, records: list[dict], path: Path, zoom: Path) -> None:
    """Maps per design (rows): mu_Li0 (eV), von Mises (MPa), max principal (MPa); and the
    neighbourhood (10 um) of each design's max principal peak."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = (("mu_Li0 [eV]", "RdYlBu_r", r"$\mu_{Li^0}$ (eV)", None),
               ("von_mises [Pa]", "inferno", "von Mises (MPa)", (0.0, 450.0)),
               ("max_principal [Pa]", "RdBu_r", "max principal (MPa)", (-450.0, 450.0)))
    peaks = {r["design"]: r for r in records if r["law"] == "two_state"}
    for target, window in ((path, None), (zoom, 5.0)):
        fig, axes = plt.subplots(len(maps), 3, figsize=(11.0, 2.2 * len(maps) + 0.6), dpi=90,
                                 squeeze=False)
        for row, (design, (x, values)) in enumerate(maps.items()):
            tri = np.arange(len(x)).reshape(-1, 3)
            peak = peaks[design]
            for col, ((name, cmap, label, limits), v) in enumerate(zip(columns, values,
                                                                         strict=True)):
                ax = axes[row, col]
                v = v if name.startswith("mu") else v / 1e6
                lo, hi = limits or (float(v.min()), float(v.max()))
                art = ax.tripcolor(x[:, 0], x[:, 1], tri, np.clip(v, lo, hi), cmap=cmap,
                                   vmin=lo, vmax=hi, shading="gouraud", rasterized=True)
                fig.colorbar(art, ax=ax, label=label, shrink=0.85)
                ax.plot(peak["max_principal_x_um"], peak["max_principal_y_um"], "k+", ms=9)
                ax.set_aspect("equal")
                if window:
                    cx, cy = peak["max_principal_x_um"], peak["max_principal_y_um"]
                    ax.set_xlim(cx - window, cx + window)
                    ax.set_ylim(cy - window, cy + window)
                if col == 0:
                    ax.set_ylabel(f"{design}\ny (um)")
                if row == len(maps) - 1:
                    ax.set_xlabel("x (um), cathode at 0")
        fig.suptitle("2D polycrystals, 10 A/m^2, two-state law, LLZO-like elastic data; "
                     "+ = max principal stress" + (" (10 um window)" if window else ""),
                     fontsize=9)
        fig.tight_layout()
        fig.savefig(target)
        plt.close(fig)


def main() -> None:
    from mpi4py import MPI

    from fem_sse.spec.config import load_config
    from fem_sse.mechanics import solve_mechanics
    from fem_sse.app.run import solve_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    parser.add_argument("--extra-rounds", type=int, default=2,
                        help="front rounds beyond the case's for the mesh-check rows "
                        "(0: no such rows; they take most of the ~40 min)")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    out = ROOT / "bench" / "results" / "mechanics_study2d.json"
    records, maps = [], {}
    for design in args.designs:
        config = load_config(ROOT / "cases" / "2d" / f"{DESIGNS[design]}.toml")
        start = time.perf_counter()
        summary, extras = solve_case(config, comm)
        result, problem = extras.elastic, extras.problem
        rounds = summary["mechanics"]["front_refinements"]
        records.append(_record(design, "two_state", rounds, summary, summary["mechanics"],
                               result, config, comm))
        maps[design] = _triangles(result, ["mu_Li0 [eV]", "von_mises [Pa]",
                                           "max_principal [Pa]"], comm)
        dilute = solve_mechanics(result.smesh, result.fields["mu_Li0 [eV]"], config, comm,
                                 spec=_dilute(config.mechanics))
        records.append(_record(design, "dilute", rounds, summary, dilute.summary, dilute,
                               config, comm))
        checks = [(f"two_state +{args.extra_rounds}", rounds + args.extra_rounds)
                  ] if args.extra_rounds else []
        for label, levels in (*checks, ("two_state, transport mesh", 0)):
            spec = dataclasses.replace(config.mechanics, refine_fronts=levels)
            other = solve_mechanics(problem.smesh, None, config, comm, spec=spec,
                                    kirchhoff=problem.kirchhoff_function())
            records.append(_record(design, label, other.summary["front_refinements"], summary,
                                   other.summary, other, config, comm))
        if comm.rank == 0:
            for rec in records[-3 - bool(checks):]:
                print(json.dumps(rec), flush=True)
            print(f"{design}: {time.perf_counter() - start:.1f} s", flush=True)
    if comm.rank == 0:
        for rec in records:
            rec["load_average_1min"] = os.getloadavg()[0]
        out.write_text(json.dumps(records, indent=1) + "\n")
        figures = ROOT / "docs" / "figures"
        figures.mkdir(exist_ok=True)
        plot(maps, records, figures / "mechanics_study2d.png",
             figures / "mechanics_study2d_zoom.png")


if __name__ == "__main__":
    main()
