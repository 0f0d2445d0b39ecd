"""Seeded Voronoi grains in a rectangle (NumPy/SciPy only; no Gmsh).

The diagram is bounded by mirroring the seeds across the four sides, so every cell is a convex
polygon whose outer edges lie exactly on the rectangle. Columnar grains come from a diagram
computed in coordinates where x is divided by the aspect ratio (grains elongated along x).
Short edges (below ``merge_tol``) are collapsed globally, so neighbouring cells keep sharing
their vertices; GB strips come from offsetting each convex cell inwards by half the strip width
along its interior edges only (grains still reach the layer's outer edges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import Voronoi

__all__ = ["GrainLayout", "shrink_polygon", "voronoi_grains"]


@dataclass(frozen=True)
class GrainLayout:
    """Voronoi cells of one layer.

    Attributes:
        vertices: (n, 2) vertex coordinates (m), shared by neighbouring cells.
        cells: vertex indices of each cell, counter-clockwise.
        box: (x0, x1, y0, y1) of the bounding rectangle (m).
    """

    vertices: np.ndarray
    cells: tuple[tuple[int, ...], ...]
    box: tuple[float, float, float, float]

    def polygon(self, k: int) -> np.ndarray:
        """(m, 2) vertices of cell ``k`` (m)."""
        return self.vertices[list(self.cells[k])]

    def edge_on_box(self, a: np.ndarray, b: np.ndarray) -> bool:
        """True when the segment a-b lies on a side of the box (an outer edge)."""
        x0, x1, y0, y1 = self.box
        tol = 1e-9 * max(x1 - x0, y1 - y0)
        return any(abs(a[d] - v) < tol and abs(b[d] - v) < tol
                   for d, v in ((0, x0), (0, x1), (1, y0), (1, y1)))

    def interior_edges(self) -> np.ndarray:
        """(m, 2) vertex index pairs of the edges shared by two cells (each once)."""
        pairs = set()
        for cell in self.cells:
            for a, b in zip(cell, cell[1:] + cell[:1]):
                if not self.edge_on_box(self.vertices[a], self.vertices[b]):
                    pairs.add((min(a, b), max(a, b)))
        return np.array(sorted(pairs), dtype=int).reshape(-1, 2)

    def boundary_length(self) -> float:
        """Total length of the interior edges, i.e. of the grain-boundary network (m)."""
        e = self.interior_edges()
        return float(np.linalg.norm(self.vertices[e[:, 0]] - self.vertices[e[:, 1]], axis=1).sum())


def _bounded_cells(points: np.ndarray, lx: float, ly: float) -> tuple[np.ndarray, list]:
    """Voronoi cells of ``points`` inside [0, lx] x [0, ly] (mirror construction)."""
    x, y = points[:, 0], points[:, 1]
    mirrored = np.vstack([points, np.c_[-x, y], np.c_[2 * lx - x, y], np.c_[x, -y],
                          np.c_[x, 2 * ly - y]])
    vor = Voronoi(mirrored)
    verts = vor.vertices.copy()
    cells = []
    for i in range(len(points)):
        region = vor.regions[vor.point_region[i]]
        if -1 in region or not region:
            raise RuntimeError("unbounded Voronoi cell despite mirroring")
        cells.append(list(region))
    used = np.unique(np.concatenate(cells))
    verts[used, 0] = np.clip(verts[used, 0], 0.0, lx)
    verts[used, 1] = np.clip(verts[used, 1], 0.0, ly)
    return verts, cells


def _centroids(verts: np.ndarray, cells: list) -> np.ndarray:
    out = np.empty((len(cells), 2))
    for k, cell in enumerate(cells):
        p = verts[cell]
        p = p[np.argsort(np.arctan2(*(p - p.mean(axis=0)).T[::-1]))]
        q = np.roll(p, -1, axis=0)
        cross = p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]
        area = 0.5 * cross.sum()
        out[k] = ((p + q) * cross[:, None]).sum(axis=0) / (6.0 * area)
    return out


def _keep_corners(verts, cells, tol, lx, ly):
    """Push a vertex on a side that lies within ``tol`` of a box corner to ``tol`` from it.

    Collapsing that short side edge would end a GB in the corner: a wedge grain between the
    GB and two outer sides, whose point is a singularity of the fields (stress2d seed 0
    configuration 28: its anode corner carried a fifth of the electronic current, and the two
    transport schemes converged 10 % apart there)."""
    eps = 1e-12 * max(lx, ly)
    corners = [np.array(c) for c in ((0.0, 0.0), (lx, 0.0), (0.0, ly), (lx, ly))]
    out = verts.copy()
    for cell in cells:
        for a, b in zip(cell, cell[1:] + cell[:1]):
            for c, v in ((a, b), (b, a)):
                corner = next((k for k in corners if np.all(np.abs(out[c] - k) < eps)), None)
                if corner is None or np.all(np.abs(out[v] - corner) < eps):
                    continue
                gap = out[v] - corner
                length = np.hypot(*gap)
                if length < tol and np.min(np.abs(gap)) < eps:  # on a side through the corner
                    out[v] = corner + gap / length * (1.001 * tol)  # not merged below
    return out


def _merge_short_edges(verts, cells, tol, lx, ly):
    """Collapse edges shorter than ``tol``; vertices on the box stay on it, and a box corner
    stays the corner of one grain (:func:`_keep_corners`)."""
    verts = _keep_corners(verts, cells, tol, lx, ly)
    parent = np.arange(len(verts))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for cell in cells:
        for a, b in zip(cell, cell[1:] + cell[:1]):
            if np.hypot(*(verts[a] - verts[b])) < tol:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(len(verts))])
    merged = verts.copy()
    eps = 1e-12 * max(lx, ly)
    for r in np.unique(roots[np.concatenate(cells)]):
        members = verts[roots == r]
        p = members.mean(axis=0)
        for d, hi in ((0, lx), (1, ly)):
            for side in (0.0, hi):
                if np.any(np.abs(members[:, d] - side) < eps):
                    p[d] = side
        merged[r] = p
    out = []
    for cell in cells:
        ring = [roots[v] for v in cell]
        ring = [v for i, v in enumerate(ring) if v != ring[i - 1]]
        if len(ring) >= 3:
            out.append(ring)
    return merged, out


def voronoi_grains(count: int, box: tuple[float, float, float, float], seed: int,
                   aspect: float = 1.0, lloyd: int = 1, merge_tol: float = 0.0) -> GrainLayout:
    """``count`` seeded Voronoi grains filling ``box`` = (x0, x1, y0, y1) (m).

    Args:
        count: number of seeds (grains).
        box: bounding rectangle (m).
        seed: seed of ``numpy.random.default_rng``: the same seed gives the same grains.
        aspect: elongation of the grains along x (-), 1 for equiaxed.
        lloyd: Lloyd relaxation steps (more regular grains, fewer tiny edges).
        merge_tol: edges shorter than this (m) are collapsed.
    """
    x0, x1, y0, y1 = box
    lx, ly = (x1 - x0) / aspect, y1 - y0
    rng = np.random.default_rng(seed)
    points = rng.uniform((0.0, 0.0), (lx, ly), size=(count, 2))
    if count == 1:
        verts = np.array([[0.0, 0.0], [lx, 0.0], [lx, ly], [0.0, ly]])
        cells = [[0, 1, 2, 3]]
    else:
        for _ in range(lloyd):
            points = _centroids(*_bounded_cells(points, lx, ly))
        verts, cells = _bounded_cells(points, lx, ly)
    phys = np.c_[x0 + verts[:, 0] * aspect, y0 + verts[:, 1]]
    if merge_tol > 0.0:
        phys0 = phys - (x0, y0)
        phys0, cells = _merge_short_edges(phys0, cells, merge_tol, x1 - x0, ly)
        phys = phys0 + (x0, y0)
    ordered = []
    for cell in cells:
        p = phys[cell]
        order = np.argsort(np.arctan2(*(p - p.mean(axis=0)).T[::-1]))
        ordered.append(tuple(int(cell[i]) for i in order))
    used = sorted({v for c in ordered for v in c})
    renum = {v: i for i, v in enumerate(used)}
    return GrainLayout(phys[used], tuple(tuple(renum[v] for v in c) for c in ordered), box)


def shrink_polygon(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Move each edge of a convex counter-clockwise polygon inwards by its offset (m).

    Edge i runs from points[i] to points[i+1]. The result is the intersection of the shifted
    half-planes (Sutherland-Hodgman clipping), an empty (0, 2) array if nothing is left.
    """
    poly = points.copy()
    n = len(points)
    for i in range(n):
        a, b = points[i], points[(i + 1) % n]
        t = b - a
        normal = np.array([-t[1], t[0]]) / np.hypot(*t)  # inward for CCW order
        c = normal @ a + offsets[i]
        side = poly @ normal - c  # >= 0 inside
        out = []
        for j in range(len(poly)):
            p, q = poly[j], poly[(j + 1) % len(poly)]
            sp, sq = side[j], side[(j + 1) % len(poly)]
            if sp >= 0.0:
                out.append(p)
            if (sp >= 0.0) != (sq >= 0.0):
                out.append(p + (q - p) * (sp / (sp - sq)))
        poly = np.array(out).reshape(-1, 2)
        if len(poly) < 3:
            return np.empty((0, 2))
    return poly
