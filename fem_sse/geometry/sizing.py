"""Gmsh size fields: fine at features (curves, points), graded to the bulk size away from them.

Each feature family gets a Distance field and a Threshold field: size ``h`` within distance
``h`` of the feature, growing linearly to ``h_bulk`` over ``(h_bulk - h) / grading``; the
background field is the Min of all of them. Sizes come from the geometry's own mesh extension
only through these fields (``Mesh.MeshSizeExtendFromBoundary = 0``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

__all__ = ["Feature", "apply_size_fields", "leave_room"]

log = logging.getLogger(__name__)

#: share of ``solver.max_cells`` the first mesh of an adaptive run may take: the rest is the
#: adaptive loop's room (a first mesh above the cap stopped the loop at step 0, not converged)
ROOM = 0.5
#: most cells the first mesh of an adaptive run may take, whatever the cap: the loop refines
#: where its indicators say (the 2D cap of 160 000 would otherwise let a first mesh of 80 000
#: cells stand, every Newton solve on it slower than the refined meshes need)
FIRST_CELLS = 10000
#: largest factor on every mesh size when coarsening the first mesh (cells / 16)
MAX_COARSENING = 4.0


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


def _cells(model, dim: int) -> int:
    return sum(len(tags) for tags in model.mesh.getElements(dim)[1])


def leave_room(model, max_cells: int, dim: int = 2, above: float | None = None) -> None:
    """Remesh ``model`` (meshed in ``dim`` = 1 or 2) coarser, down to the target
    min(ROOM * ``max_cells``, FIRST_CELLS) cells, when it has more than the target (or, with
    ``above``, more than ``above`` * ``max_cells``): every size (features included, so
    thin strips keep their share of cells) times one factor, at most MAX_COARSENING; a warning
    in one line when that is not enough (the geometry's features alone need the cells).
    1D passes ``above`` = 1 (only a first line above the cap, where the loop could not refine
    at all): a coarser line costs the W formulation refinement steps (stack 31 of seed 17:
    16 s -> 31 s when its 11 826-cell line was coarsened to 9095)."""
    import gmsh

    target = min(ROOM * max_cells, FIRST_CELLS)
    cells = first = _cells(model, dim)
    factor = 1.0
    if cells <= (target if above is None else above * max_cells):
        return
    while cells > target and factor < MAX_COARSENING:
        # cells ~ 1 / h^dim; 10 % more for the features that do not scale
        factor = min(MAX_COARSENING, factor * 1.1 * (cells / target) ** (1.0 / dim))
        gmsh.option.setNumber("Mesh.MeshSizeFactor", factor)
        model.mesh.clear()
        model.mesh.generate(dim)
        cells = _cells(model, dim)
    gmsh.option.setNumber("Mesh.MeshSizeFactor", 1.0)
    if factor > 1.0:
        log.info("first mesh coarsened (sizes x %.3g): %d -> %d cells, room to refine up to "
                 "solver.max_cells = %d", factor, first, cells, max_cells)
    if cells > target:
        log.warning("the first mesh has %d cells, more than its target %d (solver.max_cells = "
                    "%d) even with sizes x %g: little room to refine (raise solver.max_cells)",
                    cells, target, max_cells, factor)
