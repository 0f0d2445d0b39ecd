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

from fem_sse.app.cli import main
from fem_sse.spec.config import load_config, parse_config
from fem_sse.geometry import build_mesh
from fem_sse.mechanics.fronts import refine_at_fronts
from fem_sse.app.run import solve_case

CASE = Path(__file__).parent.parent / "cases" / "2d" / "study_bilayer.toml"
KEYS = ("max_von_mises", "max_principal", "crack_risk_index", "min_principal",
        "max_hydrostatic", "max_displacement", "crack_risk_distance_to_electrode")
P_STACK, E, NU, ESTAR = 5e6, 149.8e9, 0.26, 0.03 * 0.05


def _small_case(folder: Path, comm) -> Path:
    """The study case with a 6000-cell cap (rank 0 writes it)."""
    path = folder / "study_bilayer_small.toml"
    if comm.rank == 0:
        text = CASE.read_text()
        assert "max_cells = 40000" in text and "refine_fronts = 6" in text
        path.write_text(text.replace("max_cells = 40000", "max_cells = 6000")
                        .replace("refine_fronts = 6", "refine_fronts = 3"))
    comm.barrier()
    return path


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    """``fem-sse run`` of the small study case: (case file, output folder), on every rank."""
    comm = MPI.COMM_WORLD
    folder = comm.bcast(tmp_path_factory.mktemp("mech2d") if comm.rank == 0 else None, root=0)
    case = _small_case(folder, comm)
    out = folder / "run"
    assert main(["run", str(case), "-o", str(out), "-q"]) == 0
    return case, out


def test_front_refinement_carries_w_exactly(comm):
    """W, linear per cell and discontinuous across the phase boundary, is carried to the
    refined mesh exactly; regions keep their areas; only cells at the front are refined."""
    import ufl
    from dolfinx import fem

    data = {"cell": {"current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
            "materials": {"a": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3,
                                "strain_law": "two_state"},
                          "b": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7,
                                "strain_law": "two_state"}},
            "geometry": {"dim": 2, "width": 4e-6, "layers": [
                {"material": "a", "thickness": 5e-6}, {"material": "b", "thickness": 5e-6}]},
            "mesh": {"size_bulk": 1e-6}, "mechanics": {}}
    config = parse_config(data)
    smesh = build_mesh(config, comm)

    def exact(x, layer_b):  # W (A/m): zero (the front) at x = 2 um in layer a, jump at the PB
        return 1e-12 * (x[0] - 2e-6) / 1e-6 + 1e-13 * x[1] / 1e-6 + layer_b * 5e-12

    def w_on(mesh_, tags, regions):
        V = fem.functionspace(mesh_, ("DG", 1))
        w = fem.Function(V)
        q = fem.functionspace(mesh_, ("DG", 0))
        is_b = fem.Function(q)
        is_b.x.array[tags.indices] = [regions[int(t)].material == "b" for t in tags.values]
        x = ufl.SpatialCoordinate(mesh_)
        from fem_sse import compat

        w.interpolate(fem.Expression(exact(x, is_b), compat.interpolation_points(V)))
        return w

    w = w_on(smesh.mesh, smesh.cell_tags, smesh.regions)
    fine, mu, rounds = refine_at_fronts(smesh, w, config, config.mechanics, levels=2)
    assert rounds == 2
    cells = [s.mesh.topology.index_map(2).size_global for s in (smesh, fine)]
    assert cells[0] < cells[1] < 2 * cells[0]  # only the front (x = 2 um) is refined
    ref = w_on(fine.mesh, fine.cell_tags, fine.regions)
    kT = config.cell.kT
    for name, mat in config.materials.items():  # mu = mu(W) per material
        tag = [t for t, r in fine.regions.items() if r.material == name]
        cells_m = np.concatenate([fine.cell_tags.find(t) for t in tag])
        dofs = mu.function_space.dofmap.list[cells_m].ravel()
        expected = mat.B + kT * np.arcsinh(ref.x.array[dofs] / (2 * mat.A * kT))
        assert np.allclose(mu.x.array[dofs], expected, rtol=0, atol=1e-9), name
    for t in smesh.regions:
        areas = []
        for s in (smesh, fine):
            one = fem.form(fem.Constant(s.mesh, 1.0) * ufl.dx(
                domain=s.mesh, subdomain_data=s.cell_tags, subdomain_id=t))
            areas.append(comm.allreduce(fem.assemble_scalar(one), MPI.SUM))
        assert areas[1] == pytest.approx(areas[0], rel=1e-12)


def test_run_2d_mechanics(comm, run_output):
    case, out = run_output
    summary = json.loads((out / "summary.json").read_text())
    mech = summary["mechanics"]
    for key in ("max_von_mises", "max_principal", "crack_risk_index", "crack_risk_location",
                "crack_risk_distance_to_electrode"):
        assert key in summary, key
    assert summary["ranks"] == comm.size and mech["model"] == "plane_strain"
    assert len(summary["crack_risk_location"]) == 2
    # the mesh of the elastic solve is the converged transport mesh refined at the fronts:
    # 2 DOFs per vertex, and the region tags are carried over
    for name in ("mechanics.bp", "mechanics.xdmf", "mechanics.h5", "tractions.csv",
                 "mechanics.png", "mu_map.png", "fields.bp"):
        assert name in summary["files"] and (out / name).exists(), name
    with dolfinx.io.XDMFFile(comm, str(out / "mechanics.xdmf"), "r") as xdmf:
        mesh = xdmf.read_mesh(name="mesh")
        tags = xdmf.read_meshtags(mesh, name="regions")
    assert mech["front_refinements"] == 3 and mech["cells"] > summary["cells"]
    assert mesh.topology.index_map(2).size_global == mech["cells"]
    assert comm.allreduce(len(tags.values), MPI.SUM) >= mech["cells"]
    assert mesh.comm.allreduce(mesh.geometry.index_map().size_local, MPI.SUM) * 2 == mech["dofs"]

    # equilibrium on the phase boundary, the film stress on the plateau
    pb = mech["tractions"]["pb0"]
    assert pb["normal_mean"] == pytest.approx(-P_STACK, rel=1e-3)
    assert pb["length"] == pytest.approx(50e-6, rel=1e-12)
    table = np.genfromtxt(out / "tractions.csv", delimiter=",", names=True, dtype=None,
                          encoding="ascii")
    assert set(table["group"]) == {"gb", "pb0"}
    assert table["length_m"][table["group"] == "pb0"].sum() == pytest.approx(50e-6, rel=1e-8)

    # 1 rank == N ranks (each rank solves the same case alone on COMM_SELF). The transport
    # mesh is the same; W differs by the solver's round-off (t_Li 2e-14); the elastic mesh is
    # refined and fitted on the canonical serial copy (fem_sse/mechanics/canonical.py) and so
    # is the same mesh: peaks 1e-13 to 2e-12 apart in two runs (bench/mechanics_ranks.py),
    # compared to 1e-9.
    config = load_config(case)
    single, extras = solve_case(config, MPI.COMM_SELF)
    assert summary["t_li"] == pytest.approx(single["t_li"], rel=1e-10)
    assert summary["cells"] == single["cells"]
    assert mech["cells"] == single["mechanics"]["cells"]
    for key in KEYS:
        assert mech[key] == pytest.approx(single["mechanics"][key], rel=1e-9, abs=1e-12), key
    assert np.allclose(summary["crack_risk_location"], single["crack_risk_location"], rtol=0,
                       atol=1e-12)
    for key in ("normal_mean",):
        assert mech["tractions"]["gb"][key] == pytest.approx(
            single["mechanics"]["tractions"]["gb"][key], rel=1e-9), key

    result = extras.elastic
    stress = result.fields["stress [Pa]"]
    x = stress.function_space.tabulate_dof_coordinates()
    plateau = (x[:, 0] > 20e-6) & (x[:, 0] < 30e-6)
    syy = stress.x.array.reshape(-1, 4)[plateau, 1]
    film = (-NU * P_STACK - E * ESTAR) / (1.0 - NU)
    assert np.median(syy) == pytest.approx(film, rel=1e-3)
    assert single["max_principal"] > 300e6  # the tensile skin at the cathode-side jump


@pytest.mark.serial
def test_paraview_opens_run_output(run_output, tmp_path):
    """ParaView's readers open the files of ``fem-sse run`` and render them."""
    from test_paraview import _pvbatch

    _, out = run_output  # the XDMF reader (tests/test_paraview.py also tries the VTX one)
    text = _pvbatch(out, "--png", tmp_path / "pv.png")
    for name in ("mu_Li0 [eV]", "von_mises [Pa]", "region_id [-]", "regions"):
        assert f"'{name}'" in text, text
    assert (tmp_path / "pv.png").stat().st_size > 10000
