"""2D mechanics through ``fem-sse run`` (issue 6): the elastic solve on the converged transport
mesh from the converged mu_Li0, its files and summary keys, 1 rank == N ranks.

The case is cases/2d/study_bilayer.toml (polycrystalline Fig. 3 bilayer, two-state law, 5 MPa
stack pressure) with a smaller cell cap so the test stays fast. Anchors that do not depend on
the mesh:

* equilibrium: the mean normal traction on the flat phase boundary pb0 is -p (the stack
  pressure), whatever the eigenstrain;
* far from the mu_Li0 fronts the eigenstrain is saturated (delta = +0.05 in SE_cathodic above
  its B) and uniform, so the laterally constrained film holds:
  sigma_yy = (-nu p - E e*)/(1 - nu) with e* = 0.03 x 0.05 (docs/mechanics.md).

Runs serially and under ``mpirun -n 2`` (then the COMM_WORLD run is compared with the
COMM_SELF one that every rank also does).
"""

import json
from pathlib import Path

import dolfinx.io
import numpy as np
import pytest
from mpi4py import MPI

from fem_sse.cli import main
from fem_sse.config import load_config
from fem_sse.run import solve_case

CASE = Path(__file__).parent.parent / "cases" / "2d" / "study_bilayer.toml"
KEYS = ("max_von_mises", "max_principal", "crack_risk_index", "min_principal",
        "max_hydrostatic", "max_displacement", "crack_risk_distance_to_electrode")
P_STACK, E, NU, ESTAR = 5e6, 149.8e9, 0.26, 0.03 * 0.05


def _small_case(folder: Path, comm) -> Path:
    """The study case with a 6000-cell cap (rank 0 writes it)."""
    path = folder / "study_bilayer_small.toml"
    if comm.rank == 0:
        text = CASE.read_text()
        assert "max_cells = 40000" in text
        path.write_text(text.replace("max_cells = 40000", "max_cells = 6000"))
    comm.barrier()
    return path


def test_run_2d_mechanics(comm, shared_tmp):
    case = _small_case(shared_tmp, comm)
    out = shared_tmp / "run"
    assert main(["run", str(case), "-o", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    mech = summary["mechanics"]
    for key in ("max_von_mises", "max_principal", "crack_risk_index", "crack_risk_location",
                "crack_risk_distance_to_electrode"):
        assert key in summary, key
    assert summary["ranks"] == comm.size and mech["model"] == "plane_strain"
    assert len(summary["crack_risk_location"]) == 2
    # the mesh of the elastic solve is the converged transport mesh: 2 DOFs per vertex, and
    # the region tags are carried over (the XDMF file has the same cells as regions.xdmf)
    for name in ("mechanics.bp", "mechanics.xdmf", "mechanics.h5", "tractions.csv",
                 "mechanics.png", "mu_map.png", "fields.bp"):
        assert name in summary["files"] and (out / name).exists(), name
    with dolfinx.io.XDMFFile(comm, str(out / "mechanics.xdmf"), "r") as xdmf:
        mesh = xdmf.read_mesh(name="mesh")
        tags = xdmf.read_meshtags(mesh, name="regions")
    assert mesh.topology.index_map(2).size_global == summary["cells"]
    assert comm.allreduce(len(tags.values), MPI.SUM) >= summary["cells"]
    assert mesh.comm.allreduce(mesh.geometry.index_map().size_local, MPI.SUM) * 2 == mech["dofs"]

    # equilibrium on the phase boundary, the film stress on the plateau
    pb = mech["tractions"]["pb0"]
    assert pb["normal_mean"] == pytest.approx(-P_STACK, rel=1e-3)
    assert pb["length"] == pytest.approx(50e-6, rel=1e-12)
    table = np.genfromtxt(out / "tractions.csv", delimiter=",", names=True, dtype=None,
                          encoding="ascii")
    assert set(table["group"]) == {"gb", "pb0"}
    assert table["length_m"][table["group"] == "pb0"].sum() == pytest.approx(50e-6, rel=1e-8)

    # 1 rank == N ranks (each rank solves the same case alone on COMM_SELF)
    config = load_config(case)
    single, extras = solve_case(config, MPI.COMM_SELF)
    for key in KEYS:
        assert mech[key] == pytest.approx(single["mechanics"][key], rel=1e-8, abs=1e-12), key
    assert np.allclose(summary["crack_risk_location"], single["crack_risk_location"], rtol=0,
                       atol=1e-12)
    for key in ("normal_max", "normal_mean", "shear_max"):
        assert mech["tractions"]["gb"][key] == pytest.approx(
            single["mechanics"]["tractions"]["gb"][key], rel=1e-8), key

    result = extras["mechanics"]
    stress = result.fields["stress [Pa]"]
    x = stress.function_space.tabulate_dof_coordinates()
    plateau = (x[:, 0] > 20e-6) & (x[:, 0] < 30e-6)
    syy = stress.x.array.reshape(-1, 4)[plateau, 1]
    film = (-NU * P_STACK - E * ESTAR) / (1.0 - NU)
    assert np.median(syy) == pytest.approx(film, rel=1e-3)
    assert single["max_principal"] > 300e6  # the tensile skin at the cathode-side jump
