"""Physical-group naming convention, tag ids and the region table (docs/geometry.md).

Cell groups (2D), with ``base = 100000 (i + 1)`` for layer i:

=========================  =============  ==============  ================================
name                       tag            kind            sigma_li_factor
=========================  =============  ==============  ================================
``layer<i>``               base           ``layer``       1
``layer<i>/gb``            base + 1       ``gb_strip``    grain_boundaries.sigma_li_factor
``bottleneck<k>/layer<i>`` base + 100 + k ``bottleneck``  bottlenecks[k].sigma_li_factor
``layer<i>/grain<k>``      base + 1000 + k ``grain``      1
other (region_materials)   10**8 + j      ``custom``      1
=========================  =============  ==============  ================================

Facet groups: ``cathode`` 1, ``anode`` 2, ``free_surface`` 3, ``side_y0`` 4 (y = 0),
``side_y1`` 5 (y = W), ``gb`` 6 (zero-thickness GBs), ``pb<i>`` 10 + i (between layers i and
i + 1), ``crack<k>`` 100 + k, ``pore<k>`` 200 + k. 1D keeps its own numbering (segment index + 1;
cathode 1, anode 2, ``interface<i>`` 10 + i), see :mod:`fem_sse.geometry.line`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from fem_sse.spec.config import Config
from fem_sse.spec.validate import ConfigError

__all__ = ["FACET_IDS", "MeshError", "Region", "add_groups", "cell_region", "facet_id",
           "regions_1d"]

CATHODE, ANODE, FREE_SURFACE, SIDE_Y0, SIDE_Y1, GB = 1, 2, 3, 4, 5, 6
FACET_IDS = {"cathode": CATHODE, "anode": ANODE, "free_surface": FREE_SURFACE,
             "side_y0": SIDE_Y0, "side_y1": SIDE_Y1, "gb": GB}
_FACET_FAMILIES = {"pb": (10, 90), "crack": (100, 100), "pore": (200, 10**6)}
REQUIRED_FACETS = ("cathode", "anode")
LAYER_BASE, CUSTOM_BASE = 100000, 10**8

_CELL_PATTERNS = (
    (re.compile(r"layer(\d+)$"), "layer"),
    (re.compile(r"layer(\d+)/gb$"), "gb_strip"),
    (re.compile(r"layer(\d+)/grain(\d+)$"), "grain"),
    (re.compile(r"bottleneck(\d+)/layer(\d+)$"), "bottleneck"),
)


class MeshError(ConfigError):
    """A mesh (built or read) that breaks the naming convention; one line naming the group."""


@dataclass(frozen=True)
class Region:
    """One cell region (a physical group of cells).

    Attributes:
        name: physical-group name (``layer0/grain3``, ``layer1/gb``, ...).
        layer: index of the layer it belongs to (-1 for custom groups).
        material: material name of the config.
        sigma_li_factor: Li+ conductivity over that of the material's lattice (-).
        kind: "layer", "grain", "gb_strip", "bottleneck" or "custom".
        grain: grain index within the layer (None unless kind is "grain").
    """

    name: str
    layer: int
    material: str
    sigma_li_factor: float
    kind: str
    grain: int | None = None


def facet_id(name: str) -> int:
    """Tag id of a facet group name, or a :class:`MeshError` naming it."""
    if name in FACET_IDS:
        return FACET_IDS[name]
    match = re.fullmatch(r"(pb|crack|pore)(\d+)", name)
    if match:
        start, count = _FACET_FAMILIES[match[1]]
        index = int(match[2])
        if index < count:
            return start + index
    allowed = [*FACET_IDS, "pb<i>", "crack<k>", "pore<k>"]
    close = difflib.get_close_matches(name, list(FACET_IDS), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise MeshError("", f"facet group {name!r} breaks the naming convention "
                            f"({', '.join(allowed)}){hint}")


def cell_region(name: str, config: Config, custom_index: int = 0) -> tuple[int, Region]:
    """(tag id, region) of a cell group name under the convention (or region_materials)."""
    g = config.geometry2d
    overrides = g.region_materials if g is not None else {}
    for pattern, kind in _CELL_PATTERNS:
        match = pattern.match(name)
        if not match:
            continue
        numbers = [int(v) for v in match.groups()]
        layer = numbers[1] if kind == "bottleneck" else numbers[0]
        if layer >= len(config.layers):
            raise MeshError("", f"cell group {name!r}: the config has only "
                                    f"{len(config.layers)} layer(s)")
        material = config.layers[layer].material
        base = LAYER_BASE * (layer + 1)
        factor, grain, tag = 1.0, None, base
        if kind == "gb_strip":
            gb = g.grain_boundaries if g is not None else None
            tag = base + 1
            if gb is not None:
                factor, material = gb.sigma_li_factor, gb.material or material
        elif kind == "bottleneck":
            k = numbers[0]
            if k >= len(config.bottlenecks) or k > 899:
                raise MeshError("", f"cell group {name!r}: no geometry.bottlenecks[{k}]")
            factor, tag = config.bottlenecks[k].sigma_li_factor, base + 100 + k
        elif kind == "grain":
            grain = numbers[1]
            tag = base + 1000 + grain
        return tag, Region(name, layer, overrides.get(name, material), factor, kind, grain)
    if name in overrides:
        return CUSTOM_BASE + custom_index, Region(name, -1, overrides[name], 1.0, "custom")
    raise MeshError("", f"cell group {name!r} breaks the naming convention (layer<i>, "
                            "layer<i>/grain<k>, layer<i>/gb, bottleneck<k>/layer<i>) and is not "
                            "in geometry.region_materials")


def add_groups(model, cells: dict[str, list[int]], facets: dict[str, list[int]],
               config: Config, where: str = "mesh") -> tuple[dict[int, Region], dict[str, int]]:
    """Add the physical groups of a 2D model with conventional ids.

    Args:
        model: ``gmsh.model``.
        cells: cell-group name -> surface tags.
        facets: facet-group name -> curve tags (empty groups are skipped).
        config: the configuration (materials, factors).
        where: what to name in errors (the mesh file).

    Returns:
        (regions by cell tag id, facet-group name -> tag id).
    """
    for name in REQUIRED_FACETS:
        if not facets.get(name):
            raise MeshError(where, f"missing physical group {name!r} (dim 1, the {name} "
                                   "facets)")
    if not cells:
        raise MeshError(where, "no cell physical group (dim 2)")
    regions, facet_groups = {}, {}
    customs = sorted(n for n in cells if n in (config.geometry2d.region_materials
                                               if config.geometry2d else {}))
    for name in sorted(cells):
        try:
            tag, region = cell_region(name, config, customs.index(name) if name in customs
                                      else 0)
        except MeshError as exc:
            raise MeshError(where, str(exc)) from None
        regions[tag] = region
        model.addPhysicalGroup(2, sorted(cells[name]), tag=tag, name=name)
    for name in sorted(facets):
        if not facets[name]:
            continue
        try:
            tag = facet_id(name)
        except MeshError as exc:
            raise MeshError(where, str(exc)) from None
        facet_groups[name] = tag
        model.addPhysicalGroup(1, sorted(facets[name]), tag=tag, name=name)
    return regions, facet_groups


def regions_1d(config: Config) -> tuple[dict[int, Region], dict[str, int]]:
    """Region table and facet groups of the 1D line (tag = segment index + 1)."""
    from fem_sse.geometry.line import ANODE as ANODE_1D
    from fem_sse.geometry.line import CATHODE as CATHODE_1D
    from fem_sse.geometry.line import INTERFACE0, segment_names

    regions = {}
    for i, (seg, name) in enumerate(zip(config.segments(), segment_names(config))):
        strip = seg.bottleneck
        factor = 1.0 if strip is None else config.bottlenecks[strip].sigma_li_factor
        regions[i + 1] = Region(name, seg.layer, config.layers[seg.layer].material, factor,
                                "layer" if strip is None else "bottleneck")
    facets = {"cathode": CATHODE_1D, "anode": ANODE_1D}
    facets.update({f"interface{i}": INTERFACE0 + i for i in range(len(config.interfaces))})
    return regions, facets
