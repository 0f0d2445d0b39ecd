"""Crack lines cut open in the Gmsh mesh: each ``crack<k>`` becomes two boundaries.

A crack line is a zero-thickness cut that carries no current (docs/transport2d.md). The W
formulation keeps the mesh whole and couples nothing across the crack's facets (w and W are
discontinuous there). A nodal scheme (the 2D EAFE scheme, :mod:`fem_sse.transport.eafe2d`)
has one unknown per vertex: a vertex on a crack would join the two sides. Cutting the mesh
gives the cells on each side their own vertices along the crack, so the crack's two lips are
ordinary no-flux boundaries, tagged ``crack<k>`` like the crack.

Only a crack whose mesh edges all lie between two triangles is cut (a ``"slit"`` crack is a
cut-out whose outline, also ``crack<k>``, is a boundary already: the plugin run on it left
nodes that belong to no cell, and the partitioner aborted). Gmsh's Crack plugin duplicates the
crack's nodes, except at its ends (crack tips, where the two lips meet) unless an end lies on
the outer boundary or a pore outline (an edge crack): its node is duplicated too, so the crack
opens there.
"""

from __future__ import annotations

__all__ = ["cut_crack_lines"]

_OPEN_ENDS_TAG = 99_999  # a temporary physical group of the crack ends on a boundary
_BOUNDARY_GROUPS = ("cathode", "anode", "free_surface", "side_y0", "side_y1")


def _boundary_points(model, facet_groups: dict[str, int]) -> set[int]:
    """Gmsh points on the outer boundary or on a pore outline."""
    points = set()
    for name, tag in facet_groups.items():
        if name in _BOUNDARY_GROUPS or name.startswith("pore"):
            for curve in model.getEntitiesForPhysicalGroup(1, tag):
                ends = model.getBoundary([(1, int(curve))], oriented=False)
                points.update(int(p) for _, p in ends)
    return points


def _crack_ends(model, tag: int) -> set[int]:
    curves = [(1, int(c)) for c in model.getEntitiesForPhysicalGroup(1, tag)]
    return {int(p) for _, p in model.getBoundary(curves, combined=True, oriented=False)}


def _interior(model, tag: int) -> bool:
    """True when every mesh edge of physical group ``tag`` lies between two triangles (a crack
    line); a slit's outline (``kind = "slit"``, a cut-out) is a boundary already."""
    import numpy as np

    curves = model.getEntitiesForPhysicalGroup(1, tag)
    edges = [np.concatenate(model.mesh.getElements(1, int(c))[2]) for c in curves]
    edges = np.sort(np.concatenate(edges).reshape(-1, 2), axis=1)
    _, _, nodes = model.mesh.getElements(2)
    tri = np.concatenate(nodes).reshape(-1, 3)
    sides = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]), axis=1)
    unique, counts = np.unique(sides, axis=0, return_counts=True)
    index = {tuple(e): c for e, c in zip(unique.tolist(), counts.tolist())}
    return all(index.get(tuple(e), 0) == 2 for e in edges.tolist())


def cut_crack_lines(gmsh, facet_groups: dict[str, int]) -> int:
    """Cut every ``crack<k>`` facet group of the current Gmsh mesh that lies inside the mesh
    (a crack line; a slit's outline is a boundary already) open (module docstring); the new
    lips join the crack's physical group. Returns the number of nodes added."""
    model = gmsh.model
    cracks = sorted(tag for name, tag in facet_groups.items()
                    if name.startswith("crack") and _interior(model, tag))
    if not cracks:
        return 0
    before = len(model.mesh.getNodes()[0])
    boundary = _boundary_points(model, facet_groups)
    for tag in cracks:
        open_ends = sorted(_crack_ends(model, tag) & boundary)
        if open_ends:
            model.addPhysicalGroup(0, open_ends, _OPEN_ENDS_TAG)
        for key, value in (("Dimension", 1), ("PhysicalGroup", tag), ("NewPhysicalGroup", tag),
                           ("OpenBoundaryPhysicalGroup", _OPEN_ENDS_TAG if open_ends else 0),
                           ("NormalX", 0), ("NormalY", 0), ("NormalZ", 1), ("DebugView", 0)):
            gmsh.plugin.setNumber("Crack", key, value)
        gmsh.plugin.run("Crack")
        if open_ends:
            model.removePhysicalGroups([(0, _OPEN_ENDS_TAG)])
    # DOLFINx reads the nodes as 1..N: the plugin appends its duplicates with new tags
    model.mesh.renumberNodes()
    model.mesh.renumberElements()
    return len(model.mesh.getNodes()[0]) - before
