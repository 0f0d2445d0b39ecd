"""Laterally uniform 2D stacks meshed as the extrusion of the graded 1D line.

A stack of full-width layers and bottleneck strips with nothing that varies along y (no grains,
pores, cracks, roughness, partial contact or asperities) has laterally uniform fields, but
electronic boundary layers as thin as the drift length kT sigma_li / j_i (nanometres in a
blocking strip) across the thickness. Isotropic triangles resolving them along the whole width
cost millions of cells; here the 1D mesh sizes of :func:`fem_sse.geometry.line.segment_sizes`
are extruded in y over two layers of cells, giving anisotropic triangles: thin across the
thickness, wide along it. The physical groups follow the 2D convention (:mod:`.regions`).
"""

from __future__ import annotations

from fem_sse.spec.config import Config
from fem_sse.geometry.line import segment_sizes
from fem_sse.geometry.plane import SCALE, scale_mesh_to_metres

__all__ = ["build_stacked_model", "is_laterally_uniform"]

_LATERAL_CELLS = 2


def is_laterally_uniform(config: Config) -> bool:
    """True when nothing in the 2D geometry of ``config`` varies along y."""
    g = config.geometry2d
    if g is None or g.mesh_file:
        return False
    return (all(spec is None or spec.count == 0 for spec in g.grains)
            and g.grain_boundaries is None and g.roughness is None and not g.pores
            and not g.cracks and not g.anode_contact and not g.asperities
            and not g.region_materials)


def _segment_group(config: Config, seg) -> str:
    if seg.bottleneck is None:
        return f"layer{seg.layer}"
    return f"bottleneck{seg.bottleneck}/layer{seg.layer}"


def build_stacked_model(model, config: Config, name: str = "separator2d_stacked"):
    """Add the extruded 2D stack of ``config`` to the Gmsh ``model`` and mesh it (metres).

    Returns:
        (cells, facets, info): group name -> surface tags, group name -> curve tags, and
        builder facts (lateral cells, smallest cell thickness (m)).
    """
    import gmsh

    g = config.geometry2d
    model.add(name)
    edges, sizes = segment_sizes(config)
    # the fields do not vary along y: the fewest lateral cells leave the adaptive loop its
    # whole cell budget for the thickness (ceil(W / size_bulk) layers started a thin-strip
    # stack above solver.max_cells, so that it could not refine at all)
    lateral = _LATERAL_CELLS
    points = [model.geo.addPoint(x * SCALE, 0.0, 0.0, float(h) * SCALE)
              for x, h in zip(edges, sizes)]
    lines = [model.geo.addLine(p, q) for p, q in zip(points[:-1], points[1:])]
    # one extrusion of all lines, so that neighbouring segments share their side curve; per
    # line Gmsh returns (top, surface, side at the end point, -side at the start point)
    out = model.geo.extrude([(1, line) for line in lines], 0.0, g.width * SCALE, 0.0,
                            numElements=[lateral])
    segments = config.stack_1d().segments()
    cells, facets = {}, {"side_y0": list(lines), "side_y1": []}
    sides = [abs(out[3][1])]  # the curve swept by each segment end point, x = edges[i]
    for i, seg in enumerate(segments):
        top, surface, end = (tag for _, tag in out[4 * i: 4 * i + 3])
        facets["side_y1"].append(top)
        cells.setdefault(_segment_group(config, seg), []).append(surface)
        sides.append(end)
    model.geo.synchronize()
    facets["cathode"], facets["anode"] = [sides[0]], [sides[-1]]
    for i, x in enumerate(config.interfaces):
        k = min(range(len(edges)), key=lambda j, x=x: abs(edges[j] - x))
        facets[f"pb{i}"] = [sides[k]]
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    model.mesh.generate(2)
    scale_mesh_to_metres(model)  # built in micrometres: Gmsh's tolerances are absolute
    info = {"structured": True, "lateral_cells": lateral,
            "min_cell_thickness_m": float(min(sizes)), "grains_per_layer": [0] * len(config.layers)}
    return cells, facets, info
