"""Fit a 2D mesh to the sharp eigenstrain fronts: edges cut by a front are split at the front.

A front is where the level field (DG1 W, or mu_Li0) passes the level of a step of the strain
law (:meth:`step_levels`: mu_half of the two-state law, a few nm wide for the transport
solutions). On a mesh that does not follow it, the displacement (continuous, linear per cell)
cannot follow the step inside a cut cell, and the stress there, and in the cells next to it,
is off by up to half the swing on every mesh: peaks that do not converge (issue 17). Each round:

1. the level, minus the step level of each cell's material, is averaged at the vertices (P1,
   the same on every rank), values within :data:`ON_FRONT` of zero are taken as zero (vertices
   on the front), and every edge whose two vertices differ in sign is cut at the zero
   of the linear interpolant, taken with the vertices ordered by coordinates, so that both cells
   of an edge and every rank compute the same point;
2. the cut edges are refined (Plaza: their midpoints, plus the closure's longest edges) and
   every new vertex that is the midpoint of a cut edge is moved along that edge to its cut
   point. A point on an edge leaves all children of a triangle valid, boundary and interface
   vertices stay on their (straight) facets, and every child still lies inside its parent, so
   tags and the level field are carried over exactly (:func:`fem_sse.geometry.refine2d.carry_tags`,
   :func:`fem_sse.mechanics.fronts.carry_linear`).

Cut points within :data:`T_CUT` of a vertex are left to the snapping step (a cut there makes
needles). Plaza's closure puts new edges across a front (the midpoint of an
uncut longest edge joined to the opposite vertex), so cut cells remain after every round, half
as large each time. A last step snaps them away (:func:`_snap`): an interior vertex (on no
boundary and no tagged facet) whose edge a front cuts within the vertex's half of the edge moves
along that edge onto the front, unless that would flip or flatten a cell; its level value
becomes the step level (it is on the front).
"""

from __future__ import annotations

import logging

import numpy as np
from dolfinx import fem
from dolfinx.la import InsertMode
from mpi4py import MPI

from fem_sse import compat
from fem_sse.mechanics.eigenstrain import cell_materials

__all__ = ["T_MIN", "fit_fronts", "step_levels"]

log = logging.getLogger(__name__)

T_MIN = 1e-3
#: Snap vertices onto the fronts after the cut rounds (:func:`_snap`). Off: it made the mesh
#: depend on the partition, which no longer matters (the fitting runs on the canonical serial
#: copy, :mod:`.canonical`), but tried again on straight fronts on isotropic meshes it fixed
#: some meshes and not others; the cells it would fix are left out of the peaks anyway.
SNAP = False
#: Cuts closer than this fraction of an edge to a vertex are left to the snapping step (a cut
#: there makes needle cells whose strain is not accurate).
T_CUT = 0.15
#: Smallest shape quality 4 sqrt(3) area / (sum of squared edge lengths) (1: equilateral) a
#: snapped cell may have, and the fraction of its quality before the move it must keep.
Q_MIN, Q_KEEP = 0.1, 0.3
#: Vertices whose |level - step| is below this fraction of its largest value are on the front.
#: The cut points of a round are on the front, so their level there is round-off (1e-18 of
#: the largest, measured on the study case) of either sign; an edge joining two of them (Plaza
#: joins the two cut points of a triangle) was then cut at a random point, and the mesh
#: depended on the transport's round-off (1 vs 2 ranks: 14999 vs 15242 cells, peaks 0.5 %).
ON_FRONT = 1e-10
_NV = 3
_EDGES = ((1, 2), (0, 2), (0, 1))  # reference edge k of a triangle: opposite vertex k


def step_levels(names: np.ndarray, config, spec, kind: str) -> np.ndarray:
    """Per cell: the level value of its material's strain-law step (NaN: no step)."""
    out = np.full(len(names), np.nan)
    kT = config.cell.kT  # noqa: N806
    for name in sorted(set(names) - {""}):
        law, mat = spec.materials[name].law, config.materials[name]
        if getattr(law, "kind", "") != "two_state":
            continue
        mu = mat.B if law.mu_half is None else law.mu_half
        out[names == name] = mu if kind == "mu" else mat.kirchhoff(mu, kT)
    return out


def _vertex_level(level: fem.Function, steps: np.ndarray) -> np.ndarray:
    """P1 values (owned + ghost vertices) of level - step, averaged over the owned cells of
    a stepped material that touch each vertex (NaN where none does)."""
    msh = level.function_space.mesh
    n_owned = msh.topology.index_map(2).size_local
    P1 = fem.functionspace(msh, ("Lagrange", 1))  # noqa: N806
    total, count = fem.Function(P1), fem.Function(P1)
    dofs = P1.dofmap.list[:n_owned]
    values = level.x.array[level.function_space.dofmap.list[:n_owned]] - steps[:n_owned, None]
    ok = np.isfinite(values)
    np.add.at(total.x.array, dofs[ok], values[ok])
    np.add.at(count.x.array, dofs[ok], 1.0)
    for f in (total, count):
        f.x.scatter_reverse(InsertMode.add)
        f.x.scatter_forward()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count.x.array > 0, total.x.array / count.x.array, np.nan), P1


def _cut_points(level: fem.Function, steps: np.ndarray):
    """Per local cell, for its 3 edges: (cut flag, cut point (x, y)); and the local edges cut."""
    msh = level.function_space.mesh
    phi, P1 = _vertex_level(level, steps)  # noqa: N806
    scale = msh.comm.allreduce(float(np.nanmax(np.abs(phi), initial=0.0)), MPI.MAX)
    phi[np.abs(phi) <= ON_FRONT * scale] = 0.0  # on the front: its edges are not cut
    num = len(steps)
    dofs = P1.dofmap.list[:num]
    coords = msh.geometry.x[compat.geometry_dofmap(msh)[:num, :_NV], :2]  # (num, 3, 2)
    msh.topology.create_connectivity(2, 1)
    c2e = msh.topology.connectivity(2, 1).array.reshape(-1, _NV)[:num]
    cut = np.zeros((num, _NV))
    point = np.zeros((num, _NV, 2))
    for k, (i, j) in enumerate(_EDGES):
        a, b = coords[:, i], coords[:, j]
        pa, pb = phi[dofs[:, i]], phi[dofs[:, j]]
        swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        a, b = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
        pa, pb = np.where(swap, pb, pa), np.where(swap, pa, pb)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = pa / (pa - pb)
            ok = (pa * pb < 0.0) & (t > T_CUT) & (t < 1.0 - T_CUT)
        cut[ok, k] = 1.0
        point[ok, k] = a[ok] + t[ok, None] * (b[ok] - a[ok])
    n_owned = msh.topology.index_map(2).size_local  # each cut edge is in an owned cell somewhere
    edges = np.unique(c2e[:n_owned][cut[:n_owned] > 0]).astype(np.int32)
    return cut, point, coords, edges


def _pack(msh, cut, point, coords) -> fem.Function:
    """DG0 per cell: 3 cut flags, 3 cut points, 3 vertices (15 values)."""
    num = len(cut)
    Q = fem.functionspace(msh, ("DG", 0, (15,)))  # noqa: N806
    f = fem.Function(Q)
    data = np.column_stack([cut, point.reshape(num, -1), coords.reshape(num, -1)])
    f.x.array.reshape(-1, 15)[Q.dofmap.list[:num, 0]] = data
    return f


def _move_new_vertices(new_mesh, parent: fem.Function) -> int:
    """Move every vertex of ``new_mesh`` at the midpoint of a cut parent edge to the cut
    point. Returns the number of local geometry nodes moved."""
    Q = fem.functionspace(new_mesh, ("DG", 0, (15,)))  # noqa: N806
    child = fem.Function(Q)
    compat.interpolate_nonmatching(child, parent)
    imap = new_mesh.topology.index_map(2)
    num = imap.size_local + imap.num_ghosts
    data = child.x.array.reshape(-1, 15)[Q.dofmap.list[:num, 0]]
    cut, point, verts = data[:, :3], data[:, 3:9].reshape(num, 3, 2), data[:, 9:].reshape(num, 3, 2)
    nodes = compat.geometry_dofmap(new_mesh)[:num, :_NV]
    x = new_mesh.geometry.x
    moved = {}
    for k, (i, j) in enumerate(_EDGES):
        mid = 0.5 * (verts[:, i] + verts[:, j])
        size = np.linalg.norm(verts[:, i] - verts[:, j], axis=1)
        for v in range(_NV):
            at = (cut[:, k] > 0.5) & (np.linalg.norm(x[nodes[:, v], :2] - mid, axis=1)
                                      <= 1e-9 * size)
            for node, p in zip(nodes[at, v], point[at, k], strict=True):
                moved[int(node)] = p
    for node, p in moved.items():
        x[node, :2] = p
    return len(moved)


def _fixed_dofs(smesh, P1) -> np.ndarray:  # noqa: N803
    """Local P1 dofs on the boundary or on any tagged facet (interfaces): they may not move.
    Each rank marks the vertices of its owned such facets; the marks are summed at the
    vertices' owners and sent back to every rank that has them."""
    import dolfinx.mesh

    msh = smesh.mesh
    msh.topology.create_connectivity(1, 2)
    n_owned = msh.topology.index_map(1).size_local
    facets = np.union1d(dolfinx.mesh.exterior_facet_indices(msh.topology),
                        smesh.facet_tags.indices).astype(np.int32)
    facets = facets[facets < n_owned]
    mark = fem.Function(P1)
    mark.x.array[fem.locate_dofs_topological(P1, 1, facets)] = 1.0
    mark.x.scatter_reverse(InsertMode.add)
    mark.x.scatter_forward()
    return np.flatnonzero(mark.x.array > 0.0)


def _quality(x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Signed shape quality 4 sqrt(3) area / sum of squared edge lengths (-)."""
    a, b, c = x[nodes[:, 0], :2], x[nodes[:, 1], :2], x[nodes[:, 2], :2]
    area = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
                  - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    edges = (np.sum((b - a) ** 2, axis=1) + np.sum((c - b) ** 2, axis=1)
             + np.sum((a - c) ** 2, axis=1))
    return 4.0 * np.sqrt(3.0) * area / edges


def _proposals(phi, dofs, coords, n_dofs):
    """Per local P1 dof: the smallest fraction t < 1/2 of a cut edge (in the local cells) from
    it to the front, and the point there (inf / NaN: none)."""
    best = np.full(n_dofs, np.inf)
    target = np.full((n_dofs, 2), np.nan)
    for i, j in _EDGES:
        for v, w in ((i, j), (j, i)):
            pv, pw = phi[dofs[:, v]], phi[dofs[:, w]]
            with np.errstate(invalid="ignore", divide="ignore"):
                t = pv / (pv - pw)
                ok = (pv * pw < 0.0) & (t > T_MIN) & (t < 0.5)
            for k in np.flatnonzero(ok):
                d = dofs[k, v]
                point = coords[k, v] + t[k] * (coords[k, w] - coords[k, v])
                if (t[k], *point) < (best[d], *target[d]):
                    best[d], target[d] = t[k], point
    return best, target


def _owner_min(imap, best, target, comm):
    """The smallest (t, x, y) of every owned dof over the proposals of all ranks (ghost
    proposals are sent to the owner), so that the choice does not depend on the partition."""
    n_owned = imap.size_local
    ghosts, owners = imap.ghosts, imap.owners
    outgoing = [[] for _ in range(comm.size)]
    for k in np.flatnonzero(np.isfinite(best[n_owned:])):
        outgoing[owners[k]].append((int(ghosts[k]), best[n_owned + k],
                                    *target[n_owned + k]))
    start = imap.local_range[0]
    for items in comm.alltoall(outgoing):
        for gid, t, x, y in items:
            d = gid - start
            if (t, x, y) < (best[d], *target[d]):
                best[d], target[d] = t, (x, y)
    best[n_owned:] = np.inf
    return best, target


def _snap(smesh, level: fem.Function, steps: np.ndarray) -> int:
    """Move interior vertices next to a front onto it (module docstring); returns the number
    of vertices moved (global)."""
    msh = smesh.mesh
    phi, P1 = _vertex_level(level, steps)  # noqa: N806
    num = len(steps)
    dofs = P1.dofmap.list[:num]
    nodes = compat.geometry_dofmap(msh)[:num, :_NV]
    x = msh.geometry.x
    n_owned = P1.dofmap.index_map.size_local
    best, target = _proposals(phi, dofs, x[nodes, :2], len(phi))
    best, target = _owner_min(P1.dofmap.index_map, best, target, msh.comm)
    best[_fixed_dofs(smesh, P1)] = np.inf
    shift = fem.Function(fem.functionspace(msh, ("Lagrange", 1, (2,))))
    move = np.isfinite(best)
    node_of = np.zeros(len(phi), dtype=np.int64)
    node_of[dofs.ravel()] = nodes.ravel()
    shift.x.array.reshape(-1, 2)[move] = target[move] - x[node_of[move], :2]
    shift.x.scatter_forward()
    before = _quality(x, nodes)
    bad = fem.Function(P1)
    for _ in range(8):
        moved = x.copy()
        moved[node_of, :2] += shift.x.array.reshape(-1, 2)
        after = _quality(moved, nodes) * np.sign(before)
        flat = (after < Q_MIN) | (after < Q_KEEP * np.abs(before))
        if not msh.comm.allreduce(bool(flat.any()), MPI.LOR):
            break
        bad.x.array[:] = 0.0
        np.add.at(bad.x.array, dofs[flat].ravel(), 1.0)
        bad.x.scatter_reverse(InsertMode.add)
        shift.x.array.reshape(-1, 2)[bad.x.array[: len(phi)] > 0] = 0.0
        shift.x.scatter_forward()
    else:
        return 0
    delta = shift.x.array.reshape(-1, 2)
    moving = np.flatnonzero(np.any(delta != 0.0, axis=1))
    x[node_of[moving], :2] += delta[moving]
    on_front = np.isin(dofs, moving)
    cells, verts = np.nonzero(on_front)
    level.x.array[level.function_space.dofmap.list[cells, verts]] = steps[cells]
    level.x.scatter_forward()
    return msh.comm.allreduce(int(np.count_nonzero(moving < n_owned)), MPI.SUM)


def fit_fronts(smesh, level: fem.Function, kind: str, config, spec, rounds: int = 3):
    """Split the edges of ``smesh`` (2D) that the strain-law fronts cross, at the fronts.

    Args:
        smesh: the tagged mesh.
        level: DG1 level field on it (``kind`` "kirchhoff": W (A/m); "mu": mu_Li0 (eV)).
        config: the configuration (materials, kT).
        spec: the mechanics spec (strain laws).
        rounds: at most this many rounds (stops when no edge is cut).

    Returns:
        (fitted SeparatorMesh, the level field carried to it, number of edges cut (global)).
    """
    from fem_sse.mechanics.fronts import carry_linear
    from fem_sse.geometry.refine2d import _parent_data, carry_tags

    comm = smesh.mesh.comm
    total = 0
    for _ in range(rounds):
        steps = step_levels(cell_materials(smesh), config, spec, kind)
        if not comm.allreduce(bool(np.isfinite(steps).any()), MPI.LOR):
            break
        cut, point, coords, edges = _cut_points(level, steps)
        count = comm.allreduce(int(cut[: smesh.mesh.topology.index_map(2).size_local].sum()),
                               MPI.SUM)
        if count == 0:
            break
        parent = _pack(smesh.mesh, cut, point, coords)
        tags = _parent_data(smesh)
        new_mesh, _ = compat.refine_edges_with_parent_cells(smesh.mesh, edges)
        _move_new_vertices(new_mesh, parent)
        level = carry_linear(level, new_mesh)
        smesh = carry_tags(smesh, new_mesh, tags)
        total += count
        log.info("front fitting: %d cut edge sides, %d cells", count,
                 new_mesh.topology.index_map(2).size_global)
    steps = step_levels(cell_materials(smesh), config, spec, kind)
    if SNAP and comm.allreduce(bool(np.isfinite(steps).any()), MPI.LOR):
        for _ in range(3):  # a vertex snaps along one edge per pass
            moved = _snap(smesh, level, steps)
            total += moved
            if not moved:
                break
    return smesh, level, total
