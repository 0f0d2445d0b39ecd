"""Every DOLFINx-version difference of fem_sse lives here.

Tested on DOLFINx 0.9 (trixie lane) and 0.11 (sid lane, ``FEM_SSE_SUITE=sid``); the 0.10
branches follow the 0.10 sources. One function per difference, named after what it does, with
a docstring saying which versions do what; callers never branch on versions.
"""

from __future__ import annotations

import dolfinx
import dolfinx.fem.petsc
import dolfinx.mesh
import numpy as np

from fem_sse import jitguard

__all__ = [
    "DOLFINX_VERSION",
    "create_vector",
    "geometry_degree",
    "geometry_dofmap",
    "gmsh_model_to_mesh",
    "interpolate_nonmatching",
    "locate_parents",
    "create_mesh",
    "interpolation_points",
    "refine_edges_with_parent_cells",
    "refine_with_parent_cells",
    "shared_facet_partitioner",
]

DOLFINX_VERSION: tuple[int, int] = tuple(int(p) for p in dolfinx.__version__.split(".")[:2])

# every module that compiles forms imports this one: DOLFINx's JIT is guarded from here on
# (Ctrl-C held during a compile, stale locks of killed compiles removed: fem_sse.jitguard)
jitguard.install()


def shared_facet_partitioner():
    """Cell partitioner with shared-facet ghosts.

    Interior-facet (dS) integrals over grain and phase boundaries are then correct in parallel.
    DOLFINx >= 0.11 also takes ``max_facet_to_cell_links`` (2: a non-branching manifold mesh,
    which every fem_sse mesh is); 0.9 and 0.10 take the ghost mode only.
    """
    mode = dolfinx.mesh.GhostMode.shared_facet
    if DOLFINX_VERSION >= (0, 11):
        return dolfinx.mesh.create_cell_partitioner(mode, 2)
    return dolfinx.mesh.create_cell_partitioner(mode)


def gmsh_model_to_mesh(model, comm, rank: int, gdim: int):
    """(mesh, cell_tags, facet_tags) from a Gmsh model that lives on ``rank``.

    DOLFINx 0.9: ``dolfinx.io.gmshio.model_to_mesh`` returns that tuple; 0.10 on:
    ``dolfinx.io.gmsh.model_to_mesh`` returns a ``MeshData`` named tuple.
    """
    partitioner = shared_facet_partitioner()
    if DOLFINX_VERSION >= (0, 10):
        from dolfinx.io import gmsh as gmshio

        data = gmshio.model_to_mesh(model, comm, rank, gdim=gdim, partitioner=partitioner)
        return data.mesh, data.cell_tags, data.facet_tags
    from dolfinx.io import gmshio

    return gmshio.model_to_mesh(model, comm, rank, gdim=gdim, partitioner=partitioner)


def refine_with_parent_cells(msh, cells: np.ndarray):
    """Refine the marked cells of a triangle mesh (their edges and Plaza's closure); returns
    (mesh, parent_cell). Interval meshes are rebuilt instead (geometry/line.refine_line).

    Same call on 0.9 to 0.11 (``refine`` returns (mesh, parent_cell, parent_facet)); kept here
    because its partitioner is the versioned :func:`shared_facet_partitioner`.
    """
    msh.topology.create_entities(1)
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim, 1)
    c2e = msh.topology.connectivity(tdim, 1)
    cells = np.asarray(cells, dtype=np.int32)  # may be empty on some ranks
    edges = np.unique(c2e.array.reshape(len(c2e.offsets) - 1, -1)[cells]).astype(np.int32)
    return refine_edges_with_parent_cells(msh, edges)


def refine_edges_with_parent_cells(msh, edges: np.ndarray):
    """Refine the marked (local) edges and Plaza's closure; returns (mesh, parent_cell)."""
    msh.topology.create_entities(1)
    edges = np.asarray(edges, dtype=np.int32)
    option = dolfinx.mesh.RefinementOption.parent_cell
    refined = dolfinx.mesh.refine(msh, edges, partitioner=shared_facet_partitioner(),
                                  option=option)
    return refined[0], refined[1]


def interpolation_points(V) -> np.ndarray:
    """Reference points at which an Expression must be evaluated to interpolate into ``V``.

    A method of ``V.element`` in DOLFINx 0.9, a property from 0.10 on.
    """
    points = V.element.interpolation_points
    return points() if DOLFINX_VERSION < (0, 10) else points


#: the span (units) meshes are scaled to while parents of refined cells are located: DOLFINx's
#: point location accepts the first candidate cell within a squared distance of 1e-12 (a
#: distance of 1e-6 units), so a child midpoint lands in its own parent when the cells are
#: larger than about 1e-6 / PARENT_SPAN of the domain
PARENT_SPAN = 1e4


def interpolate_nonmatching(u_to, u_from, span: float = 1.0) -> None:
    """u_to <- u_from where the two live on different meshes of the same domain.

    Same call on 0.9 to 0.11 (``create_interpolation_data`` + ``interpolate_nonmatching``).
    The point location behind it accepts the first candidate cell whose distance to a point is
    below 1e-6 (absolute units): on meshes measured in metres every cell of a micrometre
    separator is "within reach" (measured: a third of the points of a 2D separator mesh went
    to neighbouring cells). Both meshes are therefore scaled to span ``span`` units while the
    data is built, and restored exactly afterwards.

    ``span`` = 1 (unit size) suits fields at vertices, whose points lie on cell boundaries:
    there a neighbour is as good, and a larger span made DOLFINx's GJK distance fail ("max
    iteration limit reached", a W state transfer of stress2d 1:42 at span 1e4). Parents of
    refined cells (:func:`locate_parents`) need the larger :data:`PARENT_SPAN`.
    """
    V_to = u_to.function_space
    meshes = [V_to.mesh, u_from.function_space.mesh]
    cell_map = V_to.mesh.topology.index_map(V_to.mesh.topology.dim)
    cells = np.arange(cell_map.size_local + cell_map.num_ghosts, dtype=np.int32)
    saved = [m.geometry.x.copy() for m in meshes]
    local = max(float(np.abs(x).max(initial=0.0)) for x in saved)
    extent = V_to.mesh.comm.allreduce(local, op=_mpi_max()) or 1.0
    try:
        for m in meshes:
            m.geometry.x[:] *= span / extent
        data = dolfinx.fem.create_interpolation_data(V_to, u_from.function_space, cells,
                                                     padding=1e-10 * span)
        u_to.interpolate_nonmatching(u_from, cells, data)  # the data holds scaled points
    finally:
        for m, x in zip(meshes, saved):
            m.geometry.x[:] = x
    u_to.x.scatter_forward()


def locate_parents(u_to, u_from) -> None:
    """:func:`interpolate_nonmatching` of a cellwise (DG0) ``u_from`` into the DG0 ``u_to`` of
    a refinement of its mesh: each child's midpoint, strictly inside its parent, takes the
    parent's values, also for children far below a micrometre (:data:`PARENT_SPAN`; at unit
    size, 1 682 of 43 590 children at 5e-11 m in a 51 um stack took a neighbour's tags, and
    grain-boundary facets were lost)."""
    interpolate_nonmatching(u_to, u_from, span=PARENT_SPAN)


def _mpi_max():
    from mpi4py import MPI

    return MPI.MAX


def create_vector(form):
    """A PETSc vector for the linear form ``form``.

    DOLFINx 0.9: ``create_vector(form)``; 0.10 on: ``create_vector(function_space)``.
    """
    if DOLFINX_VERSION >= (0, 10):
        return dolfinx.fem.petsc.create_vector(form.function_spaces[0])
    return dolfinx.fem.petsc.create_vector(form)


def create_mesh(comm, cells: np.ndarray, x: np.ndarray, element, partitioner):
    """``dolfinx.mesh.create_mesh`` with the arguments in one order.

    DOLFINx 0.9 takes (comm, cells, x, element, partitioner); 0.10 on (comm, cells, element, x,
    partitioner).
    """
    if DOLFINX_VERSION >= (0, 10):
        return dolfinx.mesh.create_mesh(comm, cells, element, x, partitioner=partitioner)
    return dolfinx.mesh.create_mesh(comm, cells, x, element, partitioner=partitioner)


def geometry_dofmap(msh) -> np.ndarray:
    """Geometry nodes of every cell, shape (num_cells, nodes_per_cell).

    ``mesh.geometry.dofmap`` up to 0.10; deprecated on 0.11 for ``mesh.geometry.dofmaps[0]``.
    """
    if DOLFINX_VERSION >= (0, 11):
        return msh.geometry.dofmaps[0]
    return msh.geometry.dofmap


def geometry_degree(msh) -> int:
    """Polynomial degree of the mesh's coordinate element (1: affine cells). DOLFINx 0.11:
    ``geometry.cmaps[0]`` (``geometry.cmap`` deprecated); 0.9 and 0.10: ``geometry.cmap``."""
    if DOLFINX_VERSION >= (0, 11):
        return msh.geometry.cmaps[0].degree
    return msh.geometry.cmap.degree
