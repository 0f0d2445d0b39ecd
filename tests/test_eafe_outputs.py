"""Outputs of the exponentially fitted scheme (issue 18 item 3, issue 16): a ``fem-eafe`` run,
asked for or as the fallback of a 1D ``fem`` run that the W formulation refuses, writes the
W-FEM's field files (fields.bp, regions.xdmf/.h5, fields.vtu) with the same array names, on any
number of ranks; ParaView (pvbatch), pyvista (``fem-sse view``) and meshio read them with
cells > 0 and the named arrays, and the fields are the run's state (eta_i = Phi w from Phi at
the cathode to 0 at the anode, eta_e = mu - eta_i, W and sigma_eh of mu in each cell's
material, mu at the electrodes).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BILAYER
from mpi4py import MPI
from test_eafe import REFUSED, _stack
from test_paraview import EXPECTED, INSPECT, _pvbatch

from fem_sse.app.run import run_case
from fem_sse.io.childproc import run_child
from fem_sse.materials.conductivity import sigma_eh
from fem_sse.spec.config import parse_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"eafe": the bilayer with --solver fem-eafe, "fallback": a refused stack run as "fem"}:
    (config, summary, folder), run on all ranks into a folder rank 0 made."""
    comm = MPI.COMM_WORLD
    root = comm.bcast(tmp_path_factory.mktemp("eafe_out") if comm.rank == 0 else None, root=0)
    out = {}
    for key, config, solver in (("eafe", parse_config({"name": "eafe", **BILAYER}), "fem-eafe"),
                                ("fallback", _stack(REFUSED[0]), "fem")):
        summary = run_case(config, root / key, comm, solver=solver)
        out[key] = (config, summary, root / key)
    return out


@pytest.mark.mpi
@pytest.mark.parametrize("key", ["eafe", "fallback"])
def test_fields_are_the_state(runs, key):
    """The files are listed in the summary; fields.vtu (meshio) has every cell and the state."""
    import meshio

    config, summary, out = runs[key]
    assert summary["solver"] == "fem-eafe"
    if key == "fallback":
        assert summary["fallback"]["to"] == "fem-eafe"
    assert set(EXPECTED["1d"]) | {"regions.h5", "profile.csv"} <= set(summary["files"])
    if MPI.COMM_WORLD.rank != 0:
        return
    assert all((out / name).exists() for name in summary["files"])
    data = meshio.read(out / "fields.vtu")
    assert sum(len(c.data) for c in data.cells) == summary["cells"] > 0
    assert EXPECTED["1d"]["fields.vtu"] <= set(data.point_data) | set(data.cell_data)
    x = data.points[:, 0]
    p = data.point_data
    mu, eta_i, kT = p["mu_Li0 [eV]"], p["eta_i [eV]"], config.cell.kT
    phi = summary["ionic_potential_drop_V"]
    assert np.allclose(mu[x == 0.0], config.cell.mu_cathode, rtol=0, atol=1e-12)
    assert np.allclose(mu[x == x.max()], config.cell.mu_anode, rtol=0, atol=1e-12)
    assert eta_i.max() == pytest.approx(phi, rel=1e-12) and eta_i[x == 0.0].min() == eta_i.max()
    assert abs(eta_i[x == x.max()]).max() <= 1e-12 * abs(phi)
    assert np.allclose(p["eta_e [eV]"], mu - eta_i, rtol=0, atol=1e-12)  # eV
    # W and sigma_eh of mu in the cell's material (region id -> material of the stack)
    regions = np.repeat(data.cell_data["region_id [-]"][0].astype(int), 2)
    segments = config.segments()
    A = np.array([segments[r - 1].material.A for r in regions])  # noqa: N806
    B = np.array([segments[r - 1].material.B for r in regions])  # noqa: N806
    y = np.clip(mu, B - 600 * kT, B + 600 * kT)
    # compared in eV: near mu = B, W's relative round-off is unbounded (the VTU holds mu
    # evaluated at the vertices, equal to the dofs to round-off)
    mu_of_w = B + kT * np.arcsinh(p["W [A/m]"] / (2.0 * A * kT))
    assert np.allclose(mu_of_w, y, rtol=0, atol=1e-9)
    assert np.allclose(p["sigma_eh [S/m]"], sigma_eh(y, A, B, kT), rtol=1e-9, atol=0)
    # the profile the run wrote (10 digits; mu at the nodes) is the field's mu there
    prof = np.genfromtxt(out / "profile.csv", delimiter=",", names=True)
    order = np.argsort(prof["x_m"], kind="stable")
    px, pmu = prof["x_m"][order], prof["mu_Li0_eV"][order]
    near = np.clip(np.searchsorted(px, x), 1, len(px) - 1)
    near = np.where(np.abs(px[near - 1] - x) < np.abs(px[near] - x), near - 1, near)
    same = np.abs(px[near] - x) <= 1e-9 * config.thickness
    assert same.sum() >= len(x) // 2
    assert np.allclose(mu[same], pmu[near[same]], rtol=0, atol=1e-8)


@pytest.mark.mpi
@pytest.mark.parametrize("key", ["eafe", "fallback"])
def test_pvbatch_pyvista_open(runs, key):
    """pvbatch (the readers the docs name) and ``fem-sse view`` (pyvista): cells > 0 and the
    named arrays in every field file; view draws a PNG."""
    _, summary, out = runs[key]
    if MPI.COMM_WORLD.rank != 0:
        return
    found = {row["file"]: row for row in map(json.loads, _pvbatch(out, script=INSPECT)
                                             .splitlines()) if row}
    for name, arrays in EXPECTED["1d"].items():
        assert found[name]["cells"] > 0, found[name]
        assert arrays <= set(found[name]["arrays"]), (name, found[name])
    assert found["fields.vtu"]["cells"] == summary["cells"]
    png = out.parent / f"view_{key}.png"
    done = run_child([sys.executable, "-m", "fem_sse", "view", str(out), "--png", str(png)])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"fields.vtu: {summary['cells']} cells" in done.stdout, done.stdout
    assert all(a in done.stdout for a in EXPECTED["1d"]["fields.vtu"]), done.stdout
    assert png.stat().st_size > 10_000
