"""Partition-independent mesh work: a canonical serial copy of a tagged 2D mesh and a DG1 field.

The refinement at the fronts and the fitting of the elastic mesh to them (:mod:`.fronts`,
:mod:`.fit`) use Plaza refinement, whose closure and tie-breaks follow the local numbering and
the partition; the fitted mesh (and the peaks read on it) then depended on the number of ranks
and, after a restart, on how the checkpoint's mesh was re-partitioned on read (issue 17: the
same 2-rank restart gave peaks 5.5e-7 apart, 1 vs 2 ranks 0.3 % apart). Here the work is done
on a copy that depends only on the mesh's geometry, tags and field values:

1. every rank sends its owned cells (vertex coordinates, cell tag, the tags of the three facets,
   the field at the three vertices) to rank 0;
2. rank 0 numbers the vertices by their coordinates (lexicographic), orders each cell's
   vertices by that number and the cells by their vertex numbers, builds the mesh on
   ``MPI.COMM_SELF`` and runs the work there;
3. the result is made canonical the same way and distributed from rank 0 (``create_mesh``
   with all cells on rank 0; cell tags through ``original_cell_index``, facet tags through
   ``distribute_entity_data``, the field per cell by matching vertex coordinates).

The same transport mesh thus gives the same fitted mesh on 1 and N ranks, before and after a
restart; only the partition of the elastic solve differs (round-off).
"""

from __future__ import annotations

import numpy as np
from dolfinx import fem
from mpi4py import MPI

from fem_sse import compat

__all__ = ["on_canonical_copy"]

_NV = 3  # vertices (and facets) of a triangle


def _dof_order(V, num: int) -> np.ndarray:
    """Per cell: the DG1 dof at each geometry vertex (index 0..2 into the cell's dofs)."""
    nodes = compat.geometry_dofmap(V.mesh)[:num, :_NV]
    verts = V.mesh.geometry.x[nodes, :2]  # (num, 3, 2)
    dofs = V.tabulate_dof_coordinates()[V.dofmap.list[:num], :2]  # (num, 3, 2)
    gap = np.linalg.norm(verts[:, :, None, :] - dofs[:, None, :, :], axis=-1)
    return np.argmin(gap, axis=2)


def _local_arrays(smesh, level: fem.Function):
    """Owned cells: vertex coordinates (m, (n, 3, 2)), cell tag (0: none), tag of the facet
    opposite each vertex (0: none) and the field at each vertex."""
    msh = smesh.mesh
    V = level.function_space
    if V.dofmap.list.shape[1] != _NV:
        raise ValueError("the level field must be DG1 on triangles")
    msh.topology.create_connectivity(2, 1)
    owned = msh.topology.index_map(2).size_local
    coords = msh.geometry.x[compat.geometry_dofmap(msh)[:owned, :_NV], :2]
    cell_tag = np.zeros(owned, dtype=np.int32)
    keep = smesh.cell_tags.indices < owned
    cell_tag[smesh.cell_tags.indices[keep]] = smesh.cell_tags.values[keep]
    fmap = msh.topology.index_map(1)
    facet_tag = np.zeros(fmap.size_local + fmap.num_ghosts, dtype=np.int32)
    facet_tag[smesh.facet_tags.indices] = smesh.facet_tags.values
    c2f = msh.topology.connectivity(2, 1).array.reshape(-1, _NV)[:owned]
    dofs = np.take_along_axis(V.dofmap.list[:owned], _dof_order(V, owned), axis=1)
    return coords, cell_tag, facet_tag[c2f], level.x.array[dofs]


def _canonical(parts):
    """(vertices sorted by coordinates, cells (sorted vertex numbers, rows sorted), cell tags,
    facet tags and field values permuted alike) from the gathered parts."""
    coords, cell_tag, facet_tag, values = (np.concatenate(p) for p in zip(*parts, strict=True))
    verts, cells = np.unique(coords.reshape(-1, 2), axis=0, return_inverse=True)
    cells = cells.reshape(-1, _NV)
    order = np.argsort(cells, axis=1)
    cells, facet_tag, values = (np.take_along_axis(a, order, axis=1)
                                for a in (cells, facet_tag, values))
    rows = np.lexsort(cells.T[::-1])
    return verts, cells[rows], cell_tag[rows], facet_tag[rows], values[rows]


def _gather(smesh, level, comm):
    """The canonical arrays on rank 0 (None elsewhere)."""
    parts = comm.gather(_local_arrays(smesh, level), root=0)
    return _canonical(parts) if comm.rank == 0 else None


def _build(comm, data, template, element):
    """(SeparatorMesh, DG1 field) on ``comm`` from the canonical arrays given on rank 0."""
    import dolfinx.graph
    import dolfinx.io
    from dolfinx import mesh as dmesh

    from fem_sse.geometry import SeparatorMesh

    if comm.rank == 0:
        verts, cells, cell_tag, facet_tag, values = data
        pairs = [cells[:, [(k + 1) % _NV, (k + 2) % _NV]] for k in range(_NV)]
        pairs, facet_values = np.concatenate(pairs), facet_tag.T.ravel()
        tagged = facet_values > 0
        pairs, first = np.unique(np.sort(pairs[tagged], axis=1), axis=0, return_index=True)
        facet_values = facet_values[tagged][first]
    else:
        verts, cells = np.zeros((0, 2)), np.zeros((0, _NV), dtype=np.int64)
        pairs, facet_values = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int32)
    msh = compat.create_mesh(comm, cells.astype(np.int64), verts, element,
                             compat.shared_facet_partitioner())
    per_cell = comm.bcast(None if comm.rank else (verts[cells], cell_tag, values), root=0)
    cmap = msh.topology.index_map(2)
    num = cmap.size_local + cmap.num_ghosts
    original = msh.topology.original_cell_index
    original = np.asarray(original[0] if isinstance(original, list) else original,
                          dtype=np.int64)[:num]
    tags = per_cell[1][original]
    keep = np.flatnonzero(tags > 0).astype(np.int32)
    cell_tags = dmesh.meshtags(msh, 2, keep, tags[keep].astype(np.int32))
    msh.topology.create_entities(1)
    msh.topology.create_connectivity(1, 2)
    entities, ent_values = dolfinx.io.distribute_entity_data(
        msh, 1, pairs.astype(np.int64), facet_values.astype(np.int32))
    facet_tags = dmesh.meshtags_from_entities(
        msh, 1, dolfinx.graph.adjacencylist(entities.astype(np.int32)),
        ent_values.astype(np.int32))
    level = _field(msh, per_cell[0][original], per_cell[2][original], num)
    smesh = SeparatorMesh(msh, cell_tags, facet_tags, template.regions, template.facet_groups,
                          template.info)
    return smesh, level


def _field(msh, saved_verts, saved_values, num: int) -> fem.Function:
    """DG1 field whose value at each cell vertex is the saved value at that vertex."""
    V = fem.functionspace(msh, ("DG", 1))
    level = fem.Function(V, name="level")
    nodes = compat.geometry_dofmap(msh)[:num, :_NV]
    mine = msh.geometry.x[nodes, :2]
    gap = np.linalg.norm(mine[:, :, None, :] - saved_verts[:, None, :, :], axis=-1)
    values = np.take_along_axis(saved_values, np.argmin(gap, axis=2), axis=1)
    dofs = np.take_along_axis(V.dofmap.list[:num], _dof_order(V, num), axis=1)
    level.x.array[dofs] = values
    level.x.scatter_forward()
    return level


def on_canonical_copy(smesh, level: fem.Function, work):
    """Run ``work(smesh, level) -> (smesh, level, *extra)`` on the canonical serial copy of
    ``smesh`` and its DG1 ``level`` field (rank 0, ``MPI.COMM_SELF``), and distribute its result.

    Args:
        smesh: the tagged 2D mesh (any number of ranks).
        level: a DG1 field on it (any unit: carried as is).
        work: the mesh work; its extra results must be the same on every rank of a serial run
            (they are broadcast from rank 0).

    Returns:
        (SeparatorMesh on ``smesh.mesh.comm``, DG1 field on it, *extra).
    """
    import ufl

    comm = smesh.mesh.comm
    element = ufl.Mesh(smesh.mesh.ufl_domain().ufl_coordinate_element())
    data = _gather(smesh, level, comm)
    outcome = None
    if comm.rank == 0:
        try:
            serial, serial_level = _build(MPI.COMM_SELF, data, smesh, element)
            serial, serial_level, *extra = work(serial, serial_level)
            data = _canonical([_local_arrays(serial, serial_level)])
            outcome = list(extra)
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            outcome = exc
    outcome = comm.bcast(outcome, root=0)
    if isinstance(outcome, Exception):
        raise outcome
    new, new_level = _build(comm, data, smesh, element)
    return (new, new_level, *outcome)
