"""Run configuration: TOML in, frozen and validated dataclasses out (SI units, potentials in eV).

Nothing here imports DOLFINx, so configs can be checked (and the exact 1D solver run) anywhere.
Every error is a :class:`ConfigError` whose message is one line naming the offending key.

Schema (keys in brackets are optional, with their defaults)::

    [cell]
    temperature = 298.0         # K, > 0
    current_density = 10.0      # A/m^2, galvanostatic   } exactly one of the two
    ionic_potential_drop = 0.01 # V, potentiostatic       }  (eta_i(0) - eta_i(L)) / e
    mu_cathode = -3.0           # eV, Li0 potential at x = 0
    mu_anode = 0.0              # eV, Li0 potential at x = L

    [materials.NAME]
    sigma_li = 0.1              # S/m, Li+ conductivity (lattice)
    A = 1e-17                   # S/m, electronic prefactor: sigma_eh = 2 A cosh((mu - B)/kT)
    B = -2.3                    # eV, Li0 potential of the generic electronic bottleneck (GEB)

    [geometry]
    dim = 1
    layers = [{material = "NAME", thickness = 50e-6}, ...]      # m, cathode side first
    [bottlenecks = [{center = 25e-6, width = 1e-7, sigma_li_factor = 1e-2}, ...]]  # m, m, -

    # dim = 2: width, grains, grain/phase boundaries, pores, cracks, partial anode contact,
    # asperities, user meshes and the 2D [mesh] sizes are parsed by fem_sse.spec.geometry_parse
    # (docs/geometry.md); 1D bottlenecks become full-width strips there.

    [mesh]                      # 1D mesh sizes (m); the adaptive loop refines from there
    [size = L/100]              # bulk cell size
    [bottleneck_cells = 4]      # cells across each bottleneck strip

    [solver]
    [kind = "fem-eafe" (1D), "fem" (2D)]  # "fem" (the W formulation), "fem-eafe"
                                # (exponentially fitted) or "exact" (1D: the closed form)
    [degree = 1]                # polynomial degree of the discontinuous W space (1-3; "fem")
    [adaptive = true]           # adaptive refinement of the jumps and boundary layers
    [tolerance = 1e-5 (1D), 1e-4 (2D)]  # relative change of 1 - t_Li (and of jump
                                # positions / L) between two meshes that stops the loop
    [max_cells = 20000 (1D), 160000 (2D)]  # cap on cells of the adaptive loop
    [max_refinements = 30]
    [fallback = "fem-eafe"]     # "fem": the scheme used when the W formulation does not
                                # converge or is not certified (2D: not with GB interfaces
                                # or crack lines), or "none"
    [w_budget_s = 200 (2D), 20 (1D)]  # wall time (s) of the W solve before it counts as
                                # failed (-> the fallback); 0: no budget
    [refined_check = false]     # 2D: solve once more on the final mesh refined everywhere;
                                # a change of 1 - t_Li above 5 tolerances: not converged

    [mechanics]                 # optional: Li0(SE) eigenstrain -> elasticity, and per-material
                                # E, nu, strength, ... (fem_sse.spec.mechanics, docs/mechanics.md)
"""

from __future__ import annotations

import copy
import difflib
import math
from pathlib import Path
from typing import Any

import tomllib

from fem_sse.materials.conductivity import Material
from fem_sse.spec.case import (
    Bottleneck,
    CellConditions,
    Config,
    Layer,
    MeshOptions,
    Segment,
    SolverOptions,
)
from fem_sse.spec.dimension import GEOMETRY_KEYS as _GEOMETRY_KEYS
from fem_sse.spec.dimension import LAYER_KEYS_1D, CaseInput, for_dimension, other
from fem_sse.spec.geometry_parse import GEOMETRY_KEYS_2D
from fem_sse.spec.mechanics import MATERIAL_KEYS as MECHANICS_MATERIAL_KEYS
from fem_sse.spec.mechanics import parse_mechanics
from fem_sse.spec.validate import ConfigError, check_keys, flag, number

#: the dataclasses live in :mod:`fem_sse.spec.case`; they are re-exported here, the one import
#: path of callers that read a case
__all__ = [
    "Bottleneck",
    "CellConditions",
    "Config",
    "ConfigError",
    "Layer",
    "MeshOptions",
    "Segment",
    "SolverOptions",
    "load_config",
    "parse_config",
    "read_toml",
]


_TOP_KEYS = ("name", "meta", "cell", "materials", "geometry", "mesh", "solver", "mechanics")
_CELL_KEYS = ("temperature", "current_density", "ionic_potential_drop", "mu_cathode", "mu_anode")
_BOTTLENECK_KEYS = ("center", "width", "sigma_li_factor", "name")
_SOLVER_KEYS = ("kind", "degree", "adaptive", "tolerance", "max_cells", "max_refinements",
                "max_newton_iterations", "fallback", "w_budget_s", "refined_check")
#: sigma_eh = 2 A cosh((mu - B)/kT) must stay finite in double precision at the electrodes
#: (cosh overflows at 710; the solvers clip the argument at 600).
MAX_SCALED_POTENTIAL = 600.0
#: Shortest piece of the stack between layer interfaces and strip edges, over L: any config
#: (round-off of the positions), and a meshed one (the mesh generator's geometric tolerance).
MIN_PIECE = 1e-12
MIN_PIECE_MESH = 1e-6


_check_keys = check_keys
_number = number


def _parse_cell(table: dict) -> CellConditions:
    _check_keys(table, _CELL_KEYS, "cell")
    has_j = "current_density" in table
    has_phi = "ionic_potential_drop" in table
    if has_j == has_phi:
        raise ConfigError("cell.current_density",
                          "give exactly one of current_density (A/m^2, galvanostatic) "
                          "and ionic_potential_drop (V, potentiostatic)")
    cell = CellConditions(
        temperature=_number(table, "temperature", "cell", default=298.0, lo=0.0, lo_open=True,
                            hi=5000.0),
        mu_cathode=_number(table, "mu_cathode", "cell", lo=-20.0, hi=20.0),
        mu_anode=_number(table, "mu_anode", "cell", lo=-20.0, hi=20.0),
        current_density=(_number(table, "current_density", "cell", lo=0.0, lo_open=True, hi=1e6)
                         if has_j else None),
        ionic_potential_drop=(_number(table, "ionic_potential_drop", "cell", lo=0.0,
                                      lo_open=True, hi=100.0) if has_phi else None),
    )
    if cell.mu_anode < cell.mu_cathode:
        raise ConfigError("cell.mu_anode",
                          f"must be >= mu_cathode ({cell.mu_cathode:g} eV), got "
                          f"{cell.mu_anode:g}: the current runs from the cathode (x = 0) to the "
                          "anode (x = L), i.e. Li+ is driven into the anode (charging, or plating "
                          "in a symmetric cell), up the mu_Li0 ladder; with mu_anode < "
                          "mu_cathode the electronic leakage would run against the current "
                          "(t_Li > 1). For a discharge, swap the electrodes' roles")
    return cell


def _parse_materials(table: dict) -> dict[str, Material]:
    if not isinstance(table, dict) or not table:
        raise ConfigError("materials", "define at least one [materials.NAME] table")
    materials = {}
    for name, entry in table.items():
        where = f"materials.{name}"
        _check_keys(entry, Material.config_keys() + MECHANICS_MATERIAL_KEYS, where)
        materials[name] = Material.from_table(name, entry, lambda key, **kw: _number(
            entry, key, where, **kw))
    return materials


def _parse_layers(items: Any, materials: dict[str, Material],
                  keys: tuple[str, ...] = LAYER_KEYS_1D) -> tuple[Layer, ...]:
    if not isinstance(items, list) or not items:
        raise ConfigError("geometry.layers", "must be a non-empty list of {material, thickness}")
    layers = []
    for i, item in enumerate(items):
        where = f"geometry.layers[{i}]"
        _check_keys(item, keys, where)
        name = item.get("material")
        if not isinstance(name, str) or name not in materials:
            close = difflib.get_close_matches(str(name), list(materials), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where}.material",
                              f"unknown material {name!r} (defined: {', '.join(materials)}){hint}")
        thickness = _number(item, "thickness", where, lo=1e-9, hi=1.0)
        layers.append(Layer(name, thickness))
    return tuple(layers)


def _parse_bottlenecks(items: Any, thickness: float) -> tuple[Bottleneck, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigError("geometry.bottlenecks",
                          "must be a list of {center, width, sigma_li_factor}")
    strips = []
    for i, item in enumerate(items):
        where = f"geometry.bottlenecks[{i}]"
        _check_keys(item, _BOTTLENECK_KEYS, where)
        if not isinstance(item.get("name", ""), str):
            raise ConfigError(f"{where}.name", f"must be a string, got {item['name']!r}")
        strip = Bottleneck(
            center=_number(item, "center", where, lo=0.0, lo_open=True, hi=thickness),
            width=_number(item, "width", where, lo=0.0, lo_open=True, hi=thickness),
            sigma_li_factor=_number(item, "sigma_li_factor", where, lo=0.0, lo_open=True, hi=1e6),
            name=str(item.get("name", f"bottleneck{i}")),
        )
        if strip.x0 <= 0.0 or strip.x1 >= thickness:
            raise ConfigError(f"{where}.center", f"strip [{strip.x0:g}, {strip.x1:g}] m must lie "
                              f"inside (0, {thickness:g}) m")
        strips.append(strip)
    strips.sort(key=lambda b: b.center)
    for left, right in zip(strips[:-1], strips[1:]):
        if right.x0 < left.x1:
            raise ConfigError("geometry.bottlenecks",
                              f"strips '{left.name}' and '{right.name}' overlap")
    return tuple(strips)


def _check_geometry_keys(geometry: dict, mesh_table, shape: CaseInput) -> None:
    """Unknown keys of [geometry], its layers and [mesh]; keys of the other dimension say so."""
    there = other(shape)
    layers = geometry.get("layers")
    tables = [("geometry", geometry, set(there.geometry_keys) - set(shape.geometry_keys)),
              ("mesh", mesh_table, set(there.mesh_keys) - set(shape.mesh_keys))]
    tables += [(f"geometry.layers[{i}]", item, set(there.layer_keys) - set(shape.layer_keys))
               for i, item in enumerate(layers if isinstance(layers, list) else [])]
    for where, table, keys in tables:
        for key in table if isinstance(table, dict) else ():
            if key in keys:
                raise ConfigError(f"{where}.{key}", f"only for dim = {there.dim}")
    _check_keys(geometry, shape.geometry_keys, "geometry")


def _check_thickness(geometry: dict, thickness: float) -> None:
    """An optional declared thickness must equal the sum of the layers (m)."""
    if "thickness" not in geometry:
        return
    declared = _number(geometry, "thickness", "geometry", lo=0.0, lo_open=True, hi=1.0)
    if not math.isclose(declared, thickness, rel_tol=1e-9):
        raise ConfigError("geometry.thickness",
                          f"is {declared:g} m but the layers sum to {thickness:g} m")


def check_pieces(config: Config, minimum: float = MIN_PIECE, why: str = "") -> None:
    """Every piece between layer interfaces and strip edges must be longer than ``minimum`` L.

    Raises:
        ConfigError: naming the layers or the bottleneck that leaves the piece.
    """
    short = [s for s in config.segments() if s.length < minimum * config.thickness]
    if short:
        seg = short[0]
        key = ("geometry.layers" if seg.bottleneck is None
               else f"geometry.bottlenecks[{seg.bottleneck}]")
        raise ConfigError(key, f"leaves a piece of {seg.length:.3g} m at x = {seg.x0:.6g} m, "
                          f"shorter than {minimum:g} of the thickness{why}: move or merge it")


def _check_representable(cell: CellConditions, materials: dict[str, Material]) -> None:
    """sigma_eh at the electrode potentials must be a finite double (see MAX_SCALED_POTENTIAL)."""
    for name, material in materials.items():
        worst = max(abs(cell.mu_cathode - material.B), abs(cell.mu_anode - material.B))
        if worst > MAX_SCALED_POTENTIAL * cell.kT:
            raise ConfigError(f"materials.{name}.B",
                              f"|mu - B| reaches {worst:g} eV = {worst / cell.kT:.4g} kT at an "
                              f"electrode (T = {cell.temperature:g} K); above "
                              f"{MAX_SCALED_POTENTIAL:g} kT, sigma_eh = 2 A cosh((mu - B)/kT) "
                              "is not representable: narrow the window or raise the temperature")


#: longest case name (it names the output folder out/NAME; file systems allow 255 bytes)
MAX_NAME = 100


def _check_name(case_name) -> str:
    """The case name: a plain folder name (not '.' or '..', no '/', at most MAX_NAME)."""
    if (not isinstance(case_name, str) or not case_name.strip() or case_name in (".", "..")
            or any(c in case_name for c in "/\\\0") or len(case_name.encode()) > MAX_NAME):
        raise ConfigError("name", f"must be a folder name (it names the output folder "
                          f"out/NAME): not '.' or '..', no '/' or '\\', at most {MAX_NAME} "
                          f"bytes, got {str(case_name)[:120]!r}")
    return case_name


def _parse_solver(solver_table: dict, dim: int) -> SolverOptions:
    """The [solver] table (kind, degree, adaptive loop, fallback) of a ``dim``-D case."""
    _check_keys(solver_table, _SOLVER_KEYS, "solver")
    defaults = for_dimension(dim)
    kind = solver_table.get("kind", defaults.solver_kind)
    if kind not in ("fem", "exact", "fem-eafe"):
        raise ConfigError("solver.kind",
                          f"must be 'fem', 'fem-eafe' or 'exact', got {kind!r}")
    fallback = solver_table.get("fallback", "fem-eafe")
    if fallback not in ("fem-eafe", "none"):
        raise ConfigError("solver.fallback", f"must be 'fem-eafe' or 'none', got {fallback!r}")
    adaptive = flag(solver_table, "adaptive", "solver", True)
    refined = flag(solver_table, "refined_check", "solver", False)
    if refined and defaults.exact_solver:
        raise ConfigError("solver.refined_check", "is for 2D cases (a 1D run is checked "
                          "against the exact solution)")
    return SolverOptions(
        kind=kind,
        degree=_number(solver_table, "degree", "solver", default=1, lo=1, hi=3, integer=True),
        adaptive=adaptive,
        tolerance=_number(solver_table, "tolerance", "solver", default=defaults.tolerance,
                          lo=1e-12, hi=0.1),
        max_cells=_number(solver_table, "max_cells", "solver", default=defaults.max_cells,
                          lo=10, hi=10**8, integer=True),
        max_refinements=_number(solver_table, "max_refinements", "solver", default=30, lo=0,
                                hi=200, integer=True),
        max_newton_iterations=(_number(solver_table, "max_newton_iterations", "solver", lo=1,
                                       hi=10000, integer=True)
                               if "max_newton_iterations" in solver_table else None),
        fallback=fallback,
        w_budget_s=float(_number(solver_table, "w_budget_s", "solver",
                                 default=defaults.w_budget_s, lo=0.0, hi=1e7)),
        refined_check=refined,
    )


def parse_config(data: dict, name: str = "case") -> Config:
    """Validate a configuration given as a (TOML-derived) dictionary.

    Raises:
        ConfigError: with a one-line message naming the key.
    """
    _check_keys(data, _TOP_KEYS, "")
    for key in ("cell", "materials", "geometry"):
        if key not in data:
            raise ConfigError(key, f"missing required table [{key}]")
    cell = _parse_cell(data["cell"])
    materials = _parse_materials(data["materials"])
    _check_representable(cell, materials)
    geometry = data["geometry"]
    _check_keys(geometry, _GEOMETRY_KEYS + GEOMETRY_KEYS_2D, "geometry")
    dim = _number(geometry, "dim", "geometry", default=1, lo=1, hi=2, integer=True)
    mesh_table = data.get("mesh", {})
    shape = for_dimension(dim)
    _check_geometry_keys(geometry, mesh_table, shape)
    layers = _parse_layers(geometry.get("layers"), materials, shape.layer_keys)
    thickness = math.fsum(layer.thickness for layer in layers)
    _check_thickness(geometry, thickness)
    bottlenecks = _parse_bottlenecks(geometry.get("bottlenecks"), thickness)
    mesh, geometry2d = shape.parse_mesh(geometry, mesh_table, layers, materials, thickness)
    solver = _parse_solver(data.get("solver", {}), dim)
    if mesh.size is not None and thickness / mesh.size > solver.max_cells:
        raise ConfigError("mesh.size", f"gives {thickness / mesh.size:.3g} cells, more than "
                          f"solver.max_cells = {solver.max_cells}")
    case_name = _check_name(data.get("name", name))
    mechanics = parse_mechanics(data.get("mechanics"), data["materials"], shape)
    config = Config(cell=cell, materials=materials, layers=layers, bottlenecks=bottlenecks,
                    dim=dim, mesh=mesh, solver=solver, name=case_name, geometry2d=geometry2d,
                    mechanics=mechanics, source=copy.deepcopy({**data, "name": case_name}))
    check_pieces(config)
    return config


def read_toml(path: str | Path) -> dict:
    """The raw dictionary of a TOML file (not validated; sweeps edit it before parsing).

    Raises:
        ConfigError: when the file is missing or is not valid TOML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is accepted
    except OSError as exc:
        raise ConfigError("", f"cannot read config {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{path} is not UTF-8 text (byte {exc.start}): not a TOML "
                          "file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file.

    Raises:
        ConfigError: when the file is missing, is not valid TOML or fails validation.
    """
    return parse_config(read_toml(path), name=Path(path).stem)
