"""The optional ``[mechanics]`` table and the per-material mechanical keys (frozen, SI).

Nothing here imports DOLFINx. Schema (defaults in brackets; docs/mechanics.md)::

    [materials.NAME]                 # besides the transport keys
    [E = 149.8e9]                    # Pa, Young's modulus       } defaults: the preset's
    [nu = 0.26]                      # -, Poisson's ratio         } (llzo, lpscl) or LLZO-like
    [strength = 150e6]               # Pa, fracture strength (crack-risk denominator)
    [toughness = 1e6]                # Pa m^0.5, K_IC (fracture-risk denominator)
    [flaw_size = 5e-6]               # m, flaw size a of K_I = Y sigma_1 sqrt(pi a)
    [flaw_shape_factor = 1.0]        # -, Y
    [expansion = 0.03]               # -, linear chemical strain per unit delta
    [delta_ref]                      # -, stress-free off-stoichiometry (default: from mu_ref,
                                     # else 0 = the as-fabricated stoichiometric SE)
    [strain_law = "dilute"]          # "dilute" | "two_state" | "table", or a table:
        # {kind = "dilute", [delta0], [cap = 0.05]}
        # {kind = "two_state", [delta_oxidized = -0.05], [delta_reduced = 0.05],
        #  [mu_half = B], [width = kT]}
        # {kind = "table", mu = [eV, ...], delta = [-, ...]}

    [mechanics]
    [model = "plane_strain"]         # 2D: "plane_strain" | "plane_stress"; 1D: "film"
    [degree = 1]                     # displacement degree (1 or 2)
    [stack_pressure = 0.0]           # Pa, normal compressive traction on "pressure" faces
    [mu_ref]                         # eV, uniform mu_Li0 of the stress-free state
    [bc = {cathode = "roller", anode = "pressure", side_y0 = "roller", side_y1 = "roller",
           free_surface = "free"}]   # free | roller | clamped | pressure, by facet group
    [solver = "auto"]                # "auto" | "direct" (MUMPS) | "iterative" (CG + AMG)
    [direct_max_dofs = 200000]       # "auto" switches to the iterative solver above this
    [petsc_options = {}]             # overrides, without the prefix fem_sse_elastic_
    [refine_fronts = 0]              # 2D: rounds of refinement at the eigenstrain fronts before
                                     # the elastic solve (0: the converged transport mesh)
    [fit_fronts = true]              # 2D: split the cells that a strain-law step crosses along
                                     # the step (mesh fitted to the fronts; docs/mechanics.md)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fem_sse.materials.strain import (
    DEFAULTS,
    MECHANICAL_PRESETS,
    DiluteLaw,
    MechanicalMaterial,
    TableLaw,
    TwoStateLaw,
)
from fem_sse.spec.validate import ConfigError, check_keys, choice, flag, number

__all__ = ["MATERIAL_KEYS", "MechanicsSpec", "default_mechanics", "parse_mechanics"]

MATERIAL_KEYS = ("E", "nu", "strength", "toughness", "expansion", "delta_ref", "strain_law",
                 "flaw_size", "flaw_shape_factor")
_KEYS = ("model", "degree", "stack_pressure", "mu_ref", "bc", "solver", "direct_max_dofs",
         "petsc_options", "refine_fronts", "fit_fronts")
_LAW_KEYS = {"dilute": ("kind", "delta0", "cap"),
             "two_state": ("kind", "delta_oxidized", "delta_reduced", "mu_half", "width"),
             "table": ("kind", "mu", "delta")}
BC_TYPES = ("free", "roller", "clamped", "pressure")
#: Facet groups a boundary condition may name, and the displacement component a roller fixes.
ROLLER_COMPONENT = {"cathode": 0, "anode": 0, "side_y0": 1, "side_y1": 1}
DEFAULT_BC = {"cathode": "roller", "anode": "pressure", "side_y0": "roller", "side_y1": "roller",
              "free_surface": "free"}


@dataclass(frozen=True)
class MechanicsSpec:
    """A validated ``[mechanics]`` table and the mechanical data of every material.

    Attributes:
        model: "film" (1D), "plane_strain" or "plane_stress" (2D).
        degree: Lagrange degree of the displacement (1 or 2).
        stack_pressure: normal compressive traction on faces of type "pressure" (Pa).
        mu_ref: uniform mu_Li0 of the stress-free state (eV), or None.
        bc: facet-group name -> "free" | "roller" | "clamped" | "pressure".
        solver: "auto", "direct" or "iterative".
        direct_max_dofs: DOF count above which "auto" uses CG + algebraic multigrid.
        petsc_options: overrides of the elastic solver's PETSc options (no prefix).
        materials: material name -> :class:`MechanicalMaterial`.
        refine_fronts: 2D, rounds of refinement of the transport mesh where the eigenstrain
            changes across a cell, before the elastic solve (0: the transport mesh itself).
        fit_fronts: 2D, split the cells that a step of a strain law (two-state) crosses
            along the step, so that no cell straddles a front.
    """

    model: str = "plane_strain"
    degree: int = 1
    stack_pressure: float = 0.0
    mu_ref: float | None = None
    bc: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BC))
    solver: str = "auto"
    direct_max_dofs: int = 200000
    petsc_options: dict = field(default_factory=dict)
    materials: dict[str, MechanicalMaterial] = field(default_factory=dict)
    refine_fronts: int = 0
    fit_fronts: bool = True


def _law(value, where: str):
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        raise ConfigError(where, f"must be a law name or a table with 'kind', got {value!r}")
    check_keys(value, tuple(dict.fromkeys(k for keys in _LAW_KEYS.values() for k in keys)), where)
    kind = choice(value, "kind", where, tuple(_LAW_KEYS), default="dilute")
    for key in value:
        if key not in _LAW_KEYS[kind]:
            owners = " or ".join(repr(k) for k, keys in _LAW_KEYS.items() if key in keys)
            raise ConfigError(f"{where}.{key}", f"only for kind = {owners}")
    if kind == "dilute":
        return DiluteLaw(cap=number(value, "cap", where, default=DEFAULTS["cap"], lo=0.0,
                                    lo_open=True, hi=10.0),
                         delta0=(number(value, "delta0", where, lo=0.0, lo_open=True, hi=1e3)
                                 if "delta0" in value else None))
    if kind == "two_state":
        law = TwoStateLaw(
            delta_oxidized=number(value, "delta_oxidized", where, default=-DEFAULTS["cap"],
                                  lo=-10.0, hi=10.0),
            delta_reduced=number(value, "delta_reduced", where, default=DEFAULTS["cap"],
                                 lo=-10.0, hi=10.0),
            mu_half=(number(value, "mu_half", where, lo=-20.0, hi=20.0)
                     if "mu_half" in value else None),
            width=(number(value, "width", where, lo=0.0, lo_open=True, hi=10.0)
                   if "width" in value else None))
        return law
    mus, deltas = value.get("mu"), value.get("delta")
    for key, items in (("mu", mus), ("delta", deltas)):
        if not isinstance(items, list) or len(items) < 2:
            raise ConfigError(f"{where}.{key}", "must be a list of at least two numbers")
        for i in range(len(items)):
            number({key: items[i]}, key, f"{where}[{i}]", lo=-1e3, hi=1e3)
    if len(mus) != len(deltas):
        raise ConfigError(f"{where}.delta", f"has {len(deltas)} values for {len(mus)} mu values")
    if any(b <= a for a, b in zip(mus[:-1], mus[1:])):
        raise ConfigError(f"{where}.mu", "must be strictly increasing")
    return TableLaw(tuple(float(m) for m in mus), tuple(float(d) for d in deltas))


def _material(name: str, table: dict) -> MechanicalMaterial:
    where = f"materials.{name}"
    base = MECHANICAL_PRESETS.get(table.get("preset"), MECHANICAL_PRESETS["default"])
    given = [key for key in ("E", "nu", "strength") if key in table]
    source = str(table.get("source", base.source)) if given else base.source
    material = MechanicalMaterial(
        E=number(table, "E", where, default=base.E, lo=1e6, hi=1e13),
        nu=number(table, "nu", where, default=base.nu, lo=-0.99, hi=0.499),
        strength=number(table, "strength", where, default=base.strength, lo=0.0, lo_open=True,
                        hi=1e11),
        toughness=(number(table, "toughness", where, lo=0.0, lo_open=True, hi=1e9)
                   if "toughness" in table else base.toughness),
        expansion=number(table, "expansion", where, default=base.expansion, lo=-1.0, hi=1.0),
        law=_law(table["strain_law"], f"{where}.strain_law") if "strain_law" in table
        else base.law,
        delta_ref=(number(table, "delta_ref", where, lo=-10.0, hi=10.0)
                   if "delta_ref" in table else None),
        source=source,
        flaw_size=number(table, "flaw_size", where, default=base.flaw_size, lo=0.0,
                         lo_open=True, hi=1.0),
        flaw_shape_factor=number(table, "flaw_shape_factor", where,
                                 default=base.flaw_shape_factor, lo=0.0, lo_open=True, hi=10.0))
    return material


def _bcs(table, shape) -> dict[str, str]:
    check_keys(table, shape.bc_groups, "mechanics.bc")
    bc = {g: DEFAULT_BC[g] for g in shape.bc_groups}
    for group, kind in table.items():
        bc[group] = choice(table, group, "mechanics.bc", BC_TYPES)
        if kind == "roller" and group not in ROLLER_COMPONENT:
            raise ConfigError(f"mechanics.bc.{group}",
                              "a roller needs a planar face (cathode, anode, side_y0, side_y1)")
    fixes_x = any(bc.get(g) == "roller" for g in ("cathode", "anode"))
    fixes_y = shape.laterally_held or any(bc.get(g) == "roller" for g in ("side_y0", "side_y1"))
    if not ("clamped" in bc.values() or (fixes_x and fixes_y)):
        raise ConfigError("mechanics.bc", "the body can move freely: clamp a face, or put "
                          "rollers on an electrode"
                          + ("" if shape.laterally_held else " and on a side"))
    return bc


def default_mechanics(config) -> MechanicsSpec:
    """The mechanics of a case without a ``[mechanics]`` table: the default model and
    boundary conditions of its dimension, the default material data."""
    shape = config.shape
    return MechanicsSpec(model=shape.mechanics_models[0],
                         bc={g: DEFAULT_BC[g] for g in shape.bc_groups},
                         materials={m: MECHANICAL_PRESETS["default"] for m in config.materials})


def parse_mechanics(table: dict | None, material_tables: dict,
                    shape) -> MechanicsSpec | None:
    """Validate the mechanical keys of every material and the ``[mechanics]`` table.

    Args:
        table: the ``[mechanics]`` table, or None when absent (then only the material keys are
            checked and None is returned).
        material_tables: the raw ``[materials]`` tables.
        shape: what the case's dimension allows (:mod:`fem_sse.spec.dimension`).
    """
    materials = {name: _material(name, entry) for name, entry in material_tables.items()}
    if table is None:
        return None
    check_keys(table, _KEYS, "mechanics")
    models = shape.mechanics_models
    model = choice(table, "model", "mechanics", models, default=models[0])
    options = table.get("petsc_options", {})
    if not isinstance(options, dict):
        raise ConfigError("mechanics.petsc_options", "must be a table of PETSc options")
    for key in options:
        if key.startswith("-") or key.startswith("fem_sse_elastic_"):
            bare = key.lstrip("-").removeprefix("fem_sse_elastic_")
            raise ConfigError(f"mechanics.petsc_options.{key}",
                              f"give the option without '-' or prefix: '{bare}'")
    return MechanicsSpec(
        model=model,
        degree=number(table, "degree", "mechanics", default=1, lo=1, hi=2, integer=True),
        stack_pressure=number(table, "stack_pressure", "mechanics", default=0.0, lo=0.0, hi=1e10),
        mu_ref=(number(table, "mu_ref", "mechanics", lo=-20.0, hi=20.0)
                if "mu_ref" in table else None),
        bc=_bcs(table.get("bc", {}), shape),
        solver=choice(table, "solver", "mechanics", ("auto", "direct", "iterative"),
                      default="auto"),
        direct_max_dofs=number(table, "direct_max_dofs", "mechanics", default=200000, lo=0,
                               hi=10**9, integer=True),
        petsc_options={str(k): v for k, v in options.items()},
        materials=materials,
        refine_fronts=number(table, "refine_fronts", "mechanics", default=0, lo=0,
                             hi=shape.max_refine_fronts, integer=True),
        fit_fronts=flag(table, "fit_fronts", "mechanics", True))
