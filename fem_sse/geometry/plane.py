"""2D separator builder (Gmsh OpenCASCADE): layers, Voronoi grains, GB strips, defects.

Every input shape is created first (layer polygons with flat or rough phase boundaries, grain
polygons per layer, full-width bottleneck strips, pores, slits, crack lines, Li asperities), then
one boolean ``fragment`` makes the geometry conforming; each piece is classified by the inputs
it came from (priority: removed > bottleneck > grain > layer matrix). Pores, slits and asperities
are removed; what is left of their outline becomes ``pore<k>``, ``crack<k>`` and ``anode``
facets. Physical groups follow :mod:`fem_sse.geometry.regions`.

The geometry is built in micrometres (OpenCASCADE's tolerances are absolute, ~1e-7) and the
mesh is scaled back to metres after meshing.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict

import numpy as np

from fem_sse.spec.config import Config
from fem_sse.geometry.regions import MeshError
from fem_sse.geometry.shapes import asperity_polygon, drop_close_points, pb_profile, slit_polygon
from fem_sse.geometry.sizing import Feature, apply_size_fields, leave_room
from fem_sse.geometry.voronoi import shrink_polygon, voronoi_grains

__all__ = ["SCALE", "build_plane_model", "scale_mesh_to_metres"]

log = logging.getLogger(__name__)

SCALE = 1e6  # model units per metre while building


class _Shapes:
    """OCC entities created so far and the role of each (for classifying fragment pieces)."""

    def __init__(self, occ):
        self.occ = occ
        self.dimtags: list[tuple[int, int]] = []
        self.roles: list[tuple] = []

    def add(self, dimtags, role: tuple) -> None:
        for dimtag in dimtags:
            self.dimtags.append(dimtag)
            self.roles.append(role)

    def polygon(self, points_m: np.ndarray) -> int:
        """A plane surface through ``points_m`` (m, closed implicitly)."""
        occ = self.occ
        pts = [occ.addPoint(x * SCALE, y * SCALE, 0.0) for x, y in points_m]
        lines = [occ.addLine(p, q) for p, q in zip(pts, pts[1:] + pts[:1])]
        return occ.addPlaneSurface([occ.addCurveLoop(lines)])

    def ellipse(self, center, a, b, angle) -> int:
        """A filled ellipse (m, m, m, rad)."""
        if a < b:
            a, b, angle = b, a, angle + 0.5 * math.pi
        cx, cy = center[0] * SCALE, center[1] * SCALE
        disk = self.occ.addDisk(cx, cy, 0.0, a * SCALE, b * SCALE)
        if angle:
            self.occ.rotate([(2, disk)], cx, cy, 0.0, 0.0, 0.0, 1.0, angle)
        return disk


def _layer_outlines(config: Config) -> list[np.ndarray]:
    """Counter-clockwise outline (m) of every layer, with anode breakpoints at contact ends."""
    g = config.geometry2d
    width = g.width
    edges = config.layer_edges()
    spacing = g.sizes.size_pb
    bounds = [np.array([[0.0, 0.0], [0.0, width]])]
    bounds += [pb_profile(g.roughness, x, width, spacing, i) for i, x in enumerate(edges[1:-1])]
    ys = sorted({0.0, width, *(y for patch in g.anode_contact for y in patch)})
    bounds.append(np.array([[edges[-1], y] for y in ys]))
    return [np.vstack([right, left[::-1]]) for left, right in zip(bounds[:-1], bounds[1:])]


def _add_grains(shapes: _Shapes, config: Config, i: int, outline: np.ndarray) -> tuple[int, float]:
    """Grain surfaces of layer ``i``; returns (seeds, GB centre-line length in m)."""
    g = config.geometry2d
    spec, gb = g.grains[i], g.grain_boundaries
    box = (outline[:, 0].min(), outline[:, 0].max(), 0.0, g.width)
    dim = math.sqrt((box[1] - box[0]) * g.width / spec.count / spec.aspect)
    layout = voronoi_grains(spec.count, box, spec.seed, spec.aspect, spec.lloyd,
                            merge_tol=0.05 * dim)
    occ = shapes.occ
    surfaces = []
    if gb.model == "strip":
        for k in range(len(layout.cells)):
            pts = layout.polygon(k)
            offsets = np.array([0.0 if layout.edge_on_box(p, q) else 0.5 * gb.width
                                for p, q in zip(pts, np.roll(pts, -1, axis=0))])
            shrunk = drop_close_points(shrink_polygon(pts, offsets), 0.2 * gb.width)
            if len(shrunk) >= 3:
                surfaces.append((k, shapes.polygon(shrunk)))
    else:
        points = [occ.addPoint(x * SCALE, y * SCALE, 0.0) for x, y in layout.vertices]
        lines = {}
        for k, cell in enumerate(layout.cells):
            loop = []
            for a, b in zip(cell, cell[1:] + cell[:1]):
                key = (min(a, b), max(a, b))
                if key not in lines:
                    lines[key] = occ.addLine(points[a], points[b])
                loop.append(lines[key])
            surfaces.append((k, occ.addPlaneSurface([occ.addCurveLoop(loop)])))
    flat = np.allclose(outline[:, 0], box[0]) | np.allclose(outline[:, 0], box[1])
    rectangular = bool(np.all(flat))
    if not rectangular:  # rough phase boundary: clip the grains to the layer
        tool = shapes.polygon(outline)
        _, pieces = occ.intersect([(2, s) for _, s in surfaces], [(2, tool)])
        surfaces = [(k, t) for (k, _), children in zip(surfaces, pieces) for _, t in children]
    for k, tag in surfaces:
        shapes.add([(2, tag)], ("grain", i, k))
    return len(layout.cells), layout.boundary_length()


def _add_shapes(shapes: _Shapes, config: Config) -> dict:
    """Create every input shape; returns builder info (grain seeds, GB length)."""
    g = config.geometry2d
    occ = shapes.occ
    info = {"seeds_per_layer": [], "gb_centerline_length_m": 0.0}
    for i, outline in enumerate(_layer_outlines(config)):
        shapes.add([(2, shapes.polygon(outline))], ("layer", i))
        if g.grains[i] is not None:
            seeds, length = _add_grains(shapes, config, i, outline)
            info["gb_centerline_length_m"] += length
        else:
            seeds = 0
        info["seeds_per_layer"].append(seeds)
    for k, strip in enumerate(config.bottlenecks):
        rect = occ.addRectangle(strip.x0 * SCALE, 0.0, 0.0, strip.width * SCALE, g.width * SCALE)
        shapes.add([(2, rect)], ("bottleneck", k))
    for k, pore in enumerate(g.pores):
        shapes.add([(2, shapes.ellipse(pore.center, *pore.radii, pore.angle))], ("pore", k))
    for k, crack in enumerate(g.cracks):
        if crack.kind == "slit":
            shapes.add([(2, shapes.polygon(slit_polygon(crack)))], ("slit", k))
        else:
            a = occ.addPoint(crack.start[0] * SCALE, crack.start[1] * SCALE, 0.0)
            b = occ.addPoint(crack.end[0] * SCALE, crack.end[1] * SCALE, 0.0)
            shapes.add([(1, occ.addLine(a, b))], ("crack", k))
    for k, asp in enumerate(g.asperities):
        if asp.shape == "triangle":
            tag = shapes.polygon(asperity_polygon(asp, config.thickness))
        else:
            tag = shapes.ellipse((config.thickness, asp.y), asp.depth, 0.5 * asp.width, 0.0)
        shapes.add([(2, tag)], ("asperity", k))
    return info


def _classify_surfaces(shapes: _Shapes, pieces, config: Config):
    """Cell groups (name -> surfaces) and the surfaces to remove."""
    g = config.geometry2d
    roles_of = defaultdict(list)
    for role, children in zip(shapes.roles, pieces):
        for entity_dim, tag in children:  # Gmsh (dimension, tag) pairs: the surfaces
            if entity_dim == 2:
                roles_of[tag].append(role)
    cells, remove = defaultdict(list), []
    for tag, roles in roles_of.items():
        kinds = {r[0]: r for r in roles}
        layers = [r[1] for r in roles if r[0] == "layer"]
        if not layers or {"pore", "slit", "asperity"} & kinds.keys():
            remove.append(tag)
            continue
        i = layers[0]
        grain = next((r[2] for r in roles if r[0] == "grain" and r[1] == i), None)
        if "bottleneck" in kinds:
            name = f"bottleneck{kinds['bottleneck'][1]}/layer{i}"
        elif grain is not None:
            name = f"layer{i}/grain{grain}"
        elif g.grains[i] is not None and g.grain_boundaries.model == "strip":
            name = f"layer{i}/gb"
        else:
            name = f"layer{i}"
        cells[name].append(tag)
    return cells, remove


def _inside_ellipse(p, pore) -> float:
    c, s = math.cos(pore.angle), math.sin(pore.angle)
    dx, dy = p[0] - pore.center[0], p[1] - pore.center[1]
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (u / pore.radii[0]) ** 2 + (v / pore.radii[1]) ** 2


def _on_polygon(p, poly, tol) -> bool:
    for a, b in zip(poly, np.roll(poly, -1, axis=0)):
        t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
        if np.hypot(*(p - a - t * (b - a))) < tol:
            return True
    return False


def _boundary_name(p, config: Config, tol: float) -> str | None:
    """Facet group of a domain-boundary curve whose midpoint is ``p`` (m)."""
    g = config.geometry2d
    length = config.thickness
    if abs(p[0]) < tol:
        return "cathode"
    if abs(p[0] - length) < tol:
        if not g.anode_contact or any(y0 <= p[1] <= y1 for y0, y1 in g.anode_contact):
            return "anode"
        return "free_surface"
    if abs(p[1]) < tol:
        return "side_y0"
    if abs(p[1] - g.width) < tol:
        return "side_y1"
    for k, pore in enumerate(g.pores):
        if abs(_inside_ellipse(p, pore) - 1.0) < 1e-3:
            return f"pore{k}"
    for k, crack in enumerate(g.cracks):
        if crack.kind == "slit" and _on_polygon(p, slit_polygon(crack), tol):
            return f"crack{k}"
    for asp in g.asperities:
        if asp.shape == "triangle" and _on_polygon(p, asperity_polygon(asp, length), tol):
            return "anode"
        if asp.shape == "ellipse" and abs(((length - p[0]) / asp.depth) ** 2 +
                                          ((p[1] - asp.y) / (0.5 * asp.width)) ** 2 - 1) < 1e-3:
            return "anode"
    return None


def _midpoint(model, tag: int) -> np.ndarray:
    lo, hi = model.getParametrizationBounds(1, tag)
    x, y, _ = model.getValue(1, tag, [0.5 * (lo[0] + hi[0])])
    return np.array([x, y]) / SCALE


def _classify_curves(model, shapes: _Shapes, pieces, cells: dict, config: Config):
    """Facet groups (name -> curves) of the conforming geometry."""
    g = config.geometry2d
    facets = defaultdict(list)
    region_of = {s: name for name, tags in cells.items() for s in tags}
    surfaces = [(2, s) for s in region_of]
    boundary = {abs(t) for _, t in model.getBoundary(surfaces, combined=True, oriented=False)}
    tol = 1e-9 * max(config.thickness, g.width)
    existing = set(model.getEntities(1))
    cracks = {}
    for role, children in zip(shapes.roles, pieces):
        if role[0] == "crack":
            cracks.update({t: role[1] for d, t in children if d == 1})
    for curve in sorted({abs(t) for _, t in model.getBoundary(surfaces, combined=False,
                                                               oriented=False)} | set(cracks)):
        if curve in cracks:
            if (1, curve) in existing:
                facets[f"crack{cracks[curve]}"].append(curve)
            continue
        up, _ = model.getAdjacencies(1, curve)
        adjacent = [region_of[s] for s in up if s in region_of]
        if not adjacent:
            continue
        if curve in boundary:
            name = _boundary_name(_midpoint(model, curve), config, tol)
            if name is None:
                p = _midpoint(model, curve)
                raise MeshError("geometry", f"boundary curve at ({p[0]:.4g}, {p[1]:.4g}) m "
                                            "matches no facet group")
            facets[name].append(curve)
        elif len(adjacent) == 2:
            a, b = adjacent
            la, lb = (int(re.search(r"layer(\d+)", n)[1]) for n in (a, b))
            if la != lb:
                facets[f"pb{min(la, lb)}"].append(curve)
            elif (g.grain_boundaries is not None and g.grain_boundaries.model == "interface"
                  and "/grain" in a and "/grain" in b and a != b):
                facets["gb"].append(curve)
    return facets


def _features(model, cells, facets, config: Config) -> list[Feature]:
    """Size-field families: GB, PB, electrodes, contact edges, crack tips, pores, strips."""
    g = config.geometry2d
    sz = g.sizes

    def curves_of(names):
        return tuple(sorted({c for n in names for c in facets.get(n, ())}))

    def boundary_of(names):
        dimtags = [(2, s) for n in names for s in cells.get(n, ())]
        if not dimtags:
            return ()
        return tuple(sorted({abs(t) for _, t in model.getBoundary(dimtags, combined=False,
                                                                   oriented=False)}))

    def points_near(xy_list, radius):
        tags = set()
        for x, y in xy_list:
            x, y, r = x * SCALE, y * SCALE, radius * SCALE
            tags.update(t for _, t in model.getEntitiesInBoundingBox(x - r, y - r, -1, x + r,
                                                                     y + r, 1, 0))
        return tuple(sorted(tags))

    names = set(cells) | set(facets)
    eps = 1e-6 * min(config.thickness, g.width)
    tips = [p for c in g.cracks for p in (c.start, c.end)]
    contact_ends = [(config.thickness, y) for patch in g.anode_contact for y in patch
                    if 0.0 < y < g.width]
    out = [
        Feature(1, boundary_of([n for n in names if n.endswith("/gb")]), sz.size_gb),
        Feature(1, curves_of(["gb"]), sz.size_gb),
        Feature(1, curves_of([n for n in names if n.startswith("pb")]), sz.size_pb),
        Feature(1, curves_of(["cathode", "anode"]), sz.size_electrode),
        Feature(1, curves_of([n for n in names if n.startswith("pore")]), sz.size_pore),
        Feature(1, curves_of([n for n in names if n.startswith("crack")]),
                max(sz.size_crack_tip, min(sz.size_pb, sz.size_gb))),
        Feature(0, points_near(tips, max([eps, *(0.5 * c.width for c in g.cracks if c.width)])),
                sz.size_crack_tip),
        Feature(0, points_near(contact_ends, eps), min(sz.size_electrode, sz.size_crack_tip)),
    ]
    for k, strip in enumerate(config.bottlenecks):
        out.append(Feature(1, boundary_of([n for n in names if n.startswith(f"bottleneck{k}/")]),
                           strip.width / sz.bottleneck_cells))
    return [Feature(f.dim, f.tags, f.size * SCALE) for f in out]


def build_plane_model(model, config: Config, name: str = "separator2d"):
    """Add the 2D separator of ``config`` to the Gmsh ``model``, with groups but no mesh.

    Args:
        model: ``gmsh.model`` (Gmsh must be initialised).
        config: validated configuration with ``dim = 2`` and no ``mesh_file``.
        name: Gmsh model name.

    Returns:
        (cells, facets, features, info): group name -> entity tags for cells (dim 2) and
        facets (dim 1), the size-field features (model units) and builder info.
    """
    model.add(name)
    occ = model.occ
    shapes = _Shapes(occ)
    info = _add_shapes(shapes, config)
    if len(shapes.dimtags) > 1:
        _, pieces = occ.fragment(shapes.dimtags[:1], shapes.dimtags[1:])
    else:
        pieces = [list(shapes.dimtags)]
    occ.synchronize()
    cells, remove = _classify_surfaces(shapes, pieces, config)
    if remove:
        occ.remove([(2, t) for t in remove], recursive=True)
        occ.synchronize()
    facets = _classify_curves(model, shapes, pieces, cells, config)
    info["grains_per_layer"] = [sum(1 for n in cells if n.startswith(f"layer{i}/grain"))
                                for i in range(len(config.layers))]
    return dict(cells), dict(facets), _features(model, cells, facets, config), info


def mesh_plane_model(model, features: list[Feature], config: Config, threads: int = 1) -> None:
    """Size fields, 2D mesh (Frontal-Delaunay), coarsened when it leaves the adaptive loop
    no room (:func:`~fem_sse.geometry.sizing.leave_room`), then coordinates in metres."""
    import gmsh

    sizes = config.geometry2d.sizes
    apply_size_fields(model, features, sizes.size_bulk * SCALE, sizes.grading)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("General.NumThreads", threads)
    model.mesh.generate(2)
    if config.solver.adaptive:  # without refinement the first mesh is the answer's
        leave_room(model, config.solver.max_cells)
    scale_mesh_to_metres(model)


def scale_mesh_to_metres(model) -> None:
    """Node coordinates from model units (1/SCALE m) back to metres."""
    s = 1.0 / SCALE
    model.mesh.affineTransform([s, 0, 0, 0, 0, s, 0, 0, 0, 0, s, 0])
