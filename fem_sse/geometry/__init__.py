"""Geometry: Gmsh builders (run on one rank) and their conversion to distributed DOLFINx meshes.

``dim = 1``: a line (:mod:`.line`). ``dim = 2``: layered stacks, Voronoi grains, GB strips or
interfaces, pores, cracks, partial anode contact and asperities (:mod:`.plane`), or a user's own
mesh (:mod:`.usermesh`). Naming convention, tag ids and the region table: :mod:`.regions` and
docs/geometry.md. :func:`build_mesh` / :class:`SeparatorMesh` / :func:`write_msh`:
:mod:`.build`.

A light package: its names are imported on first use (:mod:`fem_sse.lazy`), so importing it
(e.g. for :mod:`.regions`) imports no builder, Gmsh or DOLFINx.
"""

from fem_sse.lazy import lazy_exports

__all__ = ["MeshError", "Region", "SeparatorMesh", "build_mesh", "write_msh"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "MeshError": "regions", "Region": "regions",
    "SeparatorMesh": "build", "build_mesh": "build", "write_msh": "build"})
