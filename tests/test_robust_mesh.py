"""Meshes that cannot carry a steady current are refused before solving, on every rank, with
one line (issue 18): a crack across the whole width (line or slit), a user mesh cut in two by a
pore, a floating island, and a user mesh drawn in um."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from fem_sse.spec.config import load_config
from fem_sse.geometry import MeshError, build_mesh
from fem_sse.spec.geometry import Crack

ROOT = Path(__file__).parent.parent
DEFECTS = ROOT / "cases" / "2d" / "defects.toml"
SIDE = 1e-5  # m


def _with_cracks(cracks):
    config = load_config(DEFECTS)
    return dataclasses.replace(config, geometry2d=dataclasses.replace(
        config.geometry2d, cracks=tuple(cracks), pores=(), anode_contact=(), asperities=()))


@pytest.mark.mpi
@pytest.mark.parametrize("kind, width", [("line", None), ("slit", 0.5e-6)])
def test_crack_across_the_width_is_refused(comm, kind, width):
    crack = Crack(start=(30e-6, 0.0), end=(30e-6, 50e-6), kind=kind, width=width)
    with pytest.raises(MeshError) as err:  # raised on every rank: no hang
        build_mesh(_with_cracks([crack]), comm)
    assert "no conducting path" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.mpi
def test_crack_short_of_the_width_is_accepted(comm):
    crack = Crack(start=(30e-6, 0.0), end=(30e-6, 45e-6), kind="line", width=None)
    smesh = build_mesh(_with_cracks([crack]), comm)
    assert "crack0" in smesh.facet_groups


def _write_user_mesh(path: Path, scale: float = 1.0, hole: str = "none") -> None:
    """A square of side SIDE * scale (cathode x = 0, anode x = L) with a hole: "cut" (a disc
    wider than the square: two pieces), "ring" (an annulus: a floating island) or "none"."""
    import gmsh

    gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        occ = gmsh.model.occ
        s = SIDE * scale
        square = occ.addRectangle(0.0, 0.0, 0.0, s, s)
        if hole == "cut":
            occ.cut([(2, square)], [(2, occ.addRectangle(0.45 * s, -0.1 * s, 0, 0.1 * s,
                                                         1.2 * s))])
        elif hole == "ring":
            ring = occ.cut([(2, occ.addDisk(0.5 * s, 0.5 * s, 0, 0.3 * s, 0.3 * s))],
                           [(2, occ.addDisk(0.5 * s, 0.5 * s, 0, 0.2 * s, 0.2 * s))])[0]
            occ.cut([(2, square)], ring, removeTool=False)
            occ.remove(ring, recursive=True)
        occ.synchronize()
        surfaces = [t for _, t in gmsh.model.getEntities(2)]
        curves = {"cathode": [], "anode": []}
        for c in {abs(t) for _, t in gmsh.model.getBoundary([(2, t) for t in surfaces],
                                                            oriented=False)}:
            x, _, _ = occ.getCenterOfMass(1, c)  # the square's sides at x = 0 and x = L
            if x < 0.01 * s:
                curves["cathode"].append(c)
            elif x > 0.99 * s:
                curves["anode"].append(c)
        gmsh.model.addPhysicalGroup(2, surfaces, tag=7, name="layer0")
        for i, (name, tags) in enumerate(curves.items()):
            gmsh.model.addPhysicalGroup(1, tags, tag=50 + i, name=name)
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.08 * s)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def _user_config(path: Path):
    config = load_config(DEFECTS)
    layers = (dataclasses.replace(config.layers[0], thickness=SIDE),)
    return dataclasses.replace(config, layers=layers, geometry2d=dataclasses.replace(
        config.geometry2d, mesh_file=str(path), width=SIDE, cracks=(), pores=(),
        anode_contact=(), asperities=()))


@pytest.mark.mpi
@pytest.mark.parametrize("scale, hole, message", [
    (1.0, "cut", "none touches both electrodes; join the pieces in the mesh file"),
    (1.0, "ring", "touch neither electrode"),
    (1e6, "none", "drawn in um"),
    (1.5, "none", "differs from the layers' thickness"),
])
def test_bad_user_meshes_are_refused(comm, shared_tmp, scale, hole, message):
    path = shared_tmp / f"user_{hole}_{scale:g}.msh"
    if comm.rank == 0:
        _write_user_mesh(path, scale, hole)
    comm.barrier()
    with pytest.raises(MeshError) as err:
        build_mesh(_user_config(path), comm)
    text = str(err.value)
    assert text.startswith("geometry.mesh_file") and message in text and "\n" not in text


@pytest.mark.mpi
def test_good_user_mesh_is_accepted(comm, shared_tmp):
    path = shared_tmp / "user_good.msh"
    if comm.rank == 0:
        _write_user_mesh(path)
    comm.barrier()
    smesh = build_mesh(_user_config(path), comm)
    assert smesh.facet_groups["cathode"] == 1 and smesh.facet_groups["anode"] == 2


@pytest.mark.serial
def test_crack_case_exits_2_with_one_line(tmp_path):
    case = tmp_path / "crack.toml"
    text = DEFECTS.read_text()
    start = text.index("pores = [")
    end = text.index("[mesh]")
    case.write_text(text[:start] + 'cracks = [ { start = [30e-6, 0.0], end = [30e-6, 50e-6] } ]'
                    "\n\n" + text[end:])
    proc = subprocess.run([sys.executable, "-m", "fem_sse", "run", str(case), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "geometry: no conducting path" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crack.toml"]


@pytest.mark.serial
@pytest.mark.parametrize("scale, hole, message", [
    (1e6, "none", "the mesh is drawn in um"),
    (1.0, "cut", "no conducting path"),
])
def test_bad_user_mesh_case_exits_2_with_one_line(tmp_path, scale, hole, message):
    """The command a user runs (issue 18: a mesh in um ran to Phi = 9999.99 V, one cut in two
    by a pore to Phi = 1.7e26 V): exit 2, one line, no output folder."""
    _write_user_mesh(tmp_path / "user.msh", scale, hole)
    (tmp_path / "user.toml").write_text(
        'name = "user"\n[cell]\ntemperature = 298.0\ncurrent_density = 10.0\n'
        "mu_cathode = -1.78\nmu_anode = -1.18\n"
        "[materials.SE]\nsigma_li = 0.1\nA = 1e-17\nB = -1.48\n"
        f'[geometry]\ndim = 2\nmesh_file = "user.msh"\n'
        f'layers = [ {{ material = "SE", thickness = {SIDE} }} ]\n')
    proc = subprocess.run([sys.executable, "-m", "fem_sse", "run", "user.toml", "-o", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "geometry.mesh_file" in lines[0] and message in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user.msh", "user.toml"]
