"""2D geometries: areas, lengths, grains, seeds, defects, ranks, user meshes, mesh command.

Everything marked ``mpi`` also runs under ``mpirun -n 2``: per-tag global cell counts must equal
the Gmsh model's (built on rank 0), so the distribution loses or duplicates nothing.
"""

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import ufl
from dolfinx import fem
from mpi4py import MPI

from fem_sse.spec.config import ConfigError, load_config, parse_config
from fem_sse.geometry import MeshError, build_mesh
from fem_sse.geometry.voronoi import shrink_polygon, voronoi_grains

ROOT = Path(__file__).parent.parent
UM = 1e-6
BASE = {
    "cell": {"temperature": 298.0, "current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
    "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3},
                  "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}},
}


def config2d(layers=(("SE_cathodic", 10 * UM), ("SE_anodic", 10 * UM)), width=20 * UM,
             mesh=None, **geometry):
    data = copy.deepcopy(BASE)
    grains = geometry.pop("grains", ())
    data["geometry"] = {"dim": 2, "width": width, **geometry,
                        "layers": [{"material": m, "thickness": t} for m, t in layers]}
    for i, table in enumerate(grains):
        if table:
            data["geometry"]["layers"][i]["grains"] = table
    data["mesh"] = {"size_bulk": 2 * UM, "grading": 1.0, **(mesh or {})}
    return parse_config(data)


def integral(smesh, measure: str, tag: int) -> float:
    """Global area (dx) or length (ds, dS) of a tagged region."""
    msh = smesh.mesh
    data = smesh.cell_tags if measure == "dx" else smesh.facet_tags
    m = ufl.Measure(measure, domain=msh, subdomain_data=data)
    one = fem.Constant(msh, 1.0)
    local = fem.assemble_scalar(fem.form(one * m(tag)))
    return msh.comm.allreduce(local, op=MPI.SUM)


def global_counts(smesh) -> tuple[dict, dict]:
    """Owned cells / facets per tag, summed over ranks."""
    out = []
    for tags in (smesh.cell_tags, smesh.facet_tags):
        dim = tags.dim
        owned = smesh.mesh.topology.index_map(dim).size_local
        values = tags.values[tags.indices < owned]
        local = {int(v): int(n) for v, n in zip(*np.unique(values, return_counts=True))}
        merged = {}
        for part in smesh.mesh.comm.allgather(local):
            for k, n in part.items():
                merged[k] = merged.get(k, 0) + n
        out.append(merged)
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("geometry, key", [
    ({"widht": 1e-5}, "geometry.widht: unknown key; did you mean 'width'?"),
    ({"pores": [{"center": [5e-6, 5e-6], "radii": [0.0, 1e-6]}]}, "geometry.pores[0].radii[0]"),
    ({"cracks": [{"start": [1e-6, 1e-6], "end": [2e-6, 1e-6], "width": 1e-7}]},
     "geometry.cracks[0].width: only for kind = 'slit'"),
    ({"grain_boundaries": {"model": "strp", "width": 1e-8}},
     "did you mean 'strip'"),
    ({"anode_contact": [[5e-6, 1e-6]]}, "geometry.anode_contact[0]"),
    ({"phase_boundaries": {"roughness": {"amplitude": 9e-6, "wavelength": 5e-6}}},
     "geometry.phase_boundaries.roughness.amplitude"),
])
def test_bad_2d_keys_one_line(geometry, key):
    with pytest.raises(ConfigError) as err:
        config2d(**geometry)
    assert key in str(err.value)
    assert "\n" not in str(err.value)


def test_2d_keys_rejected_in_1d_and_1d_unchanged():
    data = copy.deepcopy(BASE)
    data["geometry"] = {"dim": 1, "width": 1e-5,
                        "layers": [{"material": "SE_anodic", "thickness": 1e-4}]}
    with pytest.raises(ConfigError, match="geometry.width: only for dim = 2"):
        parse_config(data)
    del data["geometry"]["width"]
    assert parse_config(data).geometry2d is None


def test_grains_from_size_and_count_exclusive():
    config = config2d(grains=[{"size": 5 * UM, "seed": 1}, None])
    assert config.geometry2d.grains[0].count == 8  # 10 um x 20 um / (5 um)^2
    with pytest.raises(ConfigError, match="exactly one of count"):
        config2d(grains=[{"size": 5 * UM, "count": 3}, None])


# ---------------------------------------------------------------------------------------------
# Pure geometry (no Gmsh)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aspect", [1.0, 3.0])
def test_voronoi_tiles_the_box(aspect):
    box = (0.0, 10.0, 0.0, 20.0)
    layout = voronoi_grains(40, box, seed=7, aspect=aspect, lloyd=1, merge_tol=0.05)
    assert len(layout.cells) == 40
    def area_of(p):
        q = np.roll(p, -1, axis=0)
        return 0.5 * (p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]).sum()

    area = sum(area_of(layout.polygon(k)) for k in range(40))
    assert math.isclose(area, 200.0, rel_tol=1e-12)
    again = voronoi_grains(40, box, seed=7, aspect=aspect, lloyd=1, merge_tol=0.05)
    assert np.array_equal(layout.vertices, again.vertices)


def _corner_grains(layout, box):
    corners = [(box[i], box[j]) for i in (0, 1) for j in (2, 3)]
    return [sum(1 for cell in layout.cells for v in cell
                if np.allclose(layout.vertices[v], c, rtol=0, atol=1e-12 * box[3]))
            for c in corners]


# stress2d seed 0: (configuration, layer) whose short-edge merge ended a GB in a box corner
CORNER_MERGES = [(9, 1), (17, 1), (20, 0), (28, 2), (31, 2)]


@pytest.mark.parametrize("index,layer", CORNER_MERGES)
def test_no_grain_boundary_ends_in_a_corner(index, layer):
    """Every corner of the box stays the corner of one grain: the merge of short edges pushes
    a side vertex near a corner away from it instead of collapsing the edge into the corner
    (on stress2d 0:28 that left a GB ending in the anode corner, a singular point where the
    two transport schemes converged 10 % apart). Same layout as the builder's call."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import stress2d

    data = stress2d.random_config(0, index)
    config = parse_config(data, data["name"])
    g, edges = config.geometry2d, config.layer_edges()
    spec = g.grains[layer]
    box = (edges[layer], edges[layer + 1], 0.0, g.width)
    dim = math.sqrt((box[1] - box[0]) * g.width / spec.count / spec.aspect)
    layout = voronoi_grains(spec.count, box, spec.seed, spec.aspect, spec.lloyd,
                            merge_tol=0.05 * dim)
    assert _corner_grains(layout, box) == [1, 1, 1, 1]
    assert len(layout.cells) == spec.count


def test_shrink_square():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    shrunk = shrink_polygon(square, np.array([0.1, 0.0, 0.1, 0.0]))
    assert np.allclose(sorted(shrunk[:, 0]), [0.0, 0.0, 1.0, 1.0])
    assert np.allclose(sorted(shrunk[:, 1]), [0.1, 0.1, 0.9, 0.9])


# ---------------------------------------------------------------------------------------------
# Built meshes, on 1 and N ranks
# ---------------------------------------------------------------------------------------------


def check_distribution(smesh):
    """Global per-tag counts of the DOLFINx mesh equal the Gmsh model's."""
    cells, facets = global_counts(smesh)
    assert smesh.mesh.topology.index_map(2).size_local > 0  # every rank got cells
    assert cells == smesh.info["counts"]["cells"]
    assert facets == smesh.info["counts"]["facets"]
    assert set(cells) == set(smesh.regions)


@pytest.mark.mpi
def test_flat_stack_exact_areas_and_lengths(comm):
    layers = (("SE_cathodic", 7 * UM), ("SE_anodic", 5 * UM), ("SE_cathodic", 8 * UM))
    config = config2d(layers=layers, width=15 * UM)
    smesh = build_mesh(config, comm)
    check_distribution(smesh)
    assert smesh.info["structured"]  # laterally uniform: the extruded 1D mesh
    by_name = {r.name: tag for tag, r in smesh.regions.items()}
    for i, (_, thickness) in enumerate(layers):
        area = integral(smesh, "dx", by_name[f"layer{i}"])
        assert math.isclose(area, thickness * 15 * UM, rel_tol=1e-12)
    fg = smesh.facet_groups
    assert fg["cathode"] == 1 and fg["anode"] == 2 and fg["pb0"] == 10 and fg["pb1"] == 11
    for name in ("cathode", "anode"):
        assert math.isclose(integral(smesh, "ds", fg[name]), 15 * UM, rel_tol=1e-12)
    for name in ("pb0", "pb1"):
        assert math.isclose(integral(smesh, "dS", fg[name]), 15 * UM, rel_tol=1e-12)
    assert math.isclose(integral(smesh, "ds", fg["side_y0"]), 20 * UM, rel_tol=1e-12)


@pytest.mark.mpi
@pytest.mark.parametrize("roughness", [{"amplitude": 2 * UM, "wavelength": 10 * UM},
                                       {"amplitude": 2 * UM, "seed": 3,
                                        "correlation_length": 4 * UM}])
def test_rough_pb_conserves_layer_areas(comm, roughness):
    config = config2d(phase_boundaries={"roughness": roughness})
    smesh = build_mesh(config, comm)
    by_name = {r.name: tag for tag, r in smesh.regions.items()}
    for i in range(2):
        area = integral(smesh, "dx", by_name[f"layer{i}"])
        assert math.isclose(area, 10 * UM * 20 * UM, rel_tol=1e-12)
    assert integral(smesh, "dS", smesh.facet_groups["pb0"]) > 20 * UM * 1.05


@pytest.mark.mpi
def test_gb_strips_area_matches_length_times_width(comm):
    width = 0.2 * UM
    config = config2d(grains=[{"count": 8, "seed": 1}, {"count": 8, "seed": 2,
                                                        "kind": "columnar"}],
                      grain_boundaries={"model": "strip", "width": width,
                                        "sigma_li_factor": 1e-2})
    smesh = build_mesh(config, comm)
    check_distribution(smesh)
    strips = [t for t, r in smesh.regions.items() if r.kind == "gb_strip"]
    assert {smesh.regions[t].sigma_li_factor for t in strips} == {1e-2}
    area = sum(integral(smesh, "dx", t) for t in strips)
    expected = smesh.info["gb_centerline_length_m"] * width
    assert abs(area / expected - 1.0) < 0.03  # triple junctions and grain tips
    assert smesh.info["grains_per_layer"] == [8, 8]
    total = sum(integral(smesh, "dx", t) for t in smesh.regions)
    assert math.isclose(total, 20 * UM * 20 * UM, rel_tol=1e-12)


def _interface_case(seed):
    return config2d(grains=[{"count": 6, "seed": seed}, {"count": 5, "seed": seed + 1}],
                    grain_boundaries={"model": "interface"}, mesh={"size_gb": 1 * UM})


@pytest.mark.mpi
def test_grain_interfaces_counts_and_seeds(comm):
    smesh = build_mesh(_interface_case(5), comm)
    check_distribution(smesh)
    grains = [r for r in smesh.regions.values() if r.kind == "grain"]
    assert sum(r.layer == 0 for r in grains) == 6 and sum(r.layer == 1 for r in grains) == 5
    gb = integral(smesh, "dS", smesh.facet_groups["gb"])
    assert math.isclose(gb, smesh.info["gb_centerline_length_m"], rel_tol=1e-9)
    same = build_mesh(_interface_case(5), comm)
    other = build_mesh(_interface_case(6), comm)
    assert same.info["counts"] == smesh.info["counts"]
    assert math.isclose(integral(same, "dS", 6), gb, rel_tol=1e-14)
    assert other.info["counts"] != smesh.info["counts"]


@pytest.mark.mpi
def test_bottlenecks_extruded_to_2d(comm):
    strips = [{"center": 5 * UM, "width": 0.1 * UM, "sigma_li_factor": 1e-2},
              {"center": 10 * UM, "width": 0.1 * UM, "sigma_li_factor": 1e-4}]
    smesh = build_mesh(config2d(bottlenecks=strips), comm)
    check_distribution(smesh)
    found = {r.name: (t, r) for t, r in smesh.regions.items() if r.kind == "bottleneck"}
    # the second strip straddles the phase boundary: one region per layer, own A and B
    assert set(found) == {"bottleneck0/layer0", "bottleneck1/layer0", "bottleneck1/layer1"}
    assert found["bottleneck1/layer1"][1].material == "SE_anodic"
    assert found["bottleneck1/layer1"][1].sigma_li_factor == 1e-4
    area = integral(smesh, "dx", found["bottleneck0/layer0"][0])
    assert math.isclose(area, 0.1 * UM * 20 * UM, rel_tol=1e-9)


@pytest.mark.mpi
def test_defects(comm):
    a, b = 3 * UM, 1.5 * UM
    config = config2d(
        layers=(("SE_anodic", 20 * UM),), width=20 * UM, mesh={"size_pore": 0.2 * UM},
        pores=[{"center": [8 * UM, 6 * UM], "radii": [a, b], "angle": 0.3}],
        cracks=[{"start": [12 * UM, 12 * UM], "end": [16 * UM, 12 * UM]},
                {"start": [4 * UM, 15 * UM], "end": [4 * UM, 18 * UM], "kind": "slit",
                 "width": 0.4 * UM}],
        anode_contact=[[0.0, 8 * UM], [12 * UM, 20 * UM]],
        asperities=[{"y": 16 * UM, "depth": 2 * UM, "width": 3 * UM}])
    smesh = build_mesh(config, comm)
    check_distribution(smesh)
    assert not smesh.info.get("structured")  # defects: the unstructured Gmsh mesh
    fg = smesh.facet_groups
    assert {"crack0", "crack1", "pore0", "free_surface"} <= set(fg)
    area = integral(smesh, "dx", next(iter(smesh.regions)))
    holes = math.pi * a * b + 3 * UM * 0.4 * UM + 0.5 * 3 * UM * 2 * UM
    assert abs((20 * UM) ** 2 - holes - area) < 0.01 * math.pi * a * b
    assert math.isclose(integral(smesh, "ds", fg["free_surface"]), 4 * UM, rel_tol=1e-12)
    anode = 16 * UM - 3 * UM + 2 * math.hypot(2 * UM, 1.5 * UM)
    assert math.isclose(integral(smesh, "ds", fg["anode"]), anode, rel_tol=1e-12)
    assert math.isclose(integral(smesh, "dS", fg["crack0"]), 4 * UM, rel_tol=1e-12)


@pytest.mark.mpi
def test_1d_regions_keep_numbering(comm):
    data = copy.deepcopy(BASE)
    data["geometry"] = {"dim": 1, "layers": [{"material": "SE_cathodic", "thickness": 5e-5},
                                             {"material": "SE_anodic", "thickness": 5e-5}],
                        "bottlenecks": [{"center": 2.5e-5, "width": 1e-7,
                                         "sigma_li_factor": 1e-2}]}
    smesh = build_mesh(parse_config(data), comm)
    assert sorted(smesh.regions) == [1, 2, 3, 4]
    assert smesh.regions[2].kind == "bottleneck" and smesh.regions[2].sigma_li_factor == 1e-2
    assert smesh.facet_groups == {"cathode": 1, "anode": 2, "interface0": 10}


# ---------------------------------------------------------------------------------------------
# User meshes and the mesh command
# ---------------------------------------------------------------------------------------------


def _write_square(path, facet_names, cell_name="layer0"):
    import gmsh

    gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        gmsh.model.add("user")
        s = gmsh.model.occ.addRectangle(0.0, 0.0, 0.0, 1e-5, 1e-5)
        gmsh.model.occ.synchronize()
        curves = {}
        for _, c in gmsh.model.getBoundary([(2, s)], oriented=False):
            x, y, _ = gmsh.model.occ.getCenterOfMass(1, abs(c))
            side = ("cathode" if x < 1e-9 else "anode" if x > 1e-5 - 1e-9 else
                    "side_y0" if y < 1e-9 else "side_y1")
            curves[side] = abs(c)
        gmsh.model.addPhysicalGroup(2, [s], tag=7, name=cell_name)
        for i, name in enumerate(facet_names):
            gmsh.model.addPhysicalGroup(1, [curves[name]], tag=50 + i, name=name)
        gmsh.option.setNumber("Mesh.MeshSizeMax", 2e-6)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def _user_config(path, **extra):
    return config2d(layers=(("SE_anodic", 1e-5),), mesh_file=str(path), width=1e-5, **extra)


@pytest.mark.mpi
def test_user_mesh_renumbered(comm, shared_tmp):
    path = shared_tmp / "square.msh"
    if comm.rank == 0:
        _write_square(path, ["anode", "cathode", "side_y0"])
    comm.barrier()
    smesh = build_mesh(_user_config(path), comm)
    check_distribution(smesh)
    assert smesh.facet_groups == {"cathode": 1, "anode": 2, "side_y0": 4}
    assert [r.name for r in smesh.regions.values()] == ["layer0"]
    assert math.isclose(integral(smesh, "ds", 2), 1e-5, rel_tol=1e-12)


@pytest.mark.mpi
@pytest.mark.parametrize("facets, cell, missing", [
    (["cathode", "side_y0"], "layer0", "'anode'"),
    (["cathode", "anode"], "grain_a", "'grain_a'"),
    (["cathode", "anode", "side_y1"], "layer3", "only 1 layer"),
])
def test_malformed_user_mesh_rejected(comm, shared_tmp, facets, cell, missing):
    path = shared_tmp / f"bad_{len(facets)}_{cell}.msh"
    if comm.rank == 0:
        _write_square(path, facets, cell)
    comm.barrier()
    with pytest.raises(MeshError) as err:
        build_mesh(_user_config(path), comm)  # raised on every rank, no hang
    assert missing in str(err.value) and "\n" not in str(err.value)


def test_committed_meshes_follow_the_convention(comm):
    config = load_config(ROOT / "cases" / "2d" / "defects.toml")
    user = dataclasses.replace(config, geometry2d=dataclasses.replace(
        config.geometry2d, mesh_file=str(ROOT / "meshes" / "2d_defects.msh")))
    smesh = build_mesh(user, comm)
    assert {"cathode", "anode", "free_surface", "crack0", "crack1", "pore0"} <= set(
        smesh.facet_groups)
    for path in (ROOT / "meshes").glob("*.msh"):
        assert path.stat().st_size < 300_000, path


@pytest.mark.serial
def test_mesh_command_report_and_png(tmp_path):
    from fem_sse.app.cli import main

    out = tmp_path / "strips.msh"
    case = ROOT / "cases" / "2d" / "bilayer_gb_strips.toml"
    assert main(["mesh", str(case), "-o", str(out), "--report", "--png",
                 str(tmp_path / "strips.png")]) == 0
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["grains"] == 20 and report["cells"] > 1000
    assert {"layer0/gb", "layer1/gb"} <= set(report["regions"])
    assert report["quality"]["minSICN"]["min"] > 0.2
    assert report["gb_length_m"] > 0 and out.stat().st_size > 10_000
    assert (tmp_path / "strips.png").stat().st_size > 20_000


@pytest.mark.mpi
def test_user_geo_is_meshed(comm, shared_tmp):
    path = shared_tmp / "square.geo"
    if comm.rank == 0:
        path.write_text('SetFactory("OpenCASCADE");\nRectangle(1) = {0, 0, 0, 1e-5, 1e-5};\n'
                        'Physical Surface("layer0") = {1};\nPhysical Curve("cathode") = {4};\n'
                        'Physical Curve("anode") = {2};\nMesh.MeshSizeMax = 2e-6;\n')
    comm.barrier()
    smesh = build_mesh(_user_config(path), comm)
    check_distribution(smesh)
    assert math.isclose(integral(smesh, "ds", 1), 1e-5, rel_tol=1e-12)
    assert math.isclose(integral(smesh, "dx", 100000), 1e-10, rel_tol=1e-12)


@pytest.mark.mpi
def test_deep_refinement_keeps_every_tag(comm):
    """Refined 24 times around a point where a grain boundary meets the phase boundary,
    down to cells of ~1e-13 m (1e-8 of the stack): every child is placed in its own parent
    (:mod:`fem_sse.geometry.refine2d` checks it), the grain-boundary length and every region's
    area stay what they were. With the point location of a domain scaled to unit size,
    children below 1e-6 of it took a neighbour's tags and grain-boundary facets were lost."""
    from fem_sse.geometry.refine2d import refine_tagged

    smesh = build_mesh(_interface_case(5), comm)
    gb_tag = smesh.facet_groups["gb"]
    areas = {tag: integral(smesh, "dx", tag) for tag in smesh.regions}
    gb_length = integral(smesh, "dS", gb_tag)
    msh = smesh.mesh
    ft = smesh.facet_tags
    msh.topology.create_connectivity(1, 0)
    f2v = msh.topology.connectivity(1, 0)
    ends = np.concatenate([f2v.links(f) for f in ft.indices[ft.values == gb_tag]])
    x = msh.geometry.x[ends, :2]  # vertices == geometry nodes on these affine meshes
    on_pb = x[np.abs(x[:, 0] - 10 * UM) < 1e-12]
    candidates = np.concatenate(comm.allgather(on_pb))
    point = candidates[np.argmin(candidates[:, 1] + 1e3 * np.abs(candidates[:, 1] - 10 * UM))]
    size = 2 * UM
    for _ in range(24):
        msh = smesh.mesh
        num = msh.topology.index_map(2).size_local
        from fem_sse import compat

        verts = msh.geometry.x[compat.geometry_dofmap(msh)[:num, :3], :2]
        near = np.linalg.norm(verts - point, axis=2).min(axis=1) < size
        smesh = refine_tagged(smesh, np.flatnonzero(near).astype(np.int32))
        size *= 0.5
    msh = smesh.mesh
    num = msh.topology.index_map(2).size_local
    verts = msh.geometry.x[compat.geometry_dofmap(msh)[:num, :3], :2]
    smallest = comm.allreduce(float(np.linalg.norm(verts[:, 1] - verts[:, 0], axis=1).min()),
                              op=MPI.MIN)
    assert smallest < 1e-12
    assert integral(smesh, "dS", gb_tag) == pytest.approx(gb_length, rel=1e-12)
    for tag, area in areas.items():
        assert integral(smesh, "dx", tag) == pytest.approx(area, rel=1e-12, abs=1e-30)


@pytest.mark.mpi
def test_cells_below_the_resolvable_size_are_not_refined(comm):
    """A marked cell whose inradius is below MIN_INRADIUS_SHARE of the domain stays as it is
    (its children would be below what the tag transfer resolves); the others are refined."""
    from fem_sse.geometry import refine2d

    smesh = build_mesh(_interface_case(5), comm)
    msh = smesh.mesh
    num = msh.topology.index_map(2).size_local
    cells = np.arange(num, dtype=np.int32)
    assert np.array_equal(refine2d.resolvable(msh, cells), cells)
    saved = refine2d.MIN_INRADIUS_SHARE
    try:
        refine2d.MIN_INRADIUS_SHARE = 1.0  # every cell is "too small"
        assert len(refine2d.resolvable(msh, cells)) == 0
        same = refine2d.refine_tagged(smesh, cells)
    finally:
        refine2d.MIN_INRADIUS_SHARE = saved
    assert same.mesh.topology.index_map(2).size_global == msh.topology.index_map(2).size_global
