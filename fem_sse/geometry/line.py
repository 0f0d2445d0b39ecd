"""1D separator: a Gmsh line from the cathode (x = 0) to the anode (x = L).

Physical groups (the 1D naming convention):

* cells: one group per constant-property segment of :meth:`Config.segments`, tag = segment
  index + 1, named ``layer{i}_{material}`` or ``bottleneck{k}_layer{i}``;
* points: ``cathode`` (tag 1), ``anode`` (tag 2), ``interface{i}`` (tag 10 + i) at the layer
  interfaces.

Mesh sizes: ``mesh.size`` in the bulk (default L/100), ``width / mesh.bottleneck_cells`` at
both edges of every strip, and at most the drift length kT sigma_li / j_i of each segment at its
ends (see :meth:`Config.drift_length`); Gmsh grades linearly in between, through a point at the
middle of a layer whose ends are both much finer than the layer's own size
(:func:`_middle_points`). The adaptive loop refines from here.
"""

from __future__ import annotations

import numpy as np

from fem_sse.geometry.discretisation import for_dimension
from fem_sse.geometry.sizing import leave_room
from fem_sse.parallel import gather_arrays
from fem_sse.spec.config import Config

CATHODE, ANODE, INTERFACE0 = 1, 2, 10
_MAX_DRIFT_CELLS = 200  # cap on the cells the drift-length sizing puts into one segment

__all__ = ["ANODE", "CATHODE", "INTERFACE0", "add_points", "build_line_model", "refine_line",
           "segment_names", "segment_sizes", "tag_points", "uniform_line"]


def segment_names(config: Config) -> list[str]:
    """Physical-group names of the cell regions, in segment order."""
    names = []
    for seg in config.segments():
        layer = config.layers[seg.layer].material
        if seg.bottleneck is None:
            names.append(f"layer{seg.layer}_{layer}")
        else:
            names.append(f"bottleneck{seg.bottleneck}_layer{seg.layer}")
    return names


def segment_sizes(config: Config) -> tuple[list[float], np.ndarray]:
    """Segment end points x (m) and the mesh size (m) there (module docstring).

    ``config`` may be 2D: its laterally averaged stack (:meth:`Config.stack_1d`) is sized.
    """
    stack = config.stack_1d()
    segments = stack.segments()
    length = stack.thickness
    h_bulk, cells_per_strip = for_dimension(config.dim).stack_sizes(config, stack)
    edges = [seg.x0 for seg in segments] + [length]
    sizes = np.full(len(edges), h_bulk)
    for strip in stack.bottlenecks:
        h_strip = min(h_bulk, strip.width / cells_per_strip)
        for i, x in enumerate(edges):
            if strip.x0 - 1e-12 * length <= x <= strip.x1 + 1e-12 * length:
                sizes[i] = min(sizes[i], h_strip)
    # Resolve the drift length of every segment at its ends (cell Peclet number <= 1): the
    # electronic boundary layers of strongly blocking strips are this thin.
    for i, seg in enumerate(segments):
        h_drift = _drift_size(stack, seg)
        sizes[i] = min(sizes[i], h_drift)
        sizes[i + 1] = min(sizes[i + 1], h_drift)
    return edges, sizes


def _drift_size(stack: Config, seg) -> float:
    """The largest cell (m) that resolves segment ``seg``'s drift length (cell Peclet number
    <= 1), at least its length / _MAX_DRIFT_CELLS."""
    return max(stack.drift_length(seg.material.sigma_li), seg.length / _MAX_DRIFT_CELLS)


def _middle_points(config: Config, edges, sizes) -> dict[int, tuple[float, float, float, float]]:
    """Gmsh points (x, y, z (m), size (m)) at the middle of the layer segments whose ends are
    both finer than half the segment's own size (the bulk size, at most the segment's drift
    length, at least its length / _MAX_DRIFT_CELLS), keyed by segment index.

    Why: Gmsh interpolates a line's size between its two end points only, so a layer between
    two fine ends was meshed at their size all through. Stack 148 of bench/stress1d.py (seed
    18) has a 40 um layer between two strips, meshed at 1e-10 m: 105 698 cells, still 26 432
    (above solver.max_cells) after coarsening the sizes 4 times, and the loop stopped on the
    cell cap before its first refinement. Through the middle point the size grades up to the
    layer's own and back. Strips keep their sizing (mesh.bottleneck_cells across them)."""
    stack = config.stack_1d()
    h_bulk = for_dimension(config.dim).stack_sizes(config, stack)[0]
    middles = {}
    for i, seg in enumerate(stack.segments()):
        if seg.bottleneck is not None:
            continue
        h_seg = min(h_bulk, _drift_size(stack, seg))
        if seg.length > 2.0 * h_seg and 2.0 * max(sizes[i], sizes[i + 1]) < h_seg:
            middles[i] = (0.5 * (edges[i] + edges[i + 1]), 0.0, 0.0, float(h_seg))
    return middles


def build_line_model(model, config: Config, name: str = "separator1d"):
    """Add the 1D separator of ``config`` to the Gmsh ``model`` and mesh it.

    Args:
        model: ``gmsh.model`` (Gmsh must be initialised).
        config: validated configuration with ``dim = 1``.
        name: Gmsh model name.

    Returns:
        The model, meshed, with the physical groups described in the module docstring.
    """
    model.add(name)
    edges, sizes = segment_sizes(config)
    points = [model.geo.addPoint(x, 0.0, 0.0, float(h)) for x, h in zip(edges, sizes)]
    middles = _middle_points(config, edges, sizes)
    lines = []
    for i, (p, q) in enumerate(zip(points[:-1], points[1:])):
        if i in middles:
            m = model.geo.addPoint(*middles[i])
            lines.append([model.geo.addLine(p, m), model.geo.addLine(m, q)])
        else:
            lines.append([model.geo.addLine(p, q)])
    model.geo.synchronize()

    for i, (line, label) in enumerate(zip(lines, segment_names(config))):
        model.addPhysicalGroup(1, line, tag=i + 1, name=label)
    model.addPhysicalGroup(0, [points[0]], tag=CATHODE, name="cathode")
    model.addPhysicalGroup(0, [points[-1]], tag=ANODE, name="anode")
    for i, x in enumerate(config.interfaces):
        k = int(np.argmin(np.abs(np.array(edges) - x)))
        model.addPhysicalGroup(0, [points[k]], tag=INTERFACE0 + i, name=f"interface{i}")
    model.mesh.generate(1)
    if config.solver.adaptive:  # without refinement the first mesh is the answer's
        leave_room(model, config.solver.max_cells, dim=1, above=1.0)
    return model


def tag_points(msh, config: Config):
    """Vertex tags of a 1D mesh: cathode, anode and the layer interfaces (located by x).

    Each point tags one vertex: the nearest one within 1e-9 L (over all ranks). Why: the
    adaptive loop puts vertices closer than that to an electrode (cells of 1e-19 m in a
    boundary layer); tagged too, they became Dirichlet nodes at mu_cathode, 2e-13 m of
    cathode held flat, and the EAFE current was read from their cells (bench/stress1d.py
    seed 16, stack 7: t_Li 6e-7 where exact 1.6e-19)."""
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    points = [(0.0, CATHODE), (config.thickness, ANODE)]
    points += [(x, INTERFACE0 + i) for i, x in enumerate(config.interfaces)]
    tol = 1e-9 * config.thickness
    msh.topology.create_entities(0)
    indices, values = [], []
    for x0, tag in points:
        found = dmesh.locate_entities(msh, 0, lambda x, x0=x0: np.abs(x[0] - x0) < tol)
        dist = np.abs(dmesh.compute_midpoints(msh, 0, found)[:, 0] - x0)
        nearest = msh.comm.allreduce(float(dist.min(initial=np.inf)), op=MPI.MIN)
        found = found[dist <= nearest]
        indices.append(found)
        values.append(np.full(len(found), tag, dtype=np.int32))
    indices = np.concatenate(indices).astype(np.int32)
    order = np.argsort(indices)
    return dmesh.meshtags(msh, 0, indices[order], np.concatenate(values)[order])


def refine_line(smesh, cells: np.ndarray, config: Config, splits: np.ndarray | None = None):
    """Split the marked local cells of a distributed 1D mesh; returns a new SeparatorMesh.

    The interval mesh is small (at most ``solver.max_cells``), so it is rebuilt: rank 0 gathers
    the owned cells, inserts the midpoints of the marked ones and the new mesh is distributed
    with the shared-facet partitioner. This works on any number of ranks (DOLFINx's interval
    refinement rejects ghosted meshes) and gives the same mesh on 1 and N ranks.

    Args:
        smesh: the current mesh and tags (cell tag = segment index + 1).
        cells: local indices of the owned cells to split.
        config: the configuration (interface positions for the point tags).
        splits: number of equal parts for each of ``cells`` (default 2: bisection).
    """
    from fem_sse.geometry import SeparatorMesh

    msh = smesh.mesh
    owned = msh.topology.index_map(1).size_local
    marked = np.zeros(owned, dtype=np.int32)  # parts per cell, 0 = unmarked
    marked[cells] = 2 if splits is None else splits
    ends, tags, marked = _gather_cells(smesh, marked)
    nodes = parents = None
    if msh.comm.rank == 0:
        new_nodes = [a + (b - a) * np.arange(1, k) / k
                     for (a, b), k in zip(ends[marked > 1], marked[marked > 1], strict=True)]
        nodes = np.unique(np.concatenate([ends.ravel(), *new_nodes]))
        parents = ends[:, 0]
    new = _line_mesh(msh.comm, config, nodes, parents, tags)
    return SeparatorMesh(*new, smesh.regions, smesh.facet_groups, smesh.info)


def add_points(smesh, config: Config, points: np.ndarray):
    """The 1D mesh through the nodes of ``smesh`` and ``points`` (m, the same on every rank);
    a new SeparatorMesh, identical on 1 and N ranks (see :func:`refine_line`)."""
    from fem_sse.geometry import SeparatorMesh

    msh = smesh.mesh
    owned = msh.topology.index_map(1).size_local
    ends, tags, _ = _gather_cells(smesh, np.zeros(owned, dtype=np.int32))
    nodes = parents = None
    if msh.comm.rank == 0:
        inside = points[(points > ends[0, 0]) & (points < ends[-1, 1])]
        nodes = np.unique(np.concatenate([ends.ravel(), inside]))
        parents = ends[:, 0]
    new = _line_mesh(msh.comm, config, nodes, parents, tags)
    return SeparatorMesh(*new, smesh.regions, smesh.facet_groups, smesh.info)


def _gather_cells(smesh, marked: np.ndarray):
    """(cell end points (n, 2), cell tags, ``marked``) of the owned cells of all ranks, sorted
    by x, on rank 0 (None elsewhere)."""
    msh = smesh.mesh
    owned = msh.topology.index_map(1).size_local
    x = msh.geometry.x[:, 0]
    from fem_sse import compat

    ends = np.sort(x[compat.geometry_dofmap(msh)[:owned]], axis=1)
    tag_of = np.zeros(owned + msh.topology.index_map(1).num_ghosts, dtype=np.int32)
    tag_of[smesh.cell_tags.indices] = smesh.cell_tags.values
    rows = gather_arrays(msh.comm, ends, tag_of[:owned], marked)
    if rows is None:
        return None, None, None
    ends, tags, marked = rows
    order = np.argsort(ends[:, 0])
    return ends[order], tags[order], marked[order]


def uniform_line(config: Config, comm, cells: int):
    """A 1D mesh of ``cells`` equal cells plus the segment end points (for uniform studies).

    Returns:
        (mesh, cell_tags, point_tags) with the tags of :func:`build_line_model`.
    """
    nodes = parents = tags = None
    if comm.rank == 0:
        segments = config.segments()
        parents = np.array([seg.x0 for seg in segments])
        tags = np.arange(1, len(segments) + 1, dtype=np.int32)
        nodes = np.unique(np.concatenate([np.linspace(0.0, config.thickness, cells + 1),
                                          parents, [config.thickness]]))
    return _line_mesh(comm, config, nodes, parents, tags)


def _line_mesh(comm, config: Config, nodes, parents, parent_tags):
    """Distributed interval mesh through ``nodes`` (given on rank 0) with the tag of the parent
    interval (left ends ``parents``) that holds each new cell, and the point tags."""
    import basix.ufl
    import ufl
    from dolfinx import mesh as dmesh

    from fem_sse import compat

    if comm.rank == 0:
        mids = 0.5 * (nodes[:-1] + nodes[1:])
        new_tags = parent_tags[np.searchsorted(parents, mids, side="right") - 1]
        topology = np.column_stack([np.arange(len(nodes) - 1), np.arange(1, len(nodes))])
        coords = nodes.reshape(-1, 1)
    else:
        new_tags = None
        topology = np.empty((0, 2), dtype=np.int64)
        coords = np.empty((0, 1))
    new_tags = comm.bcast(new_tags, root=0)
    # the coordinate element of Gmsh-read meshes (equispaced P1): compiled forms carry it
    element = ufl.Mesh(basix.ufl.element("Lagrange", "interval", 1, shape=(1,),
                                         lagrange_variant=basix.LagrangeVariant.equispaced))
    new = compat.create_mesh(comm, topology.astype(np.int64), coords, element,
                             compat.shared_facet_partitioner())
    local = new.topology.index_map(1).size_local + new.topology.index_map(1).num_ghosts
    original = np.asarray(new.topology.original_cell_index)[:local]
    cell_tags = dmesh.meshtags(new, 1, np.arange(local, dtype=np.int32),
                               new_tags[original].astype(np.int32))
    new.topology.create_connectivity(0, 1)
    return new, cell_tags, tag_points(new, config)
