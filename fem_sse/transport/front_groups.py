"""Fronts that are one crossing: the pieces marching triangles finds of a crossing that runs
along an electrode, a phase boundary or mesh vertices, joined into one front (2D metrics,
:mod:`fem_sse.transport.metrics2d`; rank 0, plain dicts of fronts.json).

* Electrode boundary layers (:func:`merge_boundary_layers`): the pieces inside the first cell
  of an electrode and the facet front there.
* Interface layers (:func:`merge_interface_layers`): fronts shorter than
  :data:`INTERFACE_PIECE` of the cathode length whose every point lies within
  :data:`INTERFACE_BAND` L of one phase boundary, in a material on its sides. Where a rough
  phase boundary pushes a layer into a neighbour whose mu_Li0 lies on the other side of the
  layer's B, the crossing runs in a thin layer along the boundary, in pieces whose number and
  lengths change from mesh to mesh (stress2d 5:42: 38 pieces of 1e-11 to 9e-8 m within 0.2 um
  of its rough M0/M1 boundary, 1 to 6 of them above ``RESOLVED_COVERAGE``; "jumps moved 1.0 L" on
  5 of 10 steps). They are one front per boundary and material, ``boundary_layer`` the
  boundary's name (``pb0``, ...) and ``pieces`` their number; like fragments, the loop does
  not compare it (:attr:`fem_sse.transport.results.Jump.resolved`).
* Fragments (:func:`merge_fragments`): fronts shorter than
  :data:`~fem_sse.transport.results.RESOLVED_COVERAGE` of the cathode length, of one material
  and direction, within 1e-3 L of each other in x. stress2d 3:21 listed 37 such pieces of
  1e-13 to 6e-11 m along a phase boundary, a different number on every mesh; they are one
  front with ``pieces`` = 37 and ``boundary_layer`` "fragments", which the loop does not
  compare whatever its length (:attr:`fem_sse.transport.results.Jump.resolved`).
"""

from __future__ import annotations

import numpy as np

from fem_sse.transport.results import FRAGMENTS, RESOLVED_COVERAGE

__all__ = ["INTERFACE_BAND", "INTERFACE_PIECE", "merge_boundary_layers", "merge_fragments",
           "merge_interface_layers"]

#: fragments closer than this share of the thickness in x belong to one crossing
_FRAGMENT_GAP = 1e-3
#: a front along a phase boundary lies within this share of the thickness of it (m / m) ...
INTERFACE_BAND = 1e-2
#: ... and is shorter than this share of the cathode length (a front across the stack that
#: happens to lie next to a boundary is a jump of its own)
INTERFACE_PIECE = 0.1


def _joined(parts: list[dict], **keys) -> dict:
    """One front of ``parts`` (their lengths summed, x weighted by length, points together)."""
    lengths = np.array([p["length_m"] for p in parts])
    return dict(parts[0], length_m=float(lengths.sum()),
                x_mean_m=float(np.average([p["x_mean_m"] for p in parts],
                                          weights=lengths if lengths.sum() else None)),
                x_min_m=min(p["x_min_m"] for p in parts),
                x_max_m=max(p["x_max_m"] for p in parts),
                points_m=[q for p in parts for q in p["points_m"]], **keys)


def merge_boundary_layers(fronts: list[dict], at_electrodes: list[dict], bands: dict,
                           length: float) -> list[dict]:
    """One front per electrode boundary layer and material: the marching-triangle pieces that
    lie within the first cell of an electrode (``bands``: its largest extent in x, m) are the
    same crossing as the facet front there (the weak electrode value sends some vertices
    across B and not others), so they are joined to it."""
    groups, rest = {}, []
    for f in at_electrodes:
        groups[(f["boundary_layer"], f["material"])] = [f]
    for f in fronts:
        xs = np.array(f["points_m"])[:, 0]
        side = ("cathode" if xs.max() <= bands["cathode"] else
                "anode" if xs.min() >= length - bands["anode"] else None)
        if side is None:
            rest.append(f)
        else:
            groups.setdefault((side, f["material"]), []).append(f)
    rest += [_joined(parts, boundary_layer=side) for (side, _), parts in groups.items()]
    return sorted(rest, key=lambda f: f["x_mean_m"])


def _distances(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance (m) of each point (n, 2) to the nearest of the segments (m, 2, 2)."""
    a, d = segments[:, 0], segments[:, 1] - segments[:, 0]
    rel = points[:, None, :] - a[None]
    t = np.clip(np.einsum("nmk,mk->nm", rel, d) / np.maximum((d * d).sum(axis=1), 1e-300),
                0.0, 1.0)
    return np.linalg.norm(rel - t[..., None] * d[None], axis=-1).min(axis=1)


def _along(front: dict, interfaces: dict, band: float) -> str | None:
    """The phase boundary ``front`` runs along (every point within ``band`` m of it, its
    material on one of its sides), or None."""
    points = np.asarray(front["points_m"], dtype=float).reshape(-1, 2)
    for name, (segments, materials) in interfaces.items():
        near = segments[(segments[:, :, 0].max(axis=1) >= front["x_min_m"] - band)
                        & (segments[:, :, 0].min(axis=1) <= front["x_max_m"] + band)]
        if (front["material"] in materials and len(near) and len(points)
                and _distances(points, near).max() <= band):
            return name
    return None


def merge_interface_layers(fronts: list[dict], interfaces: dict, area: float,
                           length: float) -> list[dict]:
    """The fronts with those along a phase boundary (module docstring) joined, one per
    boundary and material; ``interfaces``: name -> (facets (m, 2, 2), materials on its sides)
    (:func:`fem_sse.transport.metrics2d.interface_segments`); ``area``: the cathode length,
    ``length``: the thickness (m). A joined front's direction is that of most of its length."""
    groups: dict = {}
    rest = []
    for f in fronts:
        short = "boundary_layer" not in f and f["length_m"] < INTERFACE_PIECE * area
        name = _along(f, interfaces, INTERFACE_BAND * length) if short else None
        if name is None:
            rest.append(f)
        else:
            groups.setdefault((name, f["material"]), []).append(f)
    for (name, _), parts in groups.items():
        up = sum(p["length_m"] for p in parts if p["direction"] == "up")
        down = sum(p["length_m"] for p in parts if p["direction"] != "up")
        rest.append(_joined(parts, pieces=len(parts), boundary_layer=name,
                            direction="up" if up >= down else "down"))
    return sorted(rest, key=lambda f: f["x_mean_m"])


def merge_fragments(fronts: list[dict], area: float, length: float) -> list[dict]:
    """The fronts with their fragments (module docstring) joined: one front per material,
    direction and cluster in x (gaps above 1e-3 of ``length``, m); ``area``: the cathode
    length (m). A joined front says how many ``pieces`` it has."""
    small, rest = [], []
    for f in fronts:
        fragment = "boundary_layer" not in f and f["length_m"] < RESOLVED_COVERAGE * area
        (small if fragment else rest).append(f)
    groups: dict = {}
    for f in sorted(small, key=lambda f: f["x_mean_m"]):
        key = (f["material"], f["direction"])
        clusters = groups.setdefault(key, [])
        reach = max(g["x_max_m"] for g in clusters[-1]) if clusters else -np.inf
        if f["x_min_m"] - reach <= _FRAGMENT_GAP * length:
            clusters[-1].append(f)
        else:
            clusters.append([f])
    for parts in (parts for clusters in groups.values() for parts in clusters):
        if len(parts) == 1:
            rest.append(parts[0])
            continue
        joined = _joined(parts, pieces=len(parts), boundary_layer=FRAGMENTS)
        # the pieces lie along one line (a phase boundary): drawn in order along it
        rest.append(dict(joined, points_m=sorted(joined["points_m"], key=lambda p: p[1])))
    return sorted(rest, key=lambda f: f["x_mean_m"])
