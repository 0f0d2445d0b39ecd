"""What the input language allows in a 1D and in a 2D case, in one record per dimension.

The validation (:mod:`fem_sse.spec.config`, :mod:`fem_sse.spec.mechanics`) and the commands
ask a :class:`LineInput` (``geometry.dim = 1``: a layer stack) or a :class:`PlaneInput`
(``dim = 2``: a separator with a width) instead of branching on the dimension (issue 15;
tests/test_architecture.py counts the branches left):

==================  ==================================  ==================================
question            LineInput                           PlaneInput
==================  ==================================  ==================================
[geometry] keys     dim, layers, bottlenecks, thickness  and the 2D keys (geometry_parse)
layer keys          material, thickness                 material, thickness, grains
[mesh]              size, bottleneck_cells              the 2D sizes (geometry_parse)
mechanics models    film                                plane_strain, plane_stress
mechanics.bc        cathode, anode                      and side_y0, side_y1, free_surface
refine_fronts       0 (no fronts to refine in a line)   up to 12 rounds
exact solver        the closed form                     none (its averaged stack has one)
mesh report / PNG   none                                ``fem-sse mesh --report/--png``
==================  ==================================  ==================================

Nothing here imports DOLFINx.
"""

from __future__ import annotations

from dataclasses import dataclass

from fem_sse.spec.case import MeshOptions
from fem_sse.spec.geometry_parse import (
    GEOMETRY_KEYS_2D,
    LAYER_KEYS_2D,
    MESH_KEYS_2D,
    parse_geometry2d,
)
from fem_sse.spec.validate import check_keys, number

__all__ = ["GEOMETRY_KEYS", "LineInput", "PlaneInput", "for_dimension"]

#: [geometry] keys of every case
GEOMETRY_KEYS = ("dim", "layers", "bottlenecks", "thickness")
LAYER_KEYS_1D = ("material", "thickness")
MESH_KEYS_1D = ("size", "bottleneck_cells")
#: facet groups a ``[mechanics.bc]`` entry may name
BC_GROUPS_1D = ("cathode", "anode")
BC_GROUPS_2D = ("cathode", "anode", "side_y0", "side_y1", "free_surface")


@dataclass(frozen=True)
class LineInput:
    """A 1D case: a layer stack through the thickness."""

    dim: int = 1
    geometry_keys: tuple[str, ...] = GEOMETRY_KEYS
    layer_keys: tuple[str, ...] = LAYER_KEYS_1D
    mesh_keys: tuple[str, ...] = MESH_KEYS_1D
    mechanics_models: tuple[str, ...] = ("film",)
    bc_groups: tuple[str, ...] = BC_GROUPS_1D
    #: a film is laterally constrained: a roller on an electrode holds it
    laterally_held: bool = True
    max_refine_fronts: int = 0
    #: the closed-form solver (transport/exact1d.py) solves the case itself
    exact_solver: bool = True
    #: ``fem-sse mesh`` writes a mesh report and a PNG
    mesh_report: bool = False

    @staticmethod
    def parse_mesh(geometry: dict, mesh_table: dict, layers: list, materials: dict,
                   thickness: float) -> tuple[MeshOptions, None]:
        """(the [mesh] table's sizes (m), no 2D geometry)."""
        check_keys(mesh_table, MESH_KEYS_1D, "mesh")
        return MeshOptions(
            size=(number(mesh_table, "size", "mesh", lo=0.0, lo_open=True, hi=thickness)
                  if "size" in mesh_table else None),
            bottleneck_cells=number(mesh_table, "bottleneck_cells", "mesh", default=4, lo=1,
                                    hi=1000, integer=True),
        ), None


@dataclass(frozen=True)
class PlaneInput:
    """A 2D case: a separator of some width, with grains, boundaries, pores, ..."""

    dim: int = 2
    geometry_keys: tuple[str, ...] = GEOMETRY_KEYS + GEOMETRY_KEYS_2D
    layer_keys: tuple[str, ...] = LAYER_KEYS_2D
    mesh_keys: tuple[str, ...] = MESH_KEYS_2D
    mechanics_models: tuple[str, ...] = ("plane_strain", "plane_stress")
    bc_groups: tuple[str, ...] = BC_GROUPS_2D
    #: rollers must hold a side too (side_y0, side_y1)
    laterally_held: bool = False
    max_refine_fronts: int = 12
    exact_solver: bool = False
    mesh_report: bool = True

    @staticmethod
    def parse_mesh(geometry: dict, mesh_table: dict, layers: list, materials: dict,
                   thickness: float):
        """(default 1D sizes, the 2D geometry record: :func:`parse_geometry2d`)."""
        return MeshOptions(), parse_geometry2d(geometry, mesh_table, geometry["layers"],
                                               [layer.thickness for layer in layers],
                                               materials)


_BY_DIMENSION = {1: LineInput(), 2: PlaneInput()}


def for_dimension(dim: int) -> LineInput | PlaneInput:
    """What a ``dim``-dimensional case may say (``dim`` validated: 1 or 2)."""
    return _BY_DIMENSION[dim]


def other(shape: LineInput | PlaneInput) -> LineInput | PlaneInput:
    """The input record of the other dimension (to name a key that belongs there)."""
    return _BY_DIMENSION[3 - shape.dim]
