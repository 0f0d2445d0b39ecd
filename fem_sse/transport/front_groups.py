"""Fronts that are one crossing: the pieces marching triangles finds of a crossing that runs
along an electrode, a phase boundary or mesh vertices, joined into one front (2D metrics,
:mod:`fem_sse.transport.metrics2d`; rank 0, plain dicts of fronts.json).

* Electrode boundary layers (:func:`merge_boundary_layers`): the pieces inside the first cell
  of an electrode and the facet front there.
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

__all__ = ["merge_boundary_layers", "merge_fragments"]

#: fragments closer than this share of the thickness in x belong to one crossing
_FRAGMENT_GAP = 1e-3


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
