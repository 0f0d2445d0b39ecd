"""The ``dim = 2`` part of the ``[geometry]`` and ``[mesh]`` tables, validated into the records
of :mod:`fem_sse.spec.geometry` (SI).

Nothing here imports Gmsh or DOLFINx. Coordinates: x through the thickness (cathode at x = 0,
anode at x = L), y in-plane (0 <= y <= W). Full key list with defaults: docs/geometry.md::

    [geometry]
    dim = 2
    width = 100e-6                                  # m, in-plane extent W
    layers = [{material, thickness, [grains = {count | size, [seed], [kind], [aspect], [lloyd]}]}]
    [bottlenecks = [...]]                           # as in 1D: full-width transverse strips
    [grain_boundaries = {model = "strip" | "interface", width, sigma_li_factor, [material],
                         [conductance]}]              # conductance: S/m^2, interfaces only
    [phase_boundaries = {roughness = {amplitude, wavelength}
                                   | {amplitude, seed, correlation_length}}]
    [pores = [{center = [x, y], radii = [a, b], [angle]}]]
    [cracks = [{start = [x, y], end = [x, y], [kind = "line" | "slit"], [width]}]]
    [anode_contact = [[y0, y1], ...]]               # anode patches; the rest is free surface
    [asperities = [{y, depth, width, [shape = "triangle" | "ellipse"]}]]
    [mesh_file = "meshes/x.msh"]                    # a user mesh instead of the builders
    [region_materials = {GROUP = "MATERIAL"}]       # for user meshes

    [mesh]
    size_bulk, size_gb, size_pb, size_electrode, size_crack_tip, size_pore (m),
    bottleneck_cells, grading
"""

from __future__ import annotations

import math

from fem_sse.spec.geometry import (
    Asperity,
    Crack,
    Geometry2D,
    GrainBoundaries,
    GrainSpec,
    MeshSizes2D,
    Pore,
    Roughness,
)
from fem_sse.spec.validate import ConfigError, check_keys, choice, number, pair

__all__ = ["GEOMETRY_KEYS_2D", "LAYER_KEYS_2D", "MESH_KEYS_2D", "parse_geometry2d"]


GEOMETRY_KEYS_2D = ("width", "grain_boundaries", "phase_boundaries", "pores", "cracks",
                    "anode_contact", "asperities", "mesh_file", "region_materials")
LAYER_KEYS_2D = ("material", "thickness", "grains")
_GRAIN_KEYS = ("count", "size", "seed", "kind", "aspect", "lloyd")
_GB_KEYS = ("model", "width", "sigma_li_factor", "material", "conductance")
_PB_KEYS = ("roughness",)
_ROUGH_KEYS = ("amplitude", "wavelength", "seed", "correlation_length")
_PORE_KEYS = ("center", "radii", "angle")
_CRACK_KEYS = ("start", "end", "kind", "width")
_ASPERITY_KEYS = ("y", "depth", "width", "shape")
MESH_KEYS_2D = ("size_bulk", "size_gb", "size_pb", "size_electrode", "size_crack_tip",
                "size_pore", "bottleneck_cells", "grading")


def _list(value, where: str, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(where, f"must be a list of {what}")
    return value


def _tables(value, where: str, keys: tuple[str, ...]):
    """(where[i], table) for each key-checked table of the list ``value``."""
    for i, item in enumerate(_list(value, where, "{" + ", ".join(keys) + "}")):
        check_keys(item, keys, f"{where}[{i}]")
        yield f"{where}[{i}]", item


def _parse_grains(item: dict, where: str, thickness: float, width: float) -> GrainSpec:
    check_keys(item, _GRAIN_KEYS, where)
    kind = choice(item, "kind", where, ("equiaxed", "columnar"), default="equiaxed")
    aspect = number(item, "aspect", where, default=3.0 if kind == "columnar" else 1.0,
                    lo=1.0, hi=100.0)
    if kind == "equiaxed" and aspect != 1.0:
        raise ConfigError(f"{where}.aspect", "only for kind = 'columnar' (equiaxed grains are 1)")
    if ("count" in item) == ("size" in item):
        raise ConfigError(f"{where}.count", "give exactly one of count (-) and size (m)")
    if "count" in item:
        count = number(item, "count", where, lo=1, hi=100000, integer=True)
    else:
        size = number(item, "size", where, lo=0.0, lo_open=True, hi=max(thickness, width))
        count = max(1, round(thickness * width / (aspect * size * size)))
        if count > 100000:
            raise ConfigError(f"{where}.size",
                              f"gives {count} grains (> 100000); use a larger size")
    return GrainSpec(count=count, seed=number(item, "seed", where, default=0, lo=0, hi=2**32 - 1,
                                              integer=True),
                     kind=kind, aspect=aspect,
                     lloyd=number(item, "lloyd", where, default=1, lo=0, hi=50, integer=True))


def _parse_gb(table, materials, min_grain: float) -> GrainBoundaries:
    where = "geometry.grain_boundaries"
    check_keys(table, _GB_KEYS, where)
    model = choice(table, "model", where, ("strip", "interface"))
    width = None
    if model == "strip":
        width = number(table, "width", where, lo=0.0, lo_open=True, hi=0.25 * min_grain)
    elif "width" in table:
        raise ConfigError(f"{where}.width", "only for model = 'strip'")
    material = table.get("material")
    if material is not None and (not isinstance(material, str) or material not in materials):
        raise ConfigError(f"{where}.material",
                          f"unknown material {material!r} (defined: {', '.join(materials)})")
    factor = number(table, "sigma_li_factor", where, default=1.0 if model == "interface" else None,
                    lo=0.0, lo_open=True, hi=1e6)
    conductance = None
    if "conductance" in table:
        if model != "interface":
            raise ConfigError(f"{where}.conductance", "only for model = 'interface'")
        conductance = number(table, "conductance", where, lo=0.0, lo_open=True, hi=1e15)
    return GrainBoundaries(model, width, factor, material, conductance)


def _parse_roughness(table, min_thickness: float, width: float) -> Roughness:
    where = "geometry.phase_boundaries"
    check_keys(table, _PB_KEYS, where)
    where += ".roughness"
    rough = table.get("roughness")
    if rough is None:
        raise ConfigError(where, "missing required key")
    check_keys(rough, _ROUGH_KEYS, where)
    amplitude = number(rough, "amplitude", where, lo=0.0, lo_open=True, hi=0.4 * min_thickness)
    if "wavelength" in rough:
        for key in ("seed", "correlation_length"):
            if key in rough:
                raise ConfigError(f"{where}.{key}", "not with wavelength (sine profile)")
        return Roughness(amplitude, wavelength=number(rough, "wavelength", where, lo=0.0,
                                                      lo_open=True, hi=width))
    return Roughness(amplitude, seed=number(rough, "seed", where, default=0, lo=0, hi=2**32 - 1,
                                            integer=True),
                     correlation_length=number(rough, "correlation_length", where, lo=0.0,
                                               lo_open=True, hi=width))


def _parse_pores(items, length: float, width: float) -> tuple[Pore, ...]:
    pores = []
    for where, item in _tables(items, "geometry.pores", _PORE_KEYS):
        center = pair(item, "center", where, lo=(0.0, 0.0), hi=(length, width))
        radii = pair(item, "radii", where, lo=(0.0, 0.0), hi=(0.5 * length, 0.5 * width),
                     lo_open=True)
        angle = number(item, "angle", where, default=0.0, lo=-2 * math.pi, hi=2 * math.pi)
        pores.append(Pore(center, radii, angle))
    return tuple(pores)


def _parse_cracks(items, length: float, width: float) -> tuple[Crack, ...]:
    cracks = []
    for where, item in _tables(items, "geometry.cracks", _CRACK_KEYS):
        kind = choice(item, "kind", where, ("line", "slit"), default="line")
        start = pair(item, "start", where, lo=(0.0, 0.0), hi=(length, width))
        end = pair(item, "end", where, lo=(0.0, 0.0), hi=(length, width))
        crack = Crack(start, end, kind, None)
        if crack.length <= 1e-9 * length:
            raise ConfigError(f"{where}.end", "must differ from start")
        if kind == "slit":
            crack = Crack(start, end, kind, number(item, "width", where, lo=0.0, lo_open=True,
                                                   hi=0.5 * crack.length))
        elif "width" in item:
            raise ConfigError(f"{where}.width", "only for kind = 'slit'")
        cracks.append(crack)
    return tuple(cracks)


def _parse_contact(items, width: float) -> tuple[tuple[float, float], ...]:
    patches = []
    for i, item in enumerate(_list(items, "geometry.anode_contact", "[y0, y1] patches")):
        where = f"geometry.anode_contact[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise ConfigError(where, f"must be [y0, y1] (m), got {item!r}")
        y0, y1 = pair({"p": item}, "p", "geometry.anode_contact", lo=(0.0, 0.0), hi=(width, width))
        if y1 <= y0:
            raise ConfigError(where, f"needs y0 < y1, got [{y0:g}, {y1:g}]")
        patches.append((y0, y1))
    patches.sort()
    for a, b in zip(patches[:-1], patches[1:]):
        if b[0] <= a[1]:
            raise ConfigError("geometry.anode_contact", f"patches {list(a)} and {list(b)} overlap")
    return tuple(patches)


def _parse_asperities(items, last_thickness: float, width: float) -> tuple[Asperity, ...]:
    out = []
    for where, item in _tables(items, "geometry.asperities", _ASPERITY_KEYS):
        asp = Asperity(y=number(item, "y", where, lo=0.0, hi=width),
                       depth=number(item, "depth", where, lo=0.0, lo_open=True,
                                    hi=0.5 * last_thickness),
                       width=number(item, "width", where, lo=0.0, lo_open=True, hi=width),
                       shape=choice(item, "shape", where, ("triangle", "ellipse"),
                                    default="triangle"))
        if asp.y - asp.width / 2 < 0.0 or asp.y + asp.width / 2 > width:
            raise ConfigError(f"{where}.y", f"base [{asp.y - asp.width / 2:g}, "
                                            f"{asp.y + asp.width / 2:g}] m leaves [0, {width:g}] m")
        out.append(asp)
    return tuple(out)


def _parse_sizes(table, length, width, grains, gb, roughness, pores, cracks) -> MeshSizes2D:
    check_keys(table, MESH_KEYS_2D, "mesh")
    hi = max(length, width)

    def size(key, default):
        return number(table, key, "mesh", default=default, lo=0.0, lo_open=True, hi=hi)

    grain_dims = [math.sqrt(length * width / g.count / g.aspect) for g in grains if g]
    bulk = size("size_bulk", min([min(length, width) / 20, *(0.5 * d for d in grain_dims)]))
    pb_default = bulk / 4
    if roughness is not None:
        scale = roughness.wavelength or roughness.correlation_length
        pb_default = min(pb_default, scale / 16, roughness.amplitude / 2)
    slit = [c.width for c in cracks if c.width]
    gb_default = gb.width if gb is not None and gb.width else bulk / 4
    return MeshSizes2D(
        size_bulk=bulk, size_gb=size("size_gb", gb_default), size_pb=size("size_pb", pb_default),
        size_electrode=size("size_electrode", bulk / 2),
        size_crack_tip=size("size_crack_tip", min([bulk / 20, *slit])),
        size_pore=size("size_pore", min([bulk / 2, *(min(p.radii) / 6 for p in pores)])),
        bottleneck_cells=number(table, "bottleneck_cells", "mesh", default=2, lo=1, hi=100,
                                integer=True),
        grading=number(table, "grading", "mesh", default=0.5, lo=0.02, hi=5.0))


def parse_geometry2d(geometry: dict, mesh_table: dict, raw_layers: list, thicknesses: list,
                     materials: dict) -> Geometry2D:
    """Validate the 2D keys of ``[geometry]`` (already key-checked) and the ``[mesh]`` table.

    Args:
        geometry: the ``[geometry]`` table.
        mesh_table: the ``[mesh]`` table.
        raw_layers: ``geometry.layers`` as given (the 1D parser has checked material/thickness).
        thicknesses: layer thicknesses (m).
        materials: defined material names.

    Raises:
        ConfigError: with a one-line message naming the key.
    """
    length = math.fsum(thicknesses)
    mesh_file = geometry.get("mesh_file")
    if mesh_file is not None and (not isinstance(mesh_file, str) or
                                  not mesh_file.endswith((".msh", ".geo"))):
        raise ConfigError("geometry.mesh_file", f"must be a .msh or .geo path, got {mesh_file!r}")
    width = number(geometry, "width", "geometry", default=-1.0 if mesh_file else None,
                   lo=-1.0 if mesh_file else 0.0, lo_open=not mesh_file, hi=1.0)
    if mesh_file and width <= 0.0:
        width = length  # unknown until the mesh is read; only used for default sizes
    grains = []
    for i, item in enumerate(raw_layers):
        table = item.get("grains")
        grains.append(None if table is None else _parse_grains(
            table, f"geometry.layers[{i}].grains", thicknesses[i], width))
    min_grain = min([math.sqrt(t * width / g.count) for t, g in zip(thicknesses, grains) if g],
                    default=min(length, width))
    gb = None
    if "grain_boundaries" in geometry:
        gb = _parse_gb(geometry["grain_boundaries"], materials, min_grain)
    elif any(grains):
        gb = GrainBoundaries("interface", None)
    roughness = None
    if "phase_boundaries" in geometry:
        if len(thicknesses) < 2:
            raise ConfigError("geometry.phase_boundaries", "needs at least two layers")
        roughness = _parse_roughness(geometry["phase_boundaries"], min(thicknesses), width)
    pores = _parse_pores(geometry.get("pores"), length, width)
    cracks = _parse_cracks(geometry.get("cracks"), length, width)
    region_materials = geometry.get("region_materials", {})
    check_keys(region_materials, tuple(region_materials), "geometry.region_materials")
    for key, value in region_materials.items():
        if not isinstance(value, str) or value not in materials:
            raise ConfigError(f"geometry.region_materials.{key}",
                              f"unknown material {value!r} (defined: {', '.join(materials)})")
    if region_materials and not mesh_file:
        raise ConfigError("geometry.region_materials", "only with geometry.mesh_file")
    return Geometry2D(
        width=width, grains=tuple(grains),
        sizes=_parse_sizes(mesh_table, length, width, grains, gb, roughness, pores, cracks),
        grain_boundaries=gb, roughness=roughness, pores=pores, cracks=cracks,
        anode_contact=_parse_contact(geometry.get("anode_contact"), width),
        asperities=_parse_asperities(geometry.get("asperities"), thicknesses[-1], width),
        mesh_file=mesh_file, region_materials=dict(region_materials))
