"""ParaView, pyvista and meshio as real clients of the files of ``fem-sse run`` (1D and 2D,
transport and mechanics) and ``fem-sse mechanics`` (a restart): every field file opens with
cells > 0 and its named arrays.

pvbatch runs docs/paraview/inspect_outputs.py (the readers the docs name) and
docs/paraview/load_result.py with the distribution's ``pvbatch`` and a private Xvfb (pvbatch's
own off-screen mode aborts without X on Debian). pyvista runs as ``fem-sse view`` and as
``pyvista.read`` of every .vtu/.xdmf file in child processes (a crash there fails the test
instead of killing pytest); meshio in-process (it reads the .vtu files; the .xdmf files hold
several grids, which its XDMF reader refuses). ParaView
missing from the runtime is a failure, not a skip: it is in docker/packages.txt.
"""

import copy
import fnmatch
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BILAYER
from dolfinx import fem
from mpi4py import MPI

from fem_sse.app.restart import rerun_mechanics
from fem_sse.io.childproc import run_child
from fem_sse.spec.config import parse_config
from fem_sse.geometry import build_mesh
from fem_sse.mechanics import solve_mechanics, write_mechanics_fields
from fem_sse.app.run import run_case

SCRIPT = Path(__file__).parent.parent / "docs" / "paraview" / "load_result.py"
INSPECT = SCRIPT.with_name("inspect_outputs.py")
TRANSPORT = {"mu_Li0 [eV]", "eta_i [eV]", "eta_e [eV]", "W [A/m]", "sigma_eh [S/m]"}
MECHANICS = {"mu_Li0 [eV]", "von_mises [Pa]", "max_principal [Pa]", "displacement [m]",
             "crack_risk [-]", "region_id [-]"}
# file -> arrays it must hold, for the 1D and the 2D [mechanics] result
EXPECTED = {
    "1d": {"fields.bp": TRANSPORT, "fields.vtu": TRANSPORT | {"region_id [-]"},
           "regions.xdmf": {"regions", "region_id", "mu_Li0 [eV]"}},
    "2d": {"fields.bp": TRANSPORT, "fields.vtu": TRANSPORT | {"region_id [-]", "j_Li [A/m^2]"},
           "currents.bp": {"j_Li [A/m^2]", "j_eh [A/m^2]"},
           "regions.xdmf": {"regions", "region_id", "mu_Li0 [eV]"},
           "mechanics.bp": MECHANICS, "mechanics.vtu": MECHANICS,
           "mechanics.xdmf": MECHANICS | {"regions"}},
    # fem-sse mechanics OUTDIR (the 2D result's restart): the mechanics files only
    "2d_restart": {"mechanics.bp": MECHANICS, "mechanics.vtu": MECHANICS,
                   "mechanics.xdmf": MECHANICS | {"regions"}},
}


def _pvbatch(*args, script=SCRIPT):
    if shutil.which("pvbatch") is None or shutil.which("Xvfb") is None:
        pytest.fail("pvbatch/Xvfb not in the runtime (docker/packages.txt lists paraview, xvfb)")
    # pvbatch is an MPI program that needs a display: a clean child with its own Xvfb
    done = run_child(["pvbatch", str(script), *map(str, args)], display=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """``run_case`` of the 1D bilayer (FEM) and a small 2D bilayer with [mechanics]:
    {"1d"/"2d": (summary, output folder)} (serial tests only)."""
    folder = tmp_path_factory.mktemp("readers")
    one = copy.deepcopy(BILAYER)
    two = copy.deepcopy(BILAYER)
    for m in two["materials"].values():
        m["strain_law"] = "two_state"
    two.update(geometry={"dim": 2, "width": 10e-6, "layers": [
        {"material": "SE_cathodic", "thickness": 5e-6},
        {"material": "SE_anodic", "thickness": 5e-6}]}, mesh={"size_bulk": 1e-6},
        solver={"max_cells": 3000, "max_refinements": 2}, mechanics={"refine_fronts": 1})
    out = {}
    for key, data in (("1d", one), ("2d", two)):
        summary = run_case(parse_config({"name": key, **data}), folder / key, MPI.COMM_SELF)
        out[key] = (summary, folder / key)
    restart = folder / "2d_restart"
    out["2d_restart"] = (rerun_mechanics(folder / "2d", restart, MPI.COMM_SELF), restart)
    return out


def _vtu(dim: str) -> str:
    return "fields.vtu" if "fields.vtu" in EXPECTED[dim] else "mechanics.vtu"


@pytest.mark.serial
@pytest.mark.parametrize("dim", list(EXPECTED))
def test_pvbatch_opens_every_file(results, dim):
    """The readers the docs name (docs/paraview/README.md) give cells > 0 and the arrays; the
    legacy "XDMF Reader" opens the .xdmf files too (it crashed before fem_sse.io.xdmf)."""
    summary, out = results[dim]
    found = {row["file"]: row for row in map(json.loads, _pvbatch(out, script=INSPECT)
                                             .splitlines()) if row}
    legacy = {f"{n} (XDMFReader)": a for n, a in EXPECTED[dim].items() if n.endswith(".xdmf")}
    assert set(EXPECTED[dim]) | set(legacy) <= set(found), found
    for name, arrays in (EXPECTED[dim] | legacy).items():
        assert found[name]["cells"] > 0, found[name]
        assert arrays <= set(found[name]["arrays"]), (name, found[name])
    assert found[_vtu(dim)]["cells"] == summary["cells"]
    assert set(EXPECTED[dim]) <= set(summary["files"])


@pytest.mark.serial
@pytest.mark.parametrize("dim", list(EXPECTED))
def test_marker_records_every_written_name(results, dim):
    """Everything a run or a restart writes is a name fem-sse records in the marker of a folder
    still being written (fem_sse.io.outdir.WRITES): what a killed run leaves is fem-sse's and
    the next run removes it; any other name in such a folder is the user's and is kept."""
    from fem_sse.io.outdir import MARKER, WRITES

    _, out = results[dim]
    files = json.loads((out / MARKER).read_text())["files"]
    assert set(EXPECTED[dim]) <= set(files)
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in WRITES)] == []


@pytest.mark.serial
@pytest.mark.parametrize("dim", list(EXPECTED))
def test_pyvista_and_meshio_read(results, dim):
    """``fem-sse view`` (pyvista, a child process) lists the arrays and draws a PNG without an
    X server; meshio reads the same files; the peaks match the summary. meshio cannot read the
    .xdmf files (several grids; it exits), as docs/paraview/README.md says."""
    import meshio

    summary, out = results[dim]
    png = out.parent / f"view_{dim}.png"
    done = run_child([sys.executable, "-m", "fem_sse", "view", str(out), "--png", str(png)])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{_vtu(dim)}: {summary['cells']} cells" in done.stdout, done.stdout
    assert png.stat().st_size > 10_000
    for name, arrays in EXPECTED[dim].items():
        if name.endswith(".vtu"):
            assert all(a in done.stdout for a in arrays), done.stdout
            mesh = meshio.read(out / name)
            assert sum(len(c.data) for c in mesh.cells) > 0
            assert arrays <= set(mesh.point_data) | set(mesh.cell_data)
        elif name.endswith(".xdmf"):
            with pytest.raises(SystemExit):  # "Only supports one grid right now"
                meshio.read(out / name)
    fields = meshio.read(out / _vtu(dim))
    assert sum(len(c.data) for c in fields.cells) == summary["cells"]
    mu = fields.point_data["mu_Li0 [eV]"]
    assert mu.min() == pytest.approx(BILAYER["cell"]["mu_cathode"], abs=0.05)
    assert mu.max() == pytest.approx(BILAYER["cell"]["mu_anode"], abs=0.05)
    if dim != "1d":
        vm = meshio.read(out / "mechanics.vtu").point_data["von_mises [Pa]"]
        peak = summary.get("max_von_mises") or summary["mechanics"]["max_von_mises"]  # restart
        assert vm.max() == pytest.approx(peak, rel=1e-5)


# pyvista.read on each file named, in the child process of run_child (a crash there, as VTK's
# legacy XDMF reader had on DOLFINx's XDMF, fails the test instead of killing pytest); one JSON
# line per file: cells and arrays (summed and merged over the blocks of a MultiBlock) or error
PYVISTA_READ = """
import json, sys
import pyvista

def blocks(data):
    if isinstance(data, pyvista.MultiBlock):
        return [leaf for block in data if block is not None for leaf in blocks(block)]
    return [data]

for path in sys.argv[1:]:
    try:
        found = blocks(pyvista.read(path))
    except Exception as exc:
        print(json.dumps({"file": path, "error": repr(exc)}), flush=True)
        continue
    print(json.dumps({"file": path, "cells": sum(b.n_cells for b in found),
                      "arrays": sorted({a for b in found for a in b.array_names})}), flush=True)
"""


@pytest.mark.serial
@pytest.mark.parametrize("dim", list(EXPECTED))
def test_pyvista_reads_every_file(results, dim):
    """``pyvista.read`` (pyvista as installed, on its VTK) opens every .vtu and .xdmf file of a
    1D run, a 2D [mechanics] run and its restart with cells > 0 and the named arrays, without
    crashing; the .bp folders are the one format it has no reader for (docs/paraview/README.md)."""
    _, out = results[dim]
    names = sorted(EXPECTED[dim])
    done = run_child([sys.executable, "-c", PYVISTA_READ, *(str(out / n) for n in names)])
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    found = {Path(row["file"]).name: row for row in map(json.loads, done.stdout.splitlines())}
    assert sorted(found) == names, done.stdout
    for name, arrays in EXPECTED[dim].items():
        if name.endswith(".bp"):
            assert "error" in found[name], found[name]
            continue
        assert found[name].get("cells", 0) > 0, found[name]
        assert arrays <= set(found[name]["arrays"]), (name, found[name])


@pytest.mark.serial
@pytest.mark.parametrize("dim", list(EXPECTED))
def test_xdmf_declares_the_xinclude_namespace(results, dim):
    """The XDMF files declare XInclude's own namespace (http://, fem_sse.io.xdmf): with
    DOLFINx's https:// the legacy XDMF reader segfaults. DOLFINx still reads them back."""
    from dolfinx.io import XDMFFile

    _, out = results[dim]
    for name in (n for n in EXPECTED[dim] if n.endswith(".xdmf")):
        text = (out / name).read_text()
        assert 'xmlns:xi="http://www.w3.org/2001/XInclude"' in text, text[:300]
        with XDMFFile(MPI.COMM_SELF, str(out / name), "r") as xdmf:
            msh = xdmf.read_mesh(name="mesh")
            tags = xdmf.read_meshtags(msh, name="regions")
        cells = msh.topology.index_map(msh.topology.dim).size_local
        assert cells > 0 and len(tags.values) == cells


def test_pyvista_reads_xdmf_written_in_parallel(bilayer_data, comm, shared_tmp):
    """On any number of ranks: regions.xdmf of a 1D run and mechanics.xdmf of a 2D field open
    in pyvista (a child of rank 0) with every cell of the mesh and the named arrays."""
    summary = run_case(parse_config({"name": "par", **copy.deepcopy(bilayer_data)}),
                       shared_tmp / "1d", comm)
    for m in bilayer_data["materials"].values():
        m["strain_law"] = "two_state"
    bilayer_data.update(geometry={"dim": 2, "width": 10e-6, "layers": [
        {"material": "SE_cathodic", "thickness": 5e-6},
        {"material": "SE_anodic", "thickness": 5e-6}]}, mesh={"size_bulk": 1e-6},
        mechanics={})
    config = parse_config(bilayer_data)
    smesh = build_mesh(config, comm)
    mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))
    mu.interpolate(lambda x: -3.0 + 1.5 * (1.0 + np.tanh((x[0] - 4e-6) / 0.3e-6)))
    (shared_tmp / "2d").mkdir(exist_ok=True)
    write_mechanics_fields(shared_tmp / "2d", solve_mechanics(smesh, mu, config, comm))
    cells = smesh.mesh.topology.index_map(2).size_global
    files = [shared_tmp / "1d" / "regions.xdmf", shared_tmp / "2d" / "mechanics.xdmf"]
    done = run_child([sys.executable, "-c", PYVISTA_READ, *map(str, files)]) \
        if comm.rank == 0 else None
    done = comm.bcast(done, root=0)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    found = [json.loads(line) for line in done.stdout.splitlines()]
    # every grid of the file spans the whole mesh: mesh, tags, then one per function
    assert found[0]["cells"] == summary["cells"] * 4, found[0]  # mesh, regions, 2 functions
    assert EXPECTED["1d"]["regions.xdmf"] <= set(found[0]["arrays"]), found[0]
    assert found[1]["cells"] % cells == 0 and found[1]["cells"] > cells, (found[1], cells)
    assert EXPECTED["2d"]["mechanics.xdmf"] <= set(found[1]["arrays"]), found[1]


@pytest.mark.serial
def test_paraview_reads_and_renders(bilayer_data, comm, tmp_path):
    for m in bilayer_data["materials"].values():
        m["strain_law"] = "two_state"
    bilayer_data["geometry"] = {"dim": 2, "width": 10e-6, "layers": [
        {"material": "SE_cathodic", "thickness": 5e-6},
        {"material": "SE_anodic", "thickness": 5e-6}]}
    bilayer_data["mesh"] = {"size_bulk": 0.5e-6}
    bilayer_data["mechanics"] = {}
    config = parse_config(bilayer_data)
    smesh = build_mesh(config, comm)
    mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))
    mu.interpolate(lambda x: -3.0 + 1.5 * (1.0 + np.tanh((x[0] - 4e-6) / 0.3e-6)))
    result = solve_mechanics(smesh, mu, config, comm)
    write_mechanics_fields(tmp_path, result)
    vm = result.summary["max_von_mises"]

    out = _pvbatch(tmp_path, "--png", tmp_path / "xdmf.png", "--deformed", 50.0)
    lines = {line.split("'")[1]: line for line in out.splitlines() if line.startswith("array")}
    for name in ("mu_Li0 [eV]", "von_mises [Pa]", "max_principal [Pa]", "displacement [m]",
                 "crack_risk [-]", "region_id [-]", "regions"):
        assert name in lines, out
    high = float(lines["von_mises [Pa]"].split("[")[-1].split(",")[1].rstrip("]"))
    assert 0.5 * vm < high <= vm * (1 + 1e-5)  # cell values (midpoints) <= the nodal peak
    assert (tmp_path / "xdmf.png").stat().st_size > 10000

    out = _pvbatch(tmp_path, "--bp", "--png", tmp_path / "bp.png")
    assert "von_mises [Pa]" in out and "POINTS" in out, out
    high = [line for line in out.splitlines() if "'von_mises [Pa]'" in line][0]
    assert float(high.split("[")[-1].split(",")[1].rstrip("]")) == pytest.approx(vm, rel=1e-5)
    assert (tmp_path / "bp.png").stat().st_size > 10000
