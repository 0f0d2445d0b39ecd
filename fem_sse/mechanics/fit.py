"""Fit a 2D mesh to the sharp eigenstrain fronts: cells split along them (NumPy, canonical copy).

A front is where the level field (DG1 W, or mu_Li0) passes the level of a step of the strain
law (:func:`step_levels`). The level minus the step is averaged at the
vertices (phi, the continuous recovery of the DG1 field; values within ``on_front`` of zero
are zero); its zero set, linear along every edge, is the front. Then:

1. **snap**: a vertex whose edge the front cuts within :data:`T_SNAP` of the edge's length
   from it moves along that edge onto the front (smallest such cut first). Only vertices that
   stay on their boundary or interface do: interior vertices, and vertices on a straight piece
   of boundary or tagged facets moving along it; a move that would flip a cell or cut its
   shape quality below :data:`Q_KEEP` of its value is undone. This avoids needle cells.
2. **split** (marching triangles): every edge whose ends have phi of opposite signs is cut at
   the zero of phi (computed once per edge, so the neighbours agree: a conforming mesh). A
   triangle with one cut edge (a vertex on the front) splits in two, one with two cut edges
   into a triangle and a quadrilateral, cut along its shorter diagonal. Tags: every child
   keeps its parent's cell tag, pieces of a tagged edge keep the edge's tag.
3. **level on the front**: in every cell of a stepped material that touches the front, the
   level is set to step + phi at the vertices (so exactly the step on the front, not round-off
   of either sign; and where the level is not continuous, :func:`continuous_level`, a cell's
   own values differ from the vertex average, which would move the front off the fitted edges
   by a sliver).

Afterwards no cell has the front inside it (only on its edges): the displacement, linear per
cell, can follow the step, and the cell averages of e* are one-sided. The Plaza-based fitting
it replaces (bisect the cut edges, move the midpoints onto the front) left cut cells after every
round, because Plaza's closure joins the midpoint of a longest edge to the opposite vertex
across the front; more rounds made more of them (measured on the laterally uniform stack:
236 cut cells at refine_fronts 3, von Mises 1.8 % above the film value).
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["ON_FRONT", "Q_KEEP", "T_SNAP", "continuous_level", "fit_fronts", "split_at_fronts",
           "step_levels"]

log = logging.getLogger(__name__)

#: Vertices whose |level - step| is below this fraction of its largest value are on the front.
#: A vertex on the front (e.g. a cut point of an earlier fitting) has a level there that is
#: round-off (1e-18 of the largest, measured on the study case) of either sign; an edge joining
#: two of them was then cut at a random point, and the mesh depended on the transport's
#: round-off (1 vs 2 ranks: 14999 vs 15242 cells, peaks 0.5 %).
ON_FRONT = 1e-10
#: A vertex within this fraction of an edge from the front moves onto it (step 1).
T_SNAP = 0.2
#: A snapping move must keep a cell's shape quality above this fraction of its value before.
Q_KEEP = 0.3
_NV = 3


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


def _quality(x: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Signed shape quality 4 sqrt(3) area / sum of squared edge lengths (-; 1 equilateral)."""
    a, b, c = x[cells[:, 0]], x[cells[:, 1]], x[cells[:, 2]]
    area = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
                  - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    edges = np.sum((b - a) ** 2, 1) + np.sum((c - b) ** 2, 1) + np.sum((a - c) ** 2, 1)
    return 4.0 * np.sqrt(3.0) * area / edges


def _edges(cells: np.ndarray):
    """(unique edges (m, 2) with sorted vertex numbers, per cell the edge opposite vertex k)."""
    pairs = np.stack([cells[:, [(k + 1) % _NV, (k + 2) % _NV]] for k in range(_NV)], axis=1)
    edges, index = np.unique(np.sort(pairs.reshape(-1, 2), axis=1), axis=0, return_inverse=True)
    return edges, index.reshape(-1, _NV)


def _fixed_edges(cells, cell_tag, facet_tag, edge_of, n_edges) -> np.ndarray:
    """Edges on the boundary (one cell), tagged, or between cells of different tags."""
    count = np.bincount(edge_of.ravel(), minlength=n_edges)
    fixed = count == 1
    fixed[edge_of[facet_tag > 0]] = True
    first = np.full(n_edges, -1)
    first[edge_of.ravel()] = np.repeat(cell_tag, _NV)  # some cell's tag per edge
    fixed[edge_of[cell_tag[:, None] != first[edge_of]]] = True
    return fixed


def _material_phi(verts, cells, values, steps, material, on_front: float) -> np.ndarray:
    """(vertices, materials): level - step averaged over the stepped cells of each material at
    each vertex (NaN: none). W differs between materials at a phase boundary (mu is
    continuous), so each material's front is found from its own cells only."""
    n_mat = int(material.max(initial=-1)) + 1
    stepped = np.isfinite(steps)
    index = (cells * n_mat + material[:, None])[stepped].ravel()
    size = len(verts) * n_mat
    total = np.bincount(index, (values - steps[:, None])[stepped].ravel(), minlength=size)
    count = np.bincount(index, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(count > 0, total / count, np.nan).reshape(len(verts), n_mat)
    scale = np.nanmax(np.abs(phi), initial=0.0)
    phi[np.abs(phi) <= on_front * scale] = 0.0
    return phi


def _edge_cuts(phi_cell, cells, edge_of, n_edges) -> np.ndarray:
    """Per edge: the zero of its cells' phi as a fraction from its lower-numbered vertex (NaN:
    not cut; the smallest where two materials disagree). Vertex numbers follow the
    coordinates, so every cell and rank agree."""
    t_edge = np.full(n_edges, np.inf)
    for k in range(_NV):
        i, j = (k + 1) % _NV, (k + 2) % _NV
        low = cells[:, i] < cells[:, j]
        pa = np.where(low, phi_cell[:, i], phi_cell[:, j])
        pb = np.where(low, phi_cell[:, j], phi_cell[:, i])
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(pa * pb < 0.0, pa / (pa - pb), np.inf)
        np.minimum.at(t_edge, edge_of[:, k], t)
    return np.where(np.isfinite(t_edge), t_edge, np.nan)


def _snap(verts, cells, t, edges, fixed, single) -> np.ndarray:
    """Step 1 of the module docstring: moves ``verts`` in place (only vertices whose cells are
    all of one material, ``single``); returns the vertices moved."""
    cut = np.flatnonzero(np.isfinite(t))
    direction = np.zeros((len(verts), 2))
    fixed_edges = edges[fixed]
    # per vertex: a unit direction of its fixed edges, NaN if they are not all collinear
    for k in (0, 1):
        v, w = fixed_edges[:, k], fixed_edges[:, 1 - k]
        d = verts[w] - verts[v]
        d /= np.linalg.norm(d, axis=1)[:, None]
        d *= np.where(d[:, 0] < 0.0, -1.0, 1.0)[:, None] * np.where(
            (d[:, 0] == 0.0) & (d[:, 1] < 0.0), -1.0, 1.0)[:, None]
        for vertex, u in zip(v, d, strict=True):
            if np.all(direction[vertex] == 0.0):
                direction[vertex] = u
            elif abs(direction[vertex, 0] * u[1] - direction[vertex, 1] * u[0]) > 1e-9:
                direction[vertex] = np.nan
    candidates = []
    for e in cut:
        a, b = edges[e]
        for vertex, frac in ((a, t[e]), (b, 1.0 - t[e])):
            if frac >= T_SNAP or not single[vertex]:
                continue
            along = verts[b] - verts[a]
            along = along / np.linalg.norm(along)
            d = direction[vertex]
            if np.any(np.isnan(d)):
                continue
            if np.any(d != 0.0) and (not fixed[e] or abs(d[0] * along[1] - d[1] * along[0]) > 1e-9):
                continue  # on a boundary or interface: only along it
            point = verts[a] + t[e] * (verts[b] - verts[a])
            candidates.append((frac, point[0], point[1], vertex))
    target = {}
    for frac, x, y, vertex in sorted(candidates):
        target.setdefault(vertex, (x, y))
    if not target:
        return np.zeros(0, dtype=np.int64)
    moving = np.array(sorted(target), dtype=np.int64)
    before = _quality(verts, cells)
    old = verts[moving].copy()
    verts[moving] = [target[v] for v in moving]
    for _ in range(20):
        after = _quality(verts, cells) * np.sign(before)
        bad = after < Q_KEEP * np.abs(before)
        undo = np.intersect1d(moving, cells[bad].ravel())
        if len(undo) == 0:
            break
        keep = ~np.isin(moving, undo)
        verts[undo] = old[~keep]
        moving, old = moving[keep], old[keep]
    return moving


def split_at_fronts(coords, cell_tag, facet_tag, values, steps, material, on_front: float):
    """Split a triangle mesh along the fronts of ``values`` (module docstring).

    Args:
        coords: (n, 3, 2) vertex coordinates per cell (m).
        cell_tag: (n,) cell tags; facet_tag: (n, 3) tag of the facet opposite each vertex.
        values: (n, 3) level field at each cell vertex (W in A/m or mu_Li0 in eV).
        steps: (n,) the step level of each cell's material (NaN: no step).
        material: (n,) material number of each cell (0, 1, ...).
        on_front: |phi| below this fraction of its largest value is on the front.

    Returns:
        (coords, cell_tag, facet_tag, values) of the split mesh (same layout), and the numbers
        of edges cut and of vertices snapped.
    """
    verts, cells = np.unique(coords.reshape(-1, 2), axis=0, return_inverse=True)
    cells = cells.reshape(-1, _NV)
    verts = verts.copy()
    edges, edge_of = _edges(cells)
    phi = _material_phi(verts, cells, values, steps, material, on_front)
    fixed = _fixed_edges(cells, cell_tag, facet_tag, edge_of, len(edges))
    first = np.full(len(verts), -1)
    first[cells.ravel()] = np.repeat(material, _NV)
    single = np.ones(len(verts), dtype=bool)
    single[cells[material[:, None] != first[cells]]] = False
    t = _edge_cuts(phi[cells, material[:, None]], cells, edge_of, len(edges))
    moved = _snap(verts, cells, t, edges, fixed, single)
    phi[moved] = 0.0
    phi_cell = phi[cells, material[:, None]]
    values = _on_front_values(values, steps, phi_cell)
    t = _edge_cuts(phi_cell, cells, edge_of, len(edges))
    cut = np.flatnonzero(np.isfinite(t))
    new_index = np.full(len(edges), -1)
    new_index[cut] = len(verts) + np.arange(len(cut))
    a, b = edges[cut, 0], edges[cut, 1]
    verts = np.concatenate([verts, verts[a] + t[cut, None] * (verts[b] - verts[a])])
    plain = ~np.any(np.isfinite(t[edge_of]), axis=1)
    out = [(cells[plain], cell_tag[plain], facet_tag[plain], values[plain])]
    for c in np.flatnonzero(~plain):
        ks = [int(k) for k in np.flatnonzero(np.isfinite(t[edge_of[c]]))]
        local = {k: int(new_index[edge_of[c, k]]) for k in ks}
        lone = ks[0] if len(ks) != 2 else ({0, 1, 2} - set(ks)).pop()
        tri, facets = _split_cell(cells[c], lone, local, facet_tag[c], verts)
        vals = {int(cells[c, k]): values[c, k] for k in range(_NV)}
        for k, q in local.items():  # on the cell's own front: the step; else linear
            i, j = (k + 1) % _NV, (k + 2) % _NV
            s = (np.linalg.norm(verts[q] - verts[cells[c, i]])
                 / np.linalg.norm(verts[cells[c, j]] - verts[cells[c, i]]))
            own = phi_cell[c, i] * phi_cell[c, j] < 0.0
            vals[q] = steps[c] if own else (1.0 - s) * values[c, i] + s * values[c, j]
        out.append((np.array(tri), np.full(len(tri), cell_tag[c]), np.array(facets),
                    np.array([[vals[v] for v in row] for row in tri])))
    cells, cell_tag, facet_tag, values = (np.concatenate(z) for z in zip(*out, strict=True))
    return ((verts[cells], cell_tag.astype(np.int32), facet_tag.astype(np.int32), values),
            len(cut), len(moved))


def _on_front_values(values, steps, phi_cell) -> np.ndarray:
    """Step 3: step + phi at the vertices of the stepped cells that the front touches or
    crosses, or that their own values cross (linear per cell, the step on the front)."""
    values = np.array(values, dtype=float)
    d = values - steps[:, None]
    touch = np.any(phi_cell == 0.0, axis=1)
    cross = (d.min(axis=1) < 0.0) & (d.max(axis=1) > 0.0)
    split = (phi_cell.min(axis=1) < 0.0) & (phi_cell.max(axis=1) > 0.0)
    recover = (np.isfinite(steps) & (touch | cross | split)
               & np.all(np.isfinite(phi_cell), axis=1))
    values[recover] = steps[recover, None] + phi_cell[recover]
    return values


def _split_cell(cell, lone: int, p: dict, f, verts):
    """Children (global vertex numbers, facet tags opposite each vertex) of one cut cell.

    Edge k of a triangle is opposite its vertex k; ``p`` maps a cut local edge to its new
    vertex, ``lone`` is the vertex opposite the single cut edge, or the vertex alone on its
    side of the front (two cut edges)."""
    v, a, b = lone, (lone + 1) % _NV, (lone + 2) % _NV
    V, A, B = int(cell[v]), int(cell[a]), int(cell[b])  # noqa: N806
    if len(p) == 3:  # two materials' fronts (one on a shared edge): red refinement
        return ([(V, p[b], p[a]), (A, p[v], p[b]), (B, p[a], p[v]), (p[v], p[a], p[b])],
                [(0, f[a], f[b]), (0, f[b], f[v]), (0, f[v], f[a]), (0, 0, 0)])
    if len(p) == 1:
        q = p[v]
        return [(V, A, q), (V, q, B)], [(f[v], 0, f[b]), (f[v], f[a], 0)]
    pa, pb = p[b], p[a]  # pa on edge (lone, a), the edge opposite b; pb opposite a
    tris = [(V, pa, pb)]
    tags = [(0, f[a], f[b])]
    if np.linalg.norm(verts[A] - verts[pb]) <= np.linalg.norm(verts[B] - verts[pa]):
        tris += [(A, B, pb), (A, pb, pa)]
        tags += [(f[a], 0, f[v]), (0, f[b], 0)]
    else:
        tris += [(A, B, pa), (B, pb, pa)]
        tags += [(0, f[b], f[v]), (0, 0, f[a])]
    return tris, tags


def continuous_level(smesh, level):
    """The DG1 ``level`` (on the serial copy, :mod:`.canonical`) replaced, per material, by its
    average over the cells at each vertex: continuous inside a material, still discontinuous
    between materials (W jumps at a phase boundary, mu does not).

    The transport's DG1 W jumps a little from cell to cell (its discretisation error). Fitted
    as it is, a front then jogs by jump / |grad W| (nanometres) at every transport cell edge:
    two sharp corners of the eigenstrain step, whose stress the front refinement resolves more
    and more (measured on cases/2d/study_bilayer.toml: max von Mises +2 %, +5 %, +9 % per
    further round from refine_fronts 4 to 7). The continuous W has kinks there instead,
    whose angles are the transport's error and whose stress stays bounded in the peaks
    (refine_fronts 4 and 6 within 0.3 %). Every cell's level stays linear, so it is carried
    exactly by the refinement and the fitting."""
    from fem_sse.mechanics.canonical import _dof_order
    from fem_sse.mechanics.eigenstrain import cell_materials

    from fem_sse import compat

    msh = smesh.mesh
    num = msh.topology.index_map(2).size_local
    V = level.function_space
    dofs = np.take_along_axis(V.dofmap.list[:num], _dof_order(V, num), axis=1)
    nodes = compat.geometry_dofmap(msh)[:num, :_NV]
    names = cell_materials(smesh)[:num]
    material = np.unique(names.astype(str), return_inverse=True)[1].ravel()
    n_mat = int(material.max(initial=0)) + 1
    index = (nodes * n_mat + material[:, None]).ravel()
    size = (int(nodes.max(initial=0)) + 1) * n_mat
    total = np.bincount(index, level.x.array[dofs].ravel(), minlength=size)
    count = np.bincount(index, minlength=size)
    level.x.array[dofs] = (total / np.maximum(count, 1))[index].reshape(-1, _NV)
    return level


def fit_fronts(smesh, level, kind: str, config, spec):
    """Split the serial ``smesh`` (2D, on ``MPI.COMM_SELF``: the canonical copy of
    :mod:`.canonical`) along the strain-law fronts of its DG1 ``level`` field.

    Args:
        smesh: the tagged mesh.
        level: DG1 level field on it (``kind`` "kirchhoff": W (A/m); "mu": mu_Li0 (eV)).
        config: the configuration (materials, kT).
        spec: the mechanics spec (strain laws).

    Returns:
        (fitted SeparatorMesh, the level field on it, edges cut + vertices snapped).
    """
    import ufl
    from mpi4py import MPI

    from fem_sse.mechanics.canonical import _build, _canonical, _local_arrays

    coords, cell_tag, facet_tag, values = _local_arrays(smesh, level)
    names = np.array([smesh.regions[int(t)].material if t > 0 else "" for t in cell_tag],
                     dtype=object)
    steps = step_levels(names, config, spec, kind)
    if not np.isfinite(steps).any():
        return smesh, level, 0
    material = np.unique(names.astype(str), return_inverse=True)[1].ravel()
    (coords, cell_tag, facet_tag, values), cut, snapped = split_at_fronts(
        coords, cell_tag, facet_tag, values, steps, material, ON_FRONT)
    if cut + snapped == 0:
        return smesh, level, 0
    element = ufl.Mesh(smesh.mesh.ufl_domain().ufl_coordinate_element())
    new, new_level = _build(MPI.COMM_SELF, _canonical([(coords, cell_tag, facet_tag, values)]),
                            smesh, element)
    log.info("front fitting: %d edges cut, %d vertices snapped, %d cells", cut, snapped,
             len(cell_tag))
    return new, new_level, cut + snapped
