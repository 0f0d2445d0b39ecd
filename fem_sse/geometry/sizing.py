"""Gmsh size fields: fine at features (curves, points), graded to the bulk size away from them.

Each feature family gets a Distance field and a Threshold field: size ``h`` within distance
``h`` of the feature, growing linearly to ``h_bulk`` over ``(h_bulk - h) / grading``; the
background field is the Min of all of them. Sizes come from the geometry's own mesh extension
only through these fields (``Mesh.MeshSizeExtendFromBoundary = 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Feature", "apply_size_fields"]


@dataclass(frozen=True)
class Feature:
    """Curves (dim 1) or points (dim 0) that want cells of size ``size`` (model units)."""

    dim: int
    tags: tuple[int, ...]
    size: float


def _longest_curve(model, tags) -> float:
    longest = 0.0
    for tag in tags:
        xmin, ymin, _, xmax, ymax, _ = model.getBoundingBox(1, tag)
        longest = max(longest, math.hypot(xmax - xmin, ymax - ymin))
    return longest


def apply_size_fields(model, features: list[Feature], h_bulk: float, grading: float) -> None:
    """Set the background mesh of ``model`` from ``features`` (sizes in model units).

    Args:
        model: ``gmsh.model`` with its geometry synchronised.
        features: the feature families; empty ones are skipped.
        h_bulk: size far from every feature.
        grading: growth rate of the size with the distance (-).
    """
    import gmsh

    field = model.mesh.field
    thresholds = []
    for feature in features:
        if not feature.tags:
            continue
        h = min(feature.size, h_bulk)
        distance = field.add("Distance")
        if feature.dim == 0:
            field.setNumbers(distance, "PointsList", list(feature.tags))
        else:
            field.setNumbers(distance, "CurvesList", list(feature.tags))
            samples = math.ceil(_longest_curve(model, feature.tags) / h) + 2
            field.setNumber(distance, "Sampling", min(max(samples, 20), 5000))
        threshold = field.add("Threshold")
        field.setNumber(threshold, "InField", distance)
        field.setNumber(threshold, "SizeMin", h)
        field.setNumber(threshold, "SizeMax", h_bulk)
        field.setNumber(threshold, "DistMin", h)
        field.setNumber(threshold, "DistMax", h + max(h_bulk - h, 0.0) / grading)
        thresholds.append(threshold)
    if thresholds:
        smallest = field.add("Min")
        field.setNumbers(smallest, "FieldsList", thresholds)
        field.setAsBackgroundMesh(smallest)
    sizes = [f.size for f in features if f.tags] + [h_bulk]
    for key, value in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                       ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.MeshSizeMax", h_bulk),
                       ("Mesh.MeshSizeMin", 0.5 * min(sizes))):
        gmsh.option.setNumber(key, value)
