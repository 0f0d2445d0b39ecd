"""Initial state of a 2D transport solve from the exact 1D solution of the stack (issue 16).

The exact 1D profile mu(x) of the laterally averaged stack (:meth:`Config.stack_1d`) is the
solution of a laterally uniform stack, and a close start for most others. Sampled at x alone it
is a poor start where a phase boundary is rough: cells of one material that reach across the
mean PB position get the mu of the other layer, i.e. W(mu) of their own material far from
anything the solution has (residuals of 1e22 were measured at the first Newton step, and every
continuation failed at its start).

Here every column y is mapped onto the 1D stack piece by piece: each constant-property segment
of the 1D stack (layer, or strip in a layer) occupies in column y the interval between its two
boundaries there, a phase boundary at x_pb + h(y) (the same profile as the builder,
:func:`fem_sse.geometry.shapes.pb_profile`) and a strip edge at its fixed x. A dof of a cell of
region r is mapped affinely from r's interval in its column to the 1D segment, so every
material sees its own layer's part of the 1D profile, and mu is continuous across flat and
rough phase boundaries alike. Grains, GBs, pores, cracks and partial contact are ignored (the
solver starts from there).
"""

from __future__ import annotations

import re

import numpy as np

from fem_sse.spec.config import Config

__all__ = ["column_mu"]

_STRIP = re.compile(r"bottleneck(\d+)/layer(\d+)$")


def _boundaries(config: Config, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per segment of the 1D stack, its (start, end) x in every column ``y`` (m)."""
    from fem_sse.geometry.shapes import pb_profile

    g = config.geometry2d
    stack = config.stack_1d()
    edges = config.layer_edges()
    pbs = {}
    for i, x_pb in enumerate(edges[1:-1]):
        pts = pb_profile(g.roughness, x_pb, g.width, g.sizes.size_pb, i)
        pbs[float(x_pb)] = np.interp(y, pts[:, 1], pts[:, 0])

    def at(x: float) -> np.ndarray:  # a segment end in every column: a PB, or a fixed x
        near = [p for p in pbs if abs(p - x) <= 1e-9 * stack.thickness]
        return pbs[near[0]] if near else np.full(y.shape, x)

    return [(at(seg.x0), at(seg.x1)) for seg in stack.segments()]


def _segment_of_region(config: Config, regions: dict) -> dict[int, list[int]]:
    """Region tag -> the 1D segments it may lie in (its layer's, strips separately)."""
    segments = config.stack_1d().segments()
    out = {}
    for tag, region in regions.items():
        match = _STRIP.match(region.name)
        strip = int(match[1]) if match else None
        out[tag] = [k for k, seg in enumerate(segments)
                    if seg.layer == region.layer and seg.bottleneck == strip]
    return out


def column_mu(problem, xs: np.ndarray, mus: np.ndarray) -> np.ndarray:
    """mu_Li0 (eV) at every dof of ``problem.V`` from the 1D profile (xs (m), mus (eV)) mapped
    column by column (module docstring)."""
    config = problem.config
    segments = config.stack_1d().segments()
    coords = problem.V.tabulate_dof_coordinates()
    x, y = coords[:, 0], coords[:, 1]
    # region tag of every dof (DG: each dof belongs to one cell)
    tag = np.zeros(x.size, dtype=np.int64)
    region_of_cell = np.rint(problem.fields["region_id"].x.array[
        problem.Q.dofmap.list[:, 0]]).astype(np.int64)
    dofs = problem.V.dofmap.list
    tag[dofs.ravel()] = np.repeat(region_of_cell, dofs.shape[1])
    bounds = _boundaries(config, y)
    candidates = _segment_of_region(config, problem.smesh.regions)
    xi = x.copy()
    best = np.full(x.size, np.inf)
    for t, ks in candidates.items():
        rows = np.flatnonzero(tag == t)
        for k in ks:
            a, b = bounds[k][0][rows], bounds[k][1][rows]
            s = np.clip((x[rows] - a) / np.maximum(b - a, 1e-300), 0.0, 1.0)
            miss = np.maximum(a - x[rows], 0.0) + np.maximum(x[rows] - b, 0.0)
            better = miss < best[rows]
            seg = segments[k]
            xi[rows[better]] = seg.x0 + s[better] * (seg.x1 - seg.x0)
            best[rows[better]] = miss[better]
    return np.interp(xi, xs, mus)
