"""Singular junctions of a 2D separator mesh, and the mesh graded towards them.

A *junction* is a point where an insulating line ends on a less conductive layer: a grain
boundary with a conductance g (``gb`` facets, grain_boundaries.model = "interface") or a crack
line, every cell along which at the point has a sigma_li above the lowest of the cells there,
s_low (s_line: the highest along the line). On all
scales below sigma_li / g (4 mm for g = 116 S/m^2) such a GB insulates, and next to the point
the Li+ potential behaves like w(P) + c r^alpha f(theta), with, for a line meeting the layer
boundary at a right angle (the two quarter planes of the line's layer against the half plane
of the other one)

    alpha = (2 / pi) arctan(sqrt(s_low / s_line))   (0.5 for equal sigma_li, -> 0 for s_low -> 0)

The error of 1 - t_Li then falls like h^(2 alpha) with the size h of the cells at the point:
on stress2d 2:22 (GBs in layers of 0.50 and 0.46 S/m ending on one of 0.0148 S/m, alpha ~ 0.11)
each halving of those cells removed only 15-17 % of it, so neither uniform nor Doerfler
refinement (one halving per step) could reach 1e-4 within 200 000 cells (docs/transport2d.md).
:func:`graded` refines the cells touching each junction again and again (a geometric grading:
~30 cells per junction and level) until the factor 2^(-2 alpha n) of the n halvings is below
:data:`REDUCTION`, or the cells reach the resolvable size of
:func:`fem_sse.geometry.refine2d.refine_tagged`.

Points are found by coordinates, which every rank computes identically for a shared vertex, so
the result is the same on any number of ranks.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from fem_sse import compat
from fem_sse.geometry import SeparatorMesh

__all__ = ["Junction", "REDUCTION", "graded", "singular_junctions"]

#: the grading stops when 2^(-2 alpha n) after n halvings falls below this (the factor by which
#: the junction's share of the error in 1 - t_Li has shrunk)
REDUCTION = 1e-3

#: most halvings at a junction (the resolvable cell size usually stops the grading first)
MAX_LEVELS = 40

_NV = 3

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Junction:
    """A point (m) where an insulating line of sigma_li ``sigma_line`` ends on cells of
    ``sigma_low`` < ``sigma_line`` (S/m); ``alpha``: the singular exponent (module docstring)."""

    x: float
    y: float
    sigma_line: float
    sigma_low: float

    @property
    def alpha(self) -> float:
        return 2.0 / math.pi * math.atan(math.sqrt(self.sigma_low / self.sigma_line))

    @property
    def levels(self) -> int:
        """Halvings of the cells at the point until 2^(-2 alpha n) <= :data:`REDUCTION`."""
        need = math.log2(1.0 / REDUCTION) / (2.0 * max(self.alpha, 1e-3))
        return min(MAX_LEVELS, math.ceil(need))


def _cell_sigma(smesh: SeparatorMesh, config, num: int) -> np.ndarray:
    """sigma_li (S/m) of the first ``num`` local cells (0 for a cell without a region)."""
    tag_of = np.zeros(num, dtype=np.int64)
    ct = smesh.cell_tags
    keep = ct.indices < num
    tag_of[ct.indices[keep]] = ct.values[keep]
    table = {tag: config.materials[r.material].sigma_li * r.sigma_li_factor
             for tag, r in smesh.regions.items()}
    return np.array([table.get(int(t), 0.0) for t in tag_of])


def _line_tags(smesh: SeparatorMesh, config) -> list[int]:
    """Facet tags of the insulating lines: ``gb`` with a conductance, every ``crack<k>``."""
    groups = smesh.facet_groups or {}
    g2d = config.geometry2d
    gb = g2d.grain_boundaries if g2d is not None else None
    tags = [tag for name, tag in groups.items() if name.startswith("crack")]
    if gb is not None and gb.conductance is not None and "gb" in groups:
        tags.append(groups["gb"])
    return tags


def _owned_cells(msh):
    """(owned cells' vertex coordinates (n, 3, 2), their facets (n, 3): facet i is opposite
    vertex i)."""
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim, tdim - 1)
    num = msh.topology.index_map(tdim).size_local
    x = msh.geometry.x[compat.geometry_dofmap(msh)[:num, :_NV], :2]
    c2f = msh.topology.connectivity(tdim, tdim - 1).array.reshape(-1, _NV)[:num]
    return x, c2f


def _by_point(points: np.ndarray, values: np.ndarray, reduce) -> tuple[np.ndarray, np.ndarray]:
    """(unique points, ``reduce`` (np.maximum / np.minimum) of the values at each)."""
    unique, inverse = np.unique(points.reshape(-1, 2), axis=0, return_inverse=True)
    out = np.full(len(unique), -np.inf if reduce is np.maximum else np.inf)
    reduce.at(out, inverse.ravel(), values)
    return unique, out


def singular_junctions(smesh: SeparatorMesh, config) -> list[Junction]:
    """The junctions of ``smesh`` (module docstring), the same list on every rank."""
    msh, comm = smesh.mesh, smesh.mesh.comm
    tags = _line_tags(smesh, config)
    if not tags or not comm.allreduce(
            any(len(smesh.facet_tags.find(t)) for t in tags), op=MPI.LOR):
        return []
    x, c2f = _owned_cells(msh)
    sigma = _cell_sigma(smesh, config, len(x))
    fmap = msh.topology.index_map(msh.topology.dim - 1)
    on_line = np.zeros(fmap.size_local + fmap.num_ghosts, dtype=bool)
    for tag in tags:
        on_line[smesh.facet_tags.find(tag)] = True
    pts, vals = [], []
    for i in range(_NV):  # facet i of every cell: its vertices i+1 and i+2
        hit = on_line[c2f[:, i]]
        for k in ((i + 1) % _NV, (i + 2) % _NV):
            pts.append(x[hit, k])
            vals.append(sigma[hit])
    gathered = comm.allgather((np.concatenate(pts), np.concatenate(vals)))
    pts, vals = (np.concatenate([g[k] for g in gathered]) for k in (0, 1))
    line_pts, s_line = _by_point(pts, vals, np.maximum)
    line_min = _by_point(pts, vals, np.minimum)[1]
    # the lowest sigma_li of the (owned) cells at each line point
    _, ids = np.unique(np.concatenate([line_pts, x.reshape(-1, 2)]), axis=0,
                       return_inverse=True)
    ids = ids.ravel()
    lowest = np.full(ids.max(initial=-1) + 1, np.inf)
    np.minimum.at(lowest, ids[len(line_pts):], np.repeat(sigma, _NV))
    s_low = lowest[ids[:len(line_pts)]]
    comm.Allreduce(MPI.IN_PLACE, s_low, op=MPI.MIN)
    # the line ends here: every cell along it is more conductive than the lowest cell at the
    # point (a crack crossing a phase boundary, with cells of both layers along it, is no end)
    lower = np.flatnonzero((s_low > 0.0) & (s_low < line_min * (1.0 - 1e-9)))
    return [Junction(float(line_pts[n, 0]), float(line_pts[n, 1]), float(s_line[n]),
                     float(s_low[n])) for n in lower]


#: the grading stops before the mesh exceeds this share of ``solver.max_cells`` (the adaptive
#: loop keeps room to refine elsewhere; ~40 cells per junction and halving)
CELL_SHARE = 0.25


def graded(smesh: SeparatorMesh, config, most: int | None = None) -> SeparatorMesh:
    """``smesh`` with the cells at every singular junction halved ``Junction.levels`` times
    (at most ``most`` times; module docstring), all junctions level by level, while the mesh
    stays within :data:`CELL_SHARE` of ``solver.max_cells``. ``info["singular_junctions"]``:
    their count, the smallest exponent, the halvings done and what stopped them ("levels",
    "cell size" or "cell budget"). The mesh itself when it has none."""
    from fem_sse.geometry.refine2d import refine_tagged, resolvable

    junctions = singular_junctions(smesh, config)
    if not junctions:
        return smesh
    points = np.array([(j.x, j.y) for j in junctions])
    cells_before = smesh.mesh.topology.index_map(2).size_global
    need = np.minimum([j.levels for j in junctions], MAX_LEVELS if most is None else most)
    budget = CELL_SHARE * config.solver.max_cells
    done, stop = 0, "levels"
    for level in range(int(need.max(initial=0))):
        x, _ = _owned_cells(smesh.mesh)
        near = np.zeros(len(x), dtype=bool)
        for p in points[need > level]:  # a cell with a vertex at the point
            near |= (x == p).all(axis=2).any(axis=1)
        cells = resolvable(smesh.mesh, np.flatnonzero(near).astype(np.int32))
        if not smesh.mesh.comm.allreduce(len(cells), op=MPI.SUM):
            stop = "cell size"
            break
        finer = refine_tagged(smesh, cells)
        if finer is smesh:  # refused (refine2d's parent check): as small as it goes
            stop = "cell size"
            break
        if finer.mesh.topology.index_map(2).size_global > budget:
            stop = "cell budget"
            break
        smesh, done = finer, level + 1
    info = dict(smesh.info)
    info["singular_junctions"] = {"count": len(junctions),
                                  "smallest_exponent": min(j.alpha for j in junctions),
                                  "levels": done, "stopped_by": stop}
    log.info("first mesh graded towards %d singular junction(s) (smallest exponent %.3g): "
             "%d halvings (stopped by %s), %d -> %d cells", len(junctions),
             info["singular_junctions"]["smallest_exponent"], done, stop, cells_before,
             smesh.mesh.topology.index_map(2).size_global)
    return SeparatorMesh(smesh.mesh, smesh.cell_tags, smesh.facet_tags, smesh.regions,
                         smesh.facet_groups, info)
