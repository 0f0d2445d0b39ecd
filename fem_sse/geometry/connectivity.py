"""Is there a conducting path from the cathode to the anode? Checked on the Gmsh mesh before
any solve (rank 0).

Cells conduct to their neighbours across shared edges, except across crack lines (``crack<k>``
facets: no current of either carrier crosses them, :mod:`fem_sse.transport.ionic`). A separator
cut in two (a crack or a pore across the whole width, a user mesh split by a pore) has no piece that
touches both electrodes: the ionic conductance is zero and no steady state exists, so the
solver would divide by zero or return absurd potentials. A piece touching neither electrode
(floating) leaves its potentials undefined (a singular system). Both are one-line
:class:`~fem_sse.geometry.regions.MeshError`\\ s.
"""

from __future__ import annotations

import numpy as np

from fem_sse.geometry.regions import MeshError

__all__ = ["check_conducting_path", "pieces"]

#: corner count of the Gmsh 2D element types (3-node, 6-node triangles; 4-, 8-, 9-node quads)
_CORNERS = {2: 3, 9: 3, 3: 4, 16: 4, 10: 4}


def _cell_edges(model) -> tuple[np.ndarray, np.ndarray]:
    """(edges (n, 2) sorted node tags, cell index of each edge) of every 2D element in a
    physical group (the cells the DOLFINx mesh will have)."""
    corners, edges, owners = [], [], []
    start = 0
    for dim, tag in model.getPhysicalGroups(2):
        for entity in model.getEntitiesForPhysicalGroup(dim, tag):
            types, _, nodes = model.mesh.getElements(2, int(entity))
            for etype, enodes in zip(types, nodes, strict=True):
                k = _CORNERS.get(int(etype))
                if k is None:
                    raise MeshError("geometry", f"unsupported Gmsh 2D element type {etype}")
                cells = np.asarray(enodes, dtype=np.int64).reshape(-1, _nodes_per(etype))[:, :k]
                corners.append(cells)
    if not corners:
        raise MeshError("geometry", "the mesh has no 2D cells in a physical group")
    for cells in corners:
        k = cells.shape[1]
        pairs = np.stack([cells, np.roll(cells, -1, axis=1)], axis=2).reshape(-1, 2)
        edges.append(np.sort(pairs, axis=1))
        owners.append(np.repeat(np.arange(start, start + len(cells)), k))
        start += len(cells)
    return np.concatenate(edges), np.concatenate(owners)


def _nodes_per(etype: int) -> int:
    import gmsh

    return gmsh.model.mesh.getElementProperties(int(etype))[3]


def _facet_edges(model, tag: int) -> np.ndarray:
    """Sorted (end node, end node) pairs of the line elements of facet physical group ``tag``."""
    pairs = []
    for entity in model.getEntitiesForPhysicalGroup(1, tag):
        types, _, nodes = model.mesh.getElements(1, int(entity))
        for etype, enodes in zip(types, nodes, strict=True):
            lines = np.asarray(enodes, dtype=np.int64).reshape(-1, _nodes_per(etype))[:, :2]
            pairs.append(np.sort(lines, axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)


def _keys(pairs: np.ndarray, base: int) -> np.ndarray:
    return pairs[:, 0] * base + pairs[:, 1]


def pieces(model, facet_groups: dict[str, int]) -> dict:
    """Connected pieces of the 2D mesh (crack lines cut), and which electrodes each touches.

    Returns:
        {"count": number of pieces, "cathode": pieces touching it (set), "anode": the same,
        "cells": cells per piece (array)}.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges, owner = _cell_edges(model)
    base = int(edges.max()) + 1
    unique, edge_id = np.unique(_keys(edges, base), return_inverse=True)

    def marked(tag: int) -> np.ndarray:  # which unique edges belong to facet group ``tag``
        group = _keys(_facet_edges(model, tag), base)
        index = np.searchsorted(unique, group).clip(max=len(unique) - 1)
        mark = np.zeros(len(unique), dtype=bool)
        mark[index[unique[index] == group]] = True
        return mark

    cut = np.zeros(len(unique), dtype=bool)
    for name, tag in facet_groups.items():
        if name.startswith("crack"):
            cut |= marked(tag)
    keep = ~cut[edge_id]
    n_cells = int(owner[-1]) + 1
    # bipartite graph cell -- edge: two cells are joined when they share an edge that is no cut
    graph = coo_matrix((np.ones(int(keep.sum())), (owner[keep], n_cells + edge_id[keep])),
                       shape=(n_cells + len(unique),) * 2)
    _, label = connected_components(graph, directed=False)
    present = np.zeros(int(label.max()) + 1, dtype=bool)
    present[label[:n_cells]] = True
    cell_piece = (np.cumsum(present) - 1)[label[:n_cells]]  # pieces numbered 0, 1, ...
    count = int(present.sum())
    touching = {side: {int(p) for p in np.unique(cell_piece[owner[marked(facet_groups[side])
                                                                   [edge_id]]])}
                for side in ("cathode", "anode")}
    return {"count": count, "cathode": touching["cathode"], "anode": touching["anode"],
            "cells": np.bincount(cell_piece, minlength=count)}


def check_conducting_path(model, facet_groups: dict[str, int], where: str = "geometry") -> None:
    """Raise :class:`MeshError` when no piece of the 2D mesh touches both electrodes, or a
    piece touches neither (calling rank, on the meshed Gmsh model)."""
    found = pieces(model, facet_groups)
    if not found["cathode"] & found["anode"]:
        fix = ("join the pieces in the mesh file" if where.endswith("mesh_file") else
               "shorten the crack or move the pore")  # a user mesh has no such keys
        raise MeshError(where, f"no conducting path from the cathode to the anode: the "
                        f"separator falls into {found['count']} pieces (a crack, slit or pore "
                        f"across its whole width?) and none touches both electrodes; {fix}")
    floating = set(range(found["count"])) - found["cathode"] - found["anode"]
    if floating:
        cells = int(sum(found["cells"][p] for p in floating))
        raise MeshError(where, f"{len(floating)} piece(s) of the separator ({cells} cells) "
                        "touch neither electrode (enclosed by cracks or pores: their potentials "
                        "are undefined); remove or reconnect them")
