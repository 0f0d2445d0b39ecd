"""The ``dim = 2`` geometry of a case: frozen dataclasses (SI), the records that
:mod:`fem_sse.spec.geometry_parse` builds from the ``[geometry]`` and ``[mesh]`` tables.

Nothing here imports Gmsh or DOLFINx. Coordinates: x through the thickness (cathode at x = 0,
anode at x = L), y in-plane (0 <= y <= W). Keys and defaults: docs/geometry.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Asperity", "Crack", "Geometry2D", "GrainBoundaries", "GrainSpec", "MeshSizes2D",
           "Pore", "Roughness"]


@dataclass(frozen=True)
class GrainSpec:
    """Voronoi grains of one layer.

    Attributes:
        count: number of Voronoi seeds in the layer's bounding box.
        seed: seed of the NumPy generator (reproducible layouts).
        kind: "equiaxed" (isotropic) or "columnar" (elongated along x).
        aspect: length along x over width along y of a columnar grain (-), 1 when equiaxed.
        lloyd: Lloyd relaxation steps (0 = plain Poisson seeds).
    """

    count: int
    seed: int
    kind: str = "equiaxed"
    aspect: float = 1.0
    lloyd: int = 1


@dataclass(frozen=True)
class GrainBoundaries:
    """How grain boundaries are represented.

    Attributes:
        model: "strip" (a region of width ``width``, its own material region) or "interface"
            (zero-thickness internal facets tagged ``gb``).
        width: strip width (m); None for interfaces.
        sigma_li_factor: Li+ conductivity of the GB over that of the grain lattice (-).
        material: material of the strips (None: the layer's).
        conductance: Li+ interface conductance g of a zero-thickness GB (S/m^2): the normal
            ionic current through it is g [eta_i / e]; a strip of width d and conductivity s is
            g = s / d. None: no ionic resistance (eta_i continuous).
    """

    model: str
    width: float | None
    sigma_li_factor: float = 1.0
    material: str | None = None
    conductance: float | None = None


@dataclass(frozen=True)
class Roughness:
    """Profile of every phase boundary, x = x_pb + h(y), with max |h| = amplitude.

    Attributes:
        amplitude: peak deviation (m).
        wavelength: sine period (m); None for a random profile.
        seed: seed of the random profile.
        correlation_length: Gaussian correlation length of the random profile (m).
    """

    amplitude: float
    wavelength: float | None = None
    seed: int | None = None
    correlation_length: float | None = None

    @property
    def kind(self) -> str:
        """"sine" or "random"."""
        return "sine" if self.wavelength is not None else "random"


@dataclass(frozen=True)
class Pore:
    """An elliptic pore: centre (m), semi-axes a along the rotated x axis and b (m), angle (rad)."""

    center: tuple[float, float]
    radii: tuple[float, float]
    angle: float = 0.0


@dataclass(frozen=True)
class Crack:
    """A straight crack from ``start`` to ``end`` (m).

    Either a tagged internal curve ("line") or a thin slit of ``width`` (m) cut out of the
    domain ("slit").
    """

    start: tuple[float, float]
    end: tuple[float, float]
    kind: str = "line"
    width: float | None = None

    @property
    def length(self) -> float:
        """Crack length (m)."""
        return math.dist(self.start, self.end)


@dataclass(frozen=True)
class Asperity:
    """A Li-filled asperity of the anode.

    Its base of ``width`` (m) is centred at ``y`` (m) on x = L and it reaches ``depth`` (m) into
    the separator; "triangle" or half-"ellipse".
    """

    y: float
    depth: float
    width: float
    shape: str = "triangle"


@dataclass(frozen=True)
class MeshSizes2D:
    """Target cell sizes (m) of the 2D mesh (defaults resolved at parse time, docs/geometry.md).

    Attributes:
        size_bulk: grain interiors and layers away from features.
        size_gb: at grain boundaries (strip edges or GB interfaces).
        size_pb: at phase boundaries.
        size_electrode: at the cathode, the anode contacts and the contact edges.
        size_crack_tip: at crack tips.
        size_pore: on pore surfaces.
        bottleneck_cells: cells across each bottleneck strip (-).
        grading: growth of the size with the distance to a feature (-), h <= h_min + grading*d.
    """

    size_bulk: float
    size_gb: float
    size_pb: float
    size_electrode: float
    size_crack_tip: float
    size_pore: float
    bottleneck_cells: int = 2
    grading: float = 0.5


@dataclass(frozen=True)
class Geometry2D:
    """The 2D separator: width, per-layer grains, boundaries, defects, mesh sizes."""

    width: float
    grains: tuple[GrainSpec | None, ...]
    sizes: MeshSizes2D
    grain_boundaries: GrainBoundaries | None = None
    roughness: Roughness | None = None
    pores: tuple[Pore, ...] = ()
    cracks: tuple[Crack, ...] = ()
    anode_contact: tuple[tuple[float, float], ...] = ()
    asperities: tuple[Asperity, ...] = ()
    mesh_file: str | None = None
    region_materials: dict[str, str] = field(default_factory=dict)
