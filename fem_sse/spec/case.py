"""The validated case: frozen dataclasses of a run configuration (SI units, potentials in eV).

:mod:`fem_sse.spec.config` builds them from a TOML file (and re-exports them); nothing here
imports DOLFINx. :class:`Config` also answers the questions every solver asks of the 1D stack:
its thickness, interfaces, segments of constant properties and ionic resistance.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from fem_sse.materials.conductivity import BOLTZMANN_EV, Material
from fem_sse.spec.geometry import Geometry2D
from fem_sse.spec.mechanics import MechanicsSpec

__all__ = ["Bottleneck", "CellConditions", "Config", "Layer", "MeshOptions", "Segment",
           "SolverOptions"]


@dataclass(frozen=True)
class CellConditions:
    """Operating conditions of the cell.

    Attributes:
        temperature: absolute temperature (K).
        mu_cathode: Li0 chemical potential imposed by the cathode at x = 0 (eV).
        mu_anode: Li0 chemical potential imposed by the anode at x = L (eV).
        current_density: applied total current density (A/m^2) in galvanostatic mode, else None.
        ionic_potential_drop: (eta_i(0) - eta_i(L))/e (V) in potentiostatic mode, else None.
    """

    temperature: float
    mu_cathode: float
    mu_anode: float
    current_density: float | None = None
    ionic_potential_drop: float | None = None

    @property
    def kT(self) -> float:  # noqa: N802 - the physics symbol
        """Thermal energy k_B T (eV)."""
        return BOLTZMANN_EV * self.temperature

    @property
    def galvanostatic(self) -> bool:
        """True when the total current is prescribed."""
        return self.current_density is not None


@dataclass(frozen=True)
class Layer:
    """One solid-electrolyte layer: its material name and thickness (m)."""

    material: str
    thickness: float


@dataclass(frozen=True)
class Bottleneck:
    """A thin ionic bottleneck (grain or phase boundary) of the 1D stack.

    Attributes:
        center: position of the strip centre (m).
        width: strip thickness (m).
        sigma_li_factor: Li+ conductivity of the strip over that of the host layer (-).
        name: label used in outputs.
    """

    center: float
    width: float
    sigma_li_factor: float
    name: str = ""

    @property
    def x0(self) -> float:
        """Left edge (m)."""
        return self.center - 0.5 * self.width

    @property
    def x1(self) -> float:
        """Right edge (m)."""
        return self.center + 0.5 * self.width


@dataclass(frozen=True)
class Segment:
    """A piece of the 1D stack with constant properties.

    Attributes:
        x0, x1: end points (m).
        layer: index of the layer it belongs to.
        material: the material (with the bottleneck's reduced sigma_li when in a strip).
        bottleneck: index of the bottleneck strip it belongs to, or None (lattice).
    """

    x0: float
    x1: float
    layer: int
    material: Material
    bottleneck: int | None = None

    @property
    def length(self) -> float:
        """Segment length (m)."""
        return self.x1 - self.x0


@dataclass(frozen=True)
class MeshOptions:
    """1D mesh sizes: bulk cell size (m, None = L/100) and cells across each strip."""

    size: float | None = None
    bottleneck_cells: int = 4


@dataclass(frozen=True)
class SolverOptions:
    """Numerical options of the transport solver (see the module docstring)."""

    #: "fem" (the W formulation), "fem-eafe" (exponentially fitted) or "exact"; a TOML
    #: without ``kind`` gets its dimension's default (spec.dimension: "fem-eafe" in 1D)
    kind: str = "fem"
    degree: int = 1
    adaptive: bool = True
    tolerance: float = 1e-5
    max_cells: int = 20000
    max_refinements: int = 30
    max_newton_iterations: int | None = None
    #: kind "fem": the scheme that solves the case when the W formulation does not converge
    #: (refused beyond its precision, failed, or caught by the exact check); "none": exit 3
    fallback: str = "fem-eafe"
    #: kind "fem": wall time (s) the W formulation's solve may take before it is stopped
    #: (a failure: the fallback solves the case, or exit 3 naming the budget); 0: no budget
    #: (the TOML default is the dimension's: 20 s in 1D, 200 s in 2D)
    w_budget_s: float = 200.0
    #: 2D: solve once more on the final mesh refined everywhere
    #: (:mod:`fem_sse.transport.refined_check`); a relative change of 1 - t_Li above
    #: REFINED_FACTOR (5) tolerances makes the run not converged
    refined_check: bool = False


@dataclass(frozen=True)
class Config:
    """A validated run configuration."""

    cell: CellConditions
    materials: dict[str, Material]
    layers: tuple[Layer, ...]
    bottlenecks: tuple[Bottleneck, ...] = ()
    dim: int = 1
    mesh: MeshOptions = field(default_factory=MeshOptions)
    solver: SolverOptions = field(default_factory=SolverOptions)
    name: str = "case"
    geometry2d: Geometry2D | None = None
    mechanics: MechanicsSpec | None = None
    #: the validated TOML dictionary (restart files store it; not part of equality)
    source: dict | None = field(default=None, compare=False, repr=False)

    @property
    def shape(self):
        """What the input language allows in a case of this dimension: the
        :class:`~fem_sse.spec.dimension.CaseInput` ``LINE`` or ``PLANE`` (the validation,
        the solvers and the commands ask it instead of testing ``dim``)."""
        from fem_sse.spec.dimension import for_dimension  # it imports this module

        return for_dimension(self.dim)

    @property
    def width(self) -> float | None:
        """In-plane width W (m) of a 2D separator, None in 1D."""
        return None if self.geometry2d is None else self.geometry2d.width

    @property
    def thickness(self) -> float:
        """Separator thickness L (m)."""
        return math.fsum(layer.thickness for layer in self.layers)

    @property
    def interfaces(self) -> list[float]:
        """Positions of the internal layer interfaces (m), cathode side first."""
        edges = [0.0]
        for layer in self.layers:
            edges.append(edges[-1] + layer.thickness)
        return edges[1:-1]

    def layer_edges(self) -> list[float]:
        """Layer boundaries 0, x_1, ..., L (m)."""
        return [0.0, *self.interfaces, self.thickness]

    def ionic_resistance(self, x) -> np.ndarray:
        """Area-specific ionic resistance from 0 to ``x`` (Ohm m^2), int dx / sigma_li."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        total = np.zeros_like(x)
        for seg in self.segments():
            covered = np.clip(x, seg.x0, seg.x1) - seg.x0
            total += covered / seg.material.sigma_li
        return total

    def drift_length(self, sigma_li: float) -> float:
        """Length (m) over which the Li+ field moves carriers by kT: kT sigma_li / j_i.

        Electronic boundary layers inside a region are this thin, so a mesh resolves them with
        cells no larger than about this length. j_i is bounded by the applied current
        (galvanostatic) or by Phi / R_ionic (potentiostatic).
        """
        cell = self.cell
        if cell.galvanostatic:
            j_ionic = abs(cell.current_density)
        else:
            resistance = float(self.ionic_resistance(self.thickness)[0])
            j_ionic = abs(cell.ionic_potential_drop) / resistance
        return math.inf if j_ionic == 0.0 else cell.kT * sigma_li / j_ionic

    def stack_1d(self) -> Config:
        """The laterally averaged 1D stack of a 2D config: its layers and full-width
        bottlenecks (grains, grain boundaries and defects dropped); ``self`` in 1D."""
        if self.geometry2d is None:
            return self
        return dataclasses.replace(self, dim=1, geometry2d=None, mesh=MeshOptions())

    def layer_material(self, index: int) -> Material:
        """Material of layer ``index``."""
        return self.materials[self.layers[index].material]

    def segments(self) -> list[Segment]:
        """The stack split into pieces of constant properties, from x = 0 to x = L.

        A bottleneck keeps A and B of the layer it lies in; one that straddles a layer
        interface is split there, each half keeping its own layer's A and B.
        """
        edges = self.layer_edges()
        cuts = sorted({*edges, *(b.x0 for b in self.bottlenecks),
                       *(b.x1 for b in self.bottlenecks)})
        segments = []
        for x0, x1 in zip(cuts[:-1], cuts[1:]):
            mid = 0.5 * (x0 + x1)
            layer = max(i for i in range(len(self.layers)) if edges[i] <= mid)
            material = self.layer_material(layer)
            strip = next((k for k, b in enumerate(self.bottlenecks) if b.x0 <= mid <= b.x1), None)
            if strip is not None:
                factor = self.bottlenecks[strip].sigma_li_factor
                material = material.with_sigma_li(material.sigma_li * factor)
            segments.append(Segment(x0, x1, layer, material, strip))
        return segments

