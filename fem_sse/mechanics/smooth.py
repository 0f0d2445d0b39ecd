"""A smooth Kirchhoff level for the front fitting: local quadratic fits blended by the P1 hats.

The fitted front (:mod:`.fit`) is the zero set of the level minus the step. With the level
linear in every cell of the transport mesh (W, made continuous per material by
:func:`~fem_sse.mechanics.fit.continuous_level`), that front is a polyline with a corner at
every transport cell edge: the gradient of a P1 field jumps by O(h |D^2 W|) there. Each corner
is a corner of the eigenstrain step, where the elastic stress is log-singular, so the cell
peaks grew with every round of front refinement of the elastic mesh (cases/2d/study_single.toml:
max principal +4.5 % from refine_fronts 4 to 6). The corners are an artefact of the transport
discretisation: W is smooth across a GEB jump (docs/transport2d.md).

Here, for a Kirchhoff level only (W is smooth; a mu_Li0 level jumps by eV at a front and a
polynomial fit to it would oscillate), the level of every material with a strain-law step is
replaced by

    L(x) = sum_i lambda_i(x) q_i(x)

on the transport mesh: lambda_i the P1 hat of transport vertex i, q_i the least-squares
quadratic through the level at the vertices within two rings of i (same material; three
at a corner, where two rings hold fewer than :data:`MIN_POINTS`). L is
continuous, exact for quadratics, and its gradient jumps across a transport edge by only
sum_i (q_i - q_j)(x) [d lambda_i / dn] = O(h^2) (the q_i differ by third-order terms): the
corners of the front have angles O(h^2), against O(h) before, and the front inside each
transport cell is a curve that the elastic refinement resolves. L differs from the linear
level by O(h^2 |D^2 W|), the transport's own interpolation error. At a vertex on a no-flux
side the fit is even about the side, as W is (:func:`mirror_normals`). The elastic mesh takes L
at its vertices (:func:`recover`, after each refinement round, before the fitting).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from dolfinx import fem

from fem_sse import compat
from fem_sse.geometry.refine2d import barycentric

__all__ = ["QuadraticLevel", "level_recovery", "mirror_normals", "parents", "quadratic_level",
           "recover"]

_NV = 3
#: Monomials of the local fits, in coordinates centred at the vertex and scaled by the patch.
_POWERS = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))
#: A quadratic is fitted through at least this many vertices (two rings, three at a corner).
MIN_POINTS = 10


def _design(d: np.ndarray, terms: int) -> np.ndarray:
    return np.stack([d[:, 0] ** p * d[:, 1] ** q for p, q in _POWERS[:terms]], axis=1)


class QuadraticLevel:
    """L = sum_i lambda_i q_i on a serial triangle mesh (module docstring).

    Args:
        verts: (nv, 2) vertex coordinates (m); cells: (n, 3) vertex numbers.
        values: (n, 3) level at each cell vertex (continuous inside each material).
        material: (n,) material number per cell; stepped: (n,) cells whose level is fitted.
        mirror: (nv, 2) unit normal of the straight no-flux boundary through each vertex
            (zero: none); the fit there is made even about it (:func:`mirror_normals`).
    """

    def __init__(self, verts, cells, values, material, stepped, mirror=None):
        self.verts, self.cells = verts, cells
        self.mirror = np.zeros_like(verts) if mirror is None else mirror
        self.material, self.stepped = material, stepped
        n_mat = int(material.max(initial=0)) + 1
        self.coef = np.zeros((len(verts), n_mat, len(_POWERS)))
        self.centre = verts.copy()
        self.scale = np.ones(len(verts))
        for m in np.unique(material[stepped]):
            self._fit(m, cells[stepped & (material == m)], values[stepped & (material == m)])

    def _fit(self, m: int, cells, values) -> None:
        """Fits of material ``m`` at its vertices (two rings of its own cells)."""
        nv = len(self.verts)
        value = np.zeros(nv)
        value[cells.ravel()] = values.ravel()  # continuous: every cell gives the same value
        rows = np.repeat(np.arange(len(cells)), _NV)
        incidence = sp.csr_matrix((np.ones(rows.size), (rows, cells.ravel())),
                                  shape=(len(cells), nv))
        one = (incidence.T @ incidence).astype(bool).astype(np.int8)
        two = (one @ one).tocsr()  # two rings of vertices
        three = (two @ one).tocsr()
        for i in np.unique(cells):
            patch = two.indices[two.indptr[i]:two.indptr[i + 1]]
            if len(patch) < MIN_POINTS:  # a corner: three rings
                patch = three.indices[three.indptr[i]:three.indptr[i + 1]]
            d = self.verts[patch] - self.verts[i]
            v = value[patch]
            n = self.mirror[i]
            if np.any(n != 0.0):  # W is even about a no-flux side: its mirror image too
                d = np.concatenate([d, d - 2.0 * np.outer(d @ n, n)])
                v = np.concatenate([v, v])
            h = float(np.max(np.abs(d)))
            terms = 6 if len(d) >= 6 else (3 if len(d) >= 3 else 1)
            a = _design(d / h, terms)
            c, _, rank, _ = np.linalg.lstsq(a, v, rcond=1e-10)
            if rank < terms and terms == 6:  # a degenerate patch (e.g. collinear): linear
                terms = 3
                c = np.linalg.lstsq(a[:, :3], v, rcond=1e-10)[0]
            self.coef[i, m, :terms] = c[:terms]
            self.scale[i] = h

    def at(self, parent: np.ndarray, points: np.ndarray) -> np.ndarray:
        """L at ``points`` (k, 3, 2) (m), the three vertices of a cell inside transport cell
        ``parent`` (k,): (k, 3)."""
        tri = self.verts[self.cells[parent]]  # (k, 3, 2)
        lam = barycentric(points, tri)  # (k, 3, 3)
        out = np.zeros(points.shape[:2])
        m = self.material[parent]
        for k in range(_NV):  # the fit of the parent's vertex k at every point
            v = self.cells[parent, k]
            d = (points - self.centre[v][:, None]) / self.scale[v][:, None, None]
            coef = self.coef[v, m]  # (k, 6)
            q = sum(coef[:, None, j] * d[..., 0] ** p * d[..., 1] ** r
                    for j, (p, r) in enumerate(_POWERS))
            out += lam[..., k] * q
        return out


def mirror_normals(verts, cells, facet_tag, electrodes) -> np.ndarray:
    """(nv, 2): per vertex the unit normal of the outer boundary edges through it that are not
    on an electrode (tags ``electrodes``), when they are collinear (zero otherwise). No Li+ and
    no electronic flux cross such a side, so grad W . n = 0 there and W is even about it: the
    exact front meets the side at a right angle. A fit that is not even about the side tilts
    the front there, a corner in its mirror image (the side is a symmetry plane of the roller
    BC) whose stress grows with refinement (measured on cases/2d/study_thin_anodic.toml: von
    Mises +9 % from refine_fronts 4 to 6 at the side, before the fit was made even)."""
    pairs = np.concatenate([cells[:, [(k + 1) % _NV, (k + 2) % _NV]] for k in range(_NV)])
    tags = facet_tag.T.ravel()
    edges, index, count = np.unique(np.sort(pairs, axis=1), axis=0, return_inverse=True,
                                    return_counts=True)
    outer = count[index.ravel()] == 1
    side = pairs[outer & ~np.isin(tags, list(electrodes))]
    d = verts[side[:, 1]] - verts[side[:, 0]]
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.linalg.norm(d, axis=1)[:, None]
    out = np.zeros_like(verts)
    straight = np.ones(len(verts), dtype=bool)
    for (a, b), n in zip(side, normal, strict=True):
        for v in (a, b):
            if np.all(out[v] == 0.0):
                out[v] = n
            elif abs(out[v, 0] * n[1] - out[v, 1] * n[0]) > 1e-9:
                straight[v] = False
    out[~straight] = 0.0
    return out


def quadratic_level(arrays, stepped_cells: np.ndarray, material: np.ndarray,
                    electrodes=()) -> QuadraticLevel:
    """The :class:`QuadraticLevel` of the canonical arrays (coords (n, 3, 2), facet tags
    (n, 3) opposite each vertex, values (n, 3), as
    :func:`~fem_sse.mechanics.canonical._local_arrays` gives them for a serial mesh);
    ``electrodes``: the facet tags of the electrodes (the other outer sides carry no flux)."""
    coords, facet_tag, values = arrays
    verts, cells = np.unique(coords.reshape(-1, 2), axis=0, return_inverse=True)
    cells = cells.reshape(-1, _NV)
    return QuadraticLevel(verts, cells, np.asarray(values, float), material, stepped_cells,
                          mirror_normals(verts, cells, facet_tag, electrodes))


def parents(coarse_mesh, fine_mesh) -> np.ndarray:
    """Per cell of ``fine_mesh`` (a refinement of ``coarse_mesh``, both serial): the coarse
    cell that contains it."""
    source = fem.Function(fem.functionspace(coarse_mesh, ("DG", 0)))
    source.x.array[source.function_space.dofmap.list[:, 0]] = np.arange(
        coarse_mesh.topology.index_map(2).size_local, dtype=float)
    target = fem.Function(fem.functionspace(fine_mesh, ("DG", 0)))
    compat.locate_parents(target, source)
    num = fine_mesh.topology.index_map(2).size_local
    return np.rint(target.x.array[target.function_space.dofmap.list[:num, 0]]).astype(np.int64)


def recover(smooth: QuadraticLevel, coarse_mesh, smesh, level: fem.Function) -> fem.Function:
    """``level`` (DG1 on the serial ``smesh``, a refinement of ``coarse_mesh``, or that mesh
    itself) set to L at the vertices of every cell whose parent is fitted."""
    from fem_sse.mechanics.canonical import _dof_order

    msh = smesh.mesh
    num = msh.topology.index_map(2).size_local
    parent = parents(coarse_mesh, msh)
    fitted = np.flatnonzero(smooth.stepped[parent])
    V = level.function_space
    dofs = np.take_along_axis(V.dofmap.list[:num], _dof_order(V, num), axis=1)[fitted]
    points = msh.geometry.x[compat.geometry_dofmap(msh)[:num, :_NV], :2][fitted]
    level.x.array[dofs] = smooth.at(parent[fitted], points)
    return level


def level_recovery(smesh, level: fem.Function, kind: str, config, spec):
    """``recover(smesh, level)`` that puts L (of ``level`` on the serial ``smesh``) on it or
    on a refinement of it; None when nothing is fitted (a mu_Li0 level, no stepped law)."""
    from fem_sse.mechanics.canonical import _local_arrays
    from fem_sse.mechanics.fit import step_levels

    if kind != "kirchhoff":
        return None
    coords, cell_tag, facet_tag, values = _local_arrays(smesh, level)
    names = np.array([smesh.regions[int(t)].material if t > 0 else "" for t in cell_tag],
                     dtype=object)
    stepped = np.isfinite(step_levels(names, config, spec, kind))
    if not stepped.any():
        return None
    material = np.unique(names.astype(str), return_inverse=True)[1].ravel()
    electrodes = [smesh.facet_groups[k] for k in ("cathode", "anode") if k in smesh.facet_groups]
    smooth = quadratic_level((coords, facet_tag, values), stepped, material, electrodes)
    coarse = smesh.mesh
    return lambda fine, fine_level: recover(smooth, coarse, fine, fine_level)
