"""Peak stresses vs mesh size (issue 17): do the reported peaks converge to the physical value?

    docker/run python3 bench/mechanics_peaks.py [--cases uniform ... study poly]

Cases (all plane strain, two-state law unless said; bench/results/mechanics_peaks.json):

Every row has the cell peaks (max principal, max von Mises, crack_risk_index_local) and the
crack risk proper, from the stress averaged over the flaw size (crack_risk_index,
fracture_risk_index, max_principal_flaw_average: fem_sse/mechanics/average.py).

* ``uniform``: the paper's Fig. 3 bilayer as a laterally uniform 2D stack (100 um x 20 um,
  adaptive transport, 5 MPa stack pressure): the exact peaks are those of the 1D film (the
  exact 1D solver's summary, its crack risk from the same filter along x), for
  refine_fronts = 0 ... 6.
* ``sharp_straight``: a step of mu_Li0 (a linear ramp of 1e4 eV/um through B, so e* steps over
  3 pm, as sharp as the transport's fronts) across a straight front x = 4.33 um (between mesh
  lines) in a 10 um x 4 um strip, on isotropic meshes of 1 ... 0.0625 um (:func:`_isotropic_mesh`):
  the exact peaks are the film values, the exact crack risk the closed-form flaw-size average
  of the step (average.step_average) over the strength.
  ``narrow_straight``: the same with a ramp of 10 eV/um (a law width kT is 2.6 nm, the
  step ~10 nm wide): sharp on the meshes down to 62.5 nm (mu_Li0 changes by more than
  eigenstrain.SHARP widths over a cell), where it is taken as a step at the fitted front;
  the 31 nm cells are in between (neither sharp nor resolving it), down to 0.03125 um.
* ``sharp_curved`` / ``smooth_curved``: the same with a curved front x = 4.33 um + 0.6 um
  cos(2 pi y / 4 um) (meeting the roller sides at right angles: a front that meets a
  symmetry side at an angle has a corner in its mirror image, where the stress is singular);
  sharp (the default law width kT) and smooth (law width 0.1 eV on a 0.5 eV/um ramp: e*
  changes over ~1 um). No closed form: the peaks must settle. Down to 0.015625 um (sharp)
  and 0.03125 um (smooth).
* ``eshelby``: a circular inclusion (radius 2 um, e* = -1.5e-3) in a clamped disk (radius
  10 um), equal moduli: the interior stress is uniform and known in closed form (below).
* ``study``: cases/2d/study_bilayer.toml (polycrystal, 40 grains, zero-thickness GBs): one
  transport solve, then refine_fronts = 0, 2, 4, 6. ``study_single`` / ``study_thin``: the
  same for the other two designs of the 2D design study (study_single.toml,
  study_thin_anodic.toml).
  Each study record has ``linear_level_rows``: refine_fronts 0 and 6 with the front fitted to
  the level linear in each transport cell (before fem_sse/mechanics/smooth.py), and so has
  ``uniform``. ``study_single_fine``: study_single on a transport mesh with every size
  halved (cell cap x4): the change of the peaks with the transport discretisation, to
  compare with the change the smooth level makes.
* ``poly``: the tutorial's polycrystal (cases/2d/poly_bilayer.toml, docs/tutorial.md step 5):
  the same, with each peak's distance to the nearest GB facet, the lateral sides and the
  electrodes. With the bench's two-state law and 5 MPa it is the same problem as ``study``
  (poly_bilayer.toml and study_bilayer.toml differ in the strain law and the [mechanics]
  table only, and the bench's defaults are the study's), so its transport and peaks equal
  the study's.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import os
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "mechanics_peaks.json"
KEYS = ("max_principal", "max_von_mises", "crack_risk_index", "crack_risk_index_local",
        "fracture_risk_index", "max_principal_flaw_average", "max_von_mises_flaw_average",
        "flaw_average_length", "crack_risk_basis")


def _peaks(summary: dict) -> dict:
    out = {k: summary[k] for k in KEYS if k in summary}
    out.update(crack_risk_location=summary["crack_risk_location"],
               crack_risk_nearest_electrode=summary.get("crack_risk_nearest_electrode"),
               crack_risk_distance_to_electrode=summary["crack_risk_distance_to_electrode"],
               cells=summary.get("cells"), fitted_edges=summary.get("fitted_edges"),
               front_refinements=summary.get("front_refinements"))
    return out


def _fig3_data(dim: int) -> dict:
    data = tomllib.loads((ROOT / "cases" / "fig3_bilayer.toml").read_text())
    for m in data["materials"].values():
        m["strain_law"] = "two_state"
    data["mechanics"] = {"stack_pressure": 5e6}
    if dim == 2:
        data["geometry"]["dim"] = 2
        data["geometry"]["width"] = 20e-6
        data.pop("mesh", None)
    return data


def uniform(comm) -> dict:
    """Laterally uniform Fig. 3 stack: 2D peaks vs refine_fronts against the 1D film."""
    from fem_sse.spec.config import parse_config
    from fem_sse.mechanics import solve_mechanics
    from fem_sse.app.run import solve_case

    film, _ = solve_case(parse_config(_fig3_data(1)), comm, "exact")
    config = parse_config(_fig3_data(2))
    bare = dataclasses.replace(config, mechanics=None)
    summary, extras = solve_case(bare, comm)
    problem = extras.problem
    rows = []
    for rounds in range(7):
        spec = dataclasses.replace(config.mechanics, refine_fronts=rounds)
        result = solve_mechanics(problem.smesh, None, config, comm, spec=spec,
                                 kirchhoff=problem.kirchhoff_function())
        rows.append({"refine_fronts": rounds, **_peaks(result.summary)})
    return {"transport_cells": summary["cells"], "film": _peaks(film["mechanics"]),
            "jumps_x_m": [j["x"] for j in summary["jumps"]], "rows": rows,
            "linear_level_rows": _linear_rows(config, problem, comm)}


def _strip_config(width_eV: float | None, h: float):
    from fem_sse.spec.config import parse_config

    law = {"kind": "two_state"} | ({"width": width_eV} if width_eV else {})
    data = {"cell": {"current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
            "materials": {"a": {"sigma_li": 0.1, "A": 1e-17, "B": -1.5, "strain_law": law}},
            "geometry": {"dim": 2, "width": 4e-6,
                         "layers": [{"material": "a", "thickness": 10e-6}]},
            "mesh": {"size_bulk": h}, "mechanics": {"stack_pressure": 5e6},
            # no transport runs here: a cap would coarsen the first mesh (geometry/sizing.py)
            "solver": {"max_cells": 10**8}}
    return parse_config(data)


#: Mesh sizes (m) of the front cases; the curved and narrow fronts go one or two halvings
#: further (100 000 and 400 000 cells), to show where their peaks settle.
SIZES = (1e-6, 0.5e-6, 0.25e-6, 0.125e-6, 0.0625e-6)


def _front_case(comm, slope: float, amplitude: float, width_eV: float | None,
                sizes=SIZES) -> dict:
    """mu = B + slope (x - x_f(y)) (eV), x_f = 4.33 um + amplitude cos(2 pi y / 4 um)."""
    from dolfinx import fem

    from fem_sse.mechanics import solve_mechanics

    rows = []
    for h in sizes:
        start = time.perf_counter()
        config = _strip_config(width_eV, h)
        smesh = _isotropic_mesh(config, comm)
        mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))
        mu.interpolate(lambda x: -1.5 + slope * (x[0] - 4.33e-6 - amplitude * np.cos(
            2.0 * np.pi * x[1] / 4e-6)))
        result = solve_mechanics(smesh, mu, config, comm)
        rows.append({"h_m": h, **_peaks(result.summary), "cut_cells": result.summary[
            "cut_cells"], "wall_time_s": time.perf_counter() - start})
        if comm.rank == 0:
            print(json.dumps(rows[-1]), flush=True)
    return {"rows": rows}


def _isotropic_mesh(config, comm):
    """The strip meshed with isotropic triangles of size ``size_bulk`` (the plane builder).
    build_mesh extrudes a laterally uniform stack instead (two lateral cell layers, sizes from
    the 1D grading), whose cells do not follow ``size_bulk``: a front-vs-h study needs this."""
    from fem_sse.geometry import build_mesh, stacked

    saved = stacked.is_laterally_uniform
    stacked.is_laterally_uniform = lambda config: False
    try:
        return build_mesh(config, comm)
    finally:
        stacked.is_laterally_uniform = saved


def sharp_straight(comm, slope: float = 1e4 / 1e-6, sizes=SIZES) -> dict:
    from fem_sse.mechanics.average import filter_length, step_average

    out = _front_case(comm, slope, 0.0, None, sizes)
    E, nu, p, estar = 149.8e9, 0.26, 5e6, 0.03 * 0.05  # noqa: N806
    s1 = (-nu * p + E * estar) / (1.0 - nu)  # the oxidized (tensile) side
    s2 = (-nu * p - E * estar) / (1.0 - nu)  # the reduced (compressive) side
    # the crack risk: the flaw-size average of the step (4.33 um of tension) at x = 0
    averaged = float(step_average(0.0, 4.33e-6, 10e-6, filter_length(5e-6), s1, s2))
    out["film"] = {"max_principal": s1, "max_von_mises": s1 + p,
                   "crack_risk_index_local": s1 / 150e6, "crack_risk_index": averaged / 150e6,
                   "max_principal_flaw_average": averaged}
    return out


def narrow_straight(comm) -> dict:
    return sharp_straight(comm, 10.0 / 1e-6, (*SIZES, SIZES[-1] / 2))


def sharp_curved(comm) -> dict:
    return _front_case(comm, 1e4 / 1e-6, 0.6e-6, None, (*SIZES, SIZES[-1] / 2, SIZES[-1] / 4))


def smooth_curved(comm) -> dict:
    return _front_case(comm, 0.5 / 1e-6, 0.6e-6, 0.1, (*SIZES, SIZES[-1] / 2))


def eshelby(comm) -> dict:
    from dolfinx import fem

    from fem_sse.spec.config import parse_config
    from fem_sse.mechanics import solve_mechanics
    from fem_sse.mechanics.eshelby import disk_mesh, exact_peaks

    a, R, estar = 2e-6, 10e-6, -1.5e-3  # noqa: N806
    const = {"kind": "table", "mu": [-10.0, 10.0]}
    data = {"cell": {"current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
            "materials": {
                "inc": {"sigma_li": 0.1, "A": 1e-17, "B": -1.5, "expansion": 1.0,
                              "strain_law": const | {"delta": [estar, estar]}},
                "mat": {"sigma_li": 0.1, "A": 1e-17, "B": -1.5, "expansion": 1.0,
                           "strain_law": const | {"delta": [0.0, 0.0]}}},
            "geometry": {"dim": 2, "width": 1e-5, "layers": [
                {"material": "mat", "thickness": 1e-5}]},
            "mechanics": {}}
    config = parse_config(data)
    spec = dataclasses.replace(config.mechanics, bc={"cathode": "clamped"})
    rows = []
    for h in (1e-6, 0.5e-6, 0.25e-6, 0.125e-6):
        smesh = disk_mesh(comm, h, a, R)
        mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))
        result = solve_mechanics(smesh, mu, config, comm, spec=spec)
        rows.append({"h_m": h, **_peaks(result.summary)})
    exact = dict(exact_peaks(149.8e9, 0.26, estar, a, R))
    # the largest principal stress is the uniform interior one: its flaw-size average too
    exact["crack_risk_index"] = exact["crack_risk_index_local"] = exact["max_principal"] / 150e6
    return {"exact": exact, "rows": rows}


def _front_rounds(config, problem, comm, where, rounds=(0, 2, 4, 6)) -> list[dict]:
    """Mechanics of a solved transport ``problem`` (from its W) at each number of front
    refinement rounds: the peaks, ``where(result)``'s keys and the wall time (s) per row."""
    from fem_sse.mechanics import solve_mechanics

    rows = []
    for count in rounds:
        spec = dataclasses.replace(config.mechanics, refine_fronts=count)
        start = time.perf_counter()
        result = solve_mechanics(problem.smesh, None, config, comm, spec=spec,
                                 kirchhoff=problem.kirchhoff_function())
        rows.append({"refine_fronts": count, **_peaks(result.summary), **where(result),
                     "wall_time_s": time.perf_counter() - start})
        if comm.rank == 0:
            print(json.dumps(rows[-1]), flush=True)
    return rows


@contextlib.contextmanager
def _linear_level():
    """The front fitted to the level linear in every transport cell, as before
    fem_sse/mechanics/smooth.py (for the comparison rows ``linear_level_rows``)."""
    from fem_sse.mechanics import smooth

    saved = smooth.level_recovery
    smooth.level_recovery = lambda *args, **kwargs: None
    try:
        yield
    finally:
        smooth.level_recovery = saved


def _linear_rows(config, problem, comm, rounds=(0, 6)) -> list[dict]:
    with _linear_level():
        return _front_rounds(config, problem, comm, lambda result: {}, rounds)


def study(comm, name: str = "study_bilayer", scale: float = 1.0) -> dict:
    """``name`` (cases/2d) with its mesh sizes times ``scale`` and its cell cap over
    ``scale``^2 (a finer transport solution for scale < 1)."""
    from fem_sse.spec.config import parse_config, read_toml
    from fem_sse.app.run import solve_case

    data = read_toml(ROOT / "cases" / "2d" / f"{name}.toml")
    if scale != 1.0:
        data["mesh"] = {k: v * scale if k.startswith("size") else v
                        for k, v in data["mesh"].items()}
        data["solver"]["max_cells"] = int(data["solver"]["max_cells"] / scale**2)
    config = parse_config(data, name=name)
    summary, extras = solve_case(dataclasses.replace(config, mechanics=None), comm)
    problem = extras.problem

    def where(result) -> dict:
        at = result.summary["max_principal_location"]
        risk_at = result.summary["crack_risk_location"]
        return {"max_principal_location": at,
                "max_principal_gb_distance_m": _gb_distance(result.smesh, at, comm),
                "crack_risk_gb_distance_m": _gb_distance(result.smesh, risk_at, comm)}

    rows = _front_rounds(config, problem, comm, where)
    return {"case": f"cases/2d/{name}.toml", "mesh_scale": scale,
            "transport_cells": summary["cells"], "t_li": summary.get("t_li"), "rows": rows,
            "linear_level_rows": _linear_rows(config, problem, comm)}


def _gb_distance(smesh, point, comm) -> float:
    """Distance (m) from ``point`` to the nearest grain-boundary facet (any rank)."""
    from mpi4py import MPI

    from fem_sse import compat

    msh = smesh.mesh
    tag = smesh.facet_groups.get("gb")
    best = np.inf
    if tag is not None:
        msh.topology.create_connectivity(1, 0)
        msh.topology.create_connectivity(2, 0)
        facets = smesh.facet_tags.find(tag)
        f2v = msh.topology.connectivity(1, 0).array.reshape(-1, 2)[facets]
        c2v = msh.topology.connectivity(2, 0).array.reshape(-1, 3)
        node_of = np.zeros(msh.topology.index_map(0).size_local
                           + msh.topology.index_map(0).num_ghosts, dtype=np.int64)
        node_of[c2v.ravel()] = compat.geometry_dofmap(msh)[:, :3].ravel()
        a, b = (msh.geometry.x[node_of[f2v[:, k]], :2] for k in (0, 1))
        p = np.asarray(point[:2])
        t = np.clip(np.einsum("ij,ij->i", p - a, b - a) / np.einsum("ij,ij->i", b - a, b - a),
                    0.0, 1.0)
        best = float(np.min(np.linalg.norm(a + t[:, None] * (b - a) - p, axis=1), initial=np.inf))
    return comm.allreduce(best, op=MPI.MIN)


def poly(comm) -> dict:
    """The tutorial's polycrystal (cases/2d/poly_bilayer.toml, two-state law, 5 MPa, rollers
    on the sides): one transport solve, then the peaks vs refine_fronts, and where each peak
    sits (distance to the nearest GB facet, to the lateral sides and to the electrodes)."""
    from fem_sse.spec.config import parse_config, read_toml
    from fem_sse.mechanics import solve_mechanics
    from fem_sse.app.run import solve_case

    data = read_toml(ROOT / "cases" / "2d" / "poly_bilayer.toml")
    for material in data["materials"].values():
        material["strain_law"] = "two_state"
    data.setdefault("mechanics", {"stack_pressure": 5e6})
    config = parse_config(data, name="poly_bilayer")
    summary, extras = solve_case(dataclasses.replace(config, mechanics=None), comm)
    problem = extras.problem
    width = config.geometry2d.width
    def where(result) -> dict:
        row = {}
        for key in ("max_von_mises", "max_principal"):
            at = result.summary[f"{key}_location"]
            row[f"{key}_location"] = at
            row[f"{key}_gb_distance_m"] = _gb_distance(result.smesh, at, comm)
            row[f"{key}_side_distance_m"] = min(at[1], width - at[1])
            row[f"{key}_electrode_distance_m"] = result.summary[
                f"{key}_distance_to_electrode"]
        return row

    rows = _front_rounds(config, problem, comm, where)
    # the tutorial's former call: mu_Li0 interpolated in DG1 (problem.mu_function()) instead of
    # W; a jump of eV inside a cell then becomes a linear ramp that misplaces the front
    nodal = solve_mechanics(problem.smesh, problem.mu_function(), config, comm).summary
    return {"case": "cases/2d/poly_bilayer.toml (two_state, 5 MPa)",
            "transport_cells": summary["cells"], "rows": rows,
            "mu_dg1_refine_fronts_0": _peaks(nodal)}


def study_single(comm) -> dict:
    return study(comm, "study_single")


def study_thin(comm) -> dict:
    return study(comm, "study_thin_anodic")


def study_single_fine(comm) -> dict:
    return study(comm, "study_single", 0.5)


CASES = {"uniform": uniform, "sharp_straight": sharp_straight,
         "narrow_straight": narrow_straight, "sharp_curved": sharp_curved,
         "smooth_curved": smooth_curved, "eshelby": eshelby, "study": study, "poly": poly,
         "study_single": study_single, "study_thin": study_thin,
         "study_single_fine": study_single_fine}


def main() -> None:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in args.cases:
        start = time.perf_counter()
        results[name] = CASES[name](comm)
        results[name]["wall_time_s"] = time.perf_counter() - start
        if comm.rank == 0:
            print(name, json.dumps(results[name], indent=None)[:2000], flush=True)
    results["machine"] = {"ranks": comm.size, "load_average_1min": os.getloadavg()[0]}
    if comm.rank == 0:
        OUT.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
