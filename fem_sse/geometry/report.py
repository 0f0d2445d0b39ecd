"""Mesh report (cells, sizes per region, grains, GB length, quality) and a region PNG.

Both work on a meshed Gmsh model with the conventional physical groups (rank 0, before or
without the DOLFINx conversion). Lengths in m, areas in m^2; the cell size h is the longest edge.
"""

from __future__ import annotations

import numpy as np

__all__ = ["format_report", "mesh_report", "plot_regions"]


def _nodes(model) -> tuple[np.ndarray, np.ndarray]:
    tags, coords, _ = model.mesh.getNodes()
    index = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    index[tags.astype(np.int64)] = np.arange(len(tags))
    return index, coords.reshape(-1, 3)[:, :2]


def _group_elements(model, dim: int, tag: int) -> tuple[np.ndarray, np.ndarray]:
    """(element tags, (n, dim + 1) node tags) of the simplices of a physical group."""
    etags, enodes = [], []
    for entity in model.getEntitiesForPhysicalGroup(dim, tag):
        _, tags, nodes = model.mesh.getElements(dim, int(entity))
        for e, n in zip(tags, nodes):
            etags.append(e)
            enodes.append(n.reshape(len(e), -1)[:, :dim + 1])
    if not etags:
        return np.empty(0, dtype=np.int64), np.empty((0, dim + 1), dtype=np.int64)
    return np.concatenate(etags), np.vstack(enodes).astype(np.int64)


def _cells_by_region(model, regions) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    return {tag: _group_elements(model, 2, tag) for tag in regions}


def _gb_strip_length(xy, index, cells, regions) -> float:
    """Half the length of the edges between GB-strip cells and other cells (m)."""
    tri, is_gb = [], []
    for tag, (_, nodes) in cells.items():
        tri.append(index[nodes])
        is_gb.append(np.full(len(nodes), regions[tag].kind == "gb_strip"))
    tri, is_gb = np.vstack(tri), np.concatenate(is_gb)
    if not is_gb.any():
        return 0.0
    edges = np.sort(np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    owner_gb = np.tile(is_gb, 3)
    key = edges[:, 0] * (len(xy) + 1) + edges[:, 1]
    uniq, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True,
                                             return_counts=True)
    gb_count = np.bincount(inverse, weights=owner_gb)
    mixed = (counts == 2) & (gb_count == 1)
    e = edges[first[mixed]]
    return 0.5 * float(np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1).sum())


def mesh_report(model, regions: dict, facet_groups: dict, info: dict | None = None) -> dict:
    """Figures of a meshed 2D model.

    Returns:
        A JSON-ready dict: cells, vertices, per-region cells / area (m^2) / h_min, h_max (m),
        grains, gb_length_m, facet groups (facets, length in m), quality (min/mean SICN and
        gamma = 2 r_in / r_circ), and the builder ``info``.
    """
    index, xy = _nodes(model)
    cells = _cells_by_region(model, regions)
    per_region, used, all_tags = {}, [], []
    for tag, (etags, nodes) in cells.items():
        p = xy[index[nodes]]
        e = np.linalg.norm(p - np.roll(p, -1, axis=1), axis=2)
        u, v = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
        region = regions[tag]
        per_region[region.name] = {
            "tag": int(tag), "kind": region.kind, "material": region.material,
            "cells": int(len(etags)), "area_m2": float(area.sum()),
            "h_min_m": float(e.max(axis=1).min()) if len(e) else None,
            "h_max_m": float(e.max(axis=1).max()) if len(e) else None}
        used.append(nodes.ravel())
        all_tags.append(etags)
    all_tags = np.concatenate(all_tags)
    quality = {}
    for name in ("minSICN", "gamma"):
        q = np.asarray(model.mesh.getElementQualities(all_tags, name))
        quality[name] = {"min": float(q.min()), "mean": float(q.mean())}
    facets = {}
    for name, tag in facet_groups.items():
        _, nodes = _group_elements(model, 1, tag)
        p = xy[index[nodes]]
        facets[name] = {"tag": int(tag), "facets": int(len(nodes)),
                        "length_m": float(np.linalg.norm(p[:, 1] - p[:, 0], axis=1).sum())}
    gb_length = (facets["gb"]["length_m"] if "gb" in facets
                 else _gb_strip_length(xy, index, cells, regions))
    return {
        "cells": int(len(all_tags)), "vertices": int(len(np.unique(np.concatenate(used)))),
        "area_m2": float(sum(r["area_m2"] for r in per_region.values())),
        "grains": sum(1 for r in per_region.values() if r["kind"] == "grain" and r["cells"]),
        "gb_length_m": gb_length, "quality": quality, "regions": per_region,
        "facet_groups": facets, "info": dict(info or {}),
    }


def format_report(report: dict) -> str:
    """A printable table of :func:`mesh_report`."""
    q = report["quality"]
    lines = [f"cells {report['cells']}, vertices {report['vertices']}, area "
             f"{report['area_m2']:.6g} m^2, grains {report['grains']}, GB length "
             f"{report['gb_length_m']:.6g} m",
             f"quality: SICN min {q['minSICN']['min']:.3f} mean {q['minSICN']['mean']:.3f}; "
             f"gamma min {q['gamma']['min']:.3f} mean {q['gamma']['mean']:.3f}",
             f"{'region':<24} {'kind':<10} {'cells':>8} {'area (m^2)':>12} {'h_min (m)':>10} "
             f"{'h_max (m)':>10}"]
    regions = report["regions"]
    shown = [n for n in regions if regions[n]["kind"] != "grain"]
    grains = [r for r in regions.values() if r["kind"] == "grain"]
    for name in shown:
        r = regions[name]
        lines.append(f"{name:<24} {r['kind']:<10} {r['cells']:>8} {r['area_m2']:>12.5g} "
                     f"{r['h_min_m']:>10.3g} {r['h_max_m']:>10.3g}")
    if grains:
        lines.append(f"{'(all grains)':<24} {'grain':<10} {sum(r['cells'] for r in grains):>8} "
                     f"{sum(r['area_m2'] for r in grains):>12.5g} "
                     f"{min(r['h_min_m'] for r in grains):>10.3g} "
                     f"{max(r['h_max_m'] for r in grains):>10.3g}")
    lines.append("facet groups: " + ", ".join(
        f"{n} ({f['tag']}): {f['facets']} facets, {f['length_m']:.4g} m"
        for n, f in report["facet_groups"].items()))
    return "\n".join(lines)


_KIND_COLOURS = {"gb_strip": (0.1, 0.1, 0.1, 1.0), "bottleneck": (0.85, 0.1, 0.1, 1.0),
                 "custom": (0.6, 0.6, 0.6, 1.0)}
_FACET_COLOURS = {"cathode": "tab:blue", "anode": "tab:red", "free_surface": "tab:orange",
                  "gb": "k", "pb": "tab:purple", "crack": "tab:green", "pore": "tab:cyan",
                  "side": "0.5"}


def plot_regions(model, regions: dict, facet_groups: dict, path, edges: bool | None = None):
    """Save a PNG of the mesh coloured by region (grains in a cycle of pale colours).

    Args:
        model: meshed ``gmsh.model``.
        regions: cell tag -> Region.
        facet_groups: facet name -> tag (drawn as coloured lines, GBs thin black).
        path: output PNG.
        edges: draw the cell edges (default: when there are fewer than 20000 cells).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection

    index, xy = _nodes(model)
    xy = xy * 1e6
    pastel = plt.get_cmap("Pastel1").colors + plt.get_cmap("Pastel2").colors
    layer_colours = plt.get_cmap("Set3").colors
    polys, colours = [], []
    for tag, (_, nodes) in _cells_by_region(model, regions).items():
        region = regions[tag]
        if region.kind == "grain":
            colour = (*pastel[(region.grain * 7 + region.layer * 3) % len(pastel)][:3], 1.0)
        elif region.kind == "layer":
            colour = (*layer_colours[region.layer % len(layer_colours)][:3], 1.0)
        else:
            colour = _KIND_COLOURS.get(region.kind, (0.6, 0.6, 0.6, 1.0))
        polys.append(xy[index[nodes]])
        colours.append(np.tile(colour, (len(nodes), 1)))
    polys, colours = np.vstack(polys), np.vstack(colours)
    if edges is None:
        edges = len(polys) < 20000
    extent = xy.max(axis=0) - xy.min(axis=0)
    fig, ax = plt.subplots(figsize=(7.5, 6 * max(0.3, min(3.0, extent[1] / extent[0]))))
    ax.add_collection(PolyCollection(polys, facecolors=colours,
                                     edgecolors=(0.3, 0.3, 0.3, 0.5) if edges else "face",
                                     linewidths=0.15 if edges else 0.05))
    for name, tag in sorted(facet_groups.items()):
        family = name.rstrip("0123456789").replace("side_y", "side")
        _, nodes = _group_elements(model, 1, tag)
        if not len(nodes):
            continue
        ax.add_collection(LineCollection(xy[index[nodes]], colors=_FACET_COLOURS.get(family, "m"),
                                         linewidths=0.4 if family == "gb" else 1.5,
                                         label=name if family != "gb" else "gb (interface)"))
    pad = 0.01 * extent.max()
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (um), cathode at 0")
    ax.set_ylabel("y (um)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
