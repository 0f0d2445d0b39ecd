"""Typed results of a transport run, and the one place their summary.json keys are spelled.

A :class:`TransportResult` is what a solver (exact, W-FEM, EAFE) found: t_Li, the currents,
Phi, the jumps and interface potentials, the mesh size and the effort. :meth:`to_summary`
gives the ``summary.json`` keys (docs/outputs.md) in their order; the run layer adds the keys
of its solver (the adaptive loop's history, the exact solver's evaluations) through ``extra``.
The metrics modules build their jump and interface entries with :meth:`Jump.to_summary` and
:meth:`InterfacePotential.to_summary` too, so those keys are spelled here only.
NumPy only: no DOLFINx, so the exact solver's runs use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

__all__ = ["InterfacePotential", "Jump", "LastGoodState", "Metrics", "TransportResult",
           "TransportSolve"]


@dataclass(frozen=True)
class TransportSolve(Mapping):
    """The steady state of one solve on one mesh (:func:`~fem_sse.transport.galvanostatic.
    solve_transport`, the EAFE schemes' ``solve``); per unit cathode area in 2D.

    Attributes:
        t_li: ionic transference number (-); one_minus_t_li: 1 - t_Li from the electronic
            current (-).
        j_ionic, j_electronic: ionic and electronic current densities (A/m^2).
        ionic_potential_drop: Phi (V).
        newton_iterations: all Newton iterations of the solve; bordered_iterations: those of
            the bordered Newton on (omega, Phi); outer_iterations: potentiostatic solves.

    Read the attributes. It is also a read-only mapping of its fields, for the adaptive loops
    that merge it with their metrics into one record of a refinement step.
    """

    t_li: float
    one_minus_t_li: float
    j_ionic: float
    j_electronic: float
    ionic_potential_drop: float
    newton_iterations: int
    bordered_iterations: int = 0
    outer_iterations: int = 0

    @classmethod
    def from_mapping(cls, entry: Mapping) -> TransportSolve:
        """The fields of ``entry`` (a solve merged with other keys, e.g. the 2D EAFE's)."""
        return cls(**{f.name: entry[f.name] for f in fields(cls) if f.name in entry})

    def __getitem__(self, key: str):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Jump:
    """A jump of mu_Li0 (a zero crossing of W, where mu_Li0 passes B of its material).

    Attributes:
        x_m: position (m from the cathode; 2D: the length-weighted mean over the front).
        layer: material of the layer it lies in.
        direction: "up" (mu_Li0 rising toward the anode) or "down".
        length_m, coverage, boundary_layer: 2D only: the front's length (m), its length over
            the cathode length (-), and "cathode"/"anode" for a front merged with an electrode
            boundary layer (None: not one, or 1D).
    """

    x_m: float
    layer: str
    direction: str
    length_m: float | None = None
    coverage: float | None = None
    boundary_layer: str | None = None

    @classmethod
    def from_metrics(cls, entry: dict) -> Jump:
        """From a metrics entry (:mod:`fem_sse.transport.metrics1d` / ``metrics2d``)."""
        return cls(entry["x"], entry["layer"], entry["direction"], entry.get("length_m"),
                   entry.get("coverage"), entry.get("boundary_layer"))

    def to_summary(self) -> dict:
        """The summary.json entry ("x" in m, then layer, direction; 2D: front keys)."""
        out = {"x": self.x_m, "layer": self.layer, "direction": self.direction}
        if self.length_m is not None:  # a 2D front
            out.update(length_m=self.length_m, coverage=self.coverage)
            if self.boundary_layer is not None:
                out["boundary_layer"] = self.boundary_layer
        return out


@dataclass(frozen=True)
class InterfacePotential:
    """mu_Li0 (eV) at a layer interface at x_m (m; 2D: averaged along the interface)."""

    x_m: float
    mu_eV: float  # noqa: N815

    @classmethod
    def from_metrics(cls, entry: dict) -> InterfacePotential:
        """From a metrics entry {"x" (m), "mu" (eV)}."""
        return cls(entry["x"], entry["mu"])

    def to_summary(self) -> dict:
        """The summary.json entry {"x" (m), "mu" (eV)}."""
        return {"x": self.x_m, "mu": self.mu_eV}


@dataclass(frozen=True)
class Metrics:
    """What the metrics of a solved state measured (:func:`fem_sse.transport.metrics1d.
    fem_metrics`, :func:`fem_sse.transport.metrics2d.fem_metrics_2d`).

    Attributes:
        jumps: the jumps of mu_Li0 (2D: fronts); mu_interfaces: mu_Li0 at layer interfaces.
        overshoot_fraction, undershoot_fraction: fraction of the thickness (2D: of the area)
            where mu_Li0 > mu_anode or < mu_cathode (-).
        region_stats: 2D: per region statistics (summary.json's ``region_stats``), else None.
        fronts: 2D: the front polylines (fronts.json), else None.
    """

    jumps: tuple[Jump, ...]
    mu_interfaces: tuple[InterfacePotential, ...]
    overshoot_fraction: float
    undershoot_fraction: float
    region_stats: dict | None = None
    fronts: list | None = None

    @classmethod
    def from_metrics(cls, entry: dict) -> Metrics:
        """From the metrics dict of a solved state."""
        return cls(tuple(Jump.from_metrics(j) for j in entry["jumps"]),
                   tuple(InterfacePotential.from_metrics(m) for m in entry["mu_interfaces"]),
                   entry["overshoot_fraction"], entry["undershoot_fraction"],
                   entry.get("region_stats"), entry.get("fronts"))


@dataclass(frozen=True)
class TransportResult:
    """The steady state a transport solver found (per unit cathode area in 2D).

    Attributes:
        t_li: ionic transference number (-); one_minus_t_li: 1 - t_Li, computed from the
            electronic current (not by subtraction: it can be 1e-9).
        j_ionic_A_per_m2, j_electronic_A_per_m2: ionic and electronic current densities.
        phi_V: ionic potential drop Phi (V).
        mu_interfaces: mu_Li0 at the layer interfaces; jumps: the jumps of mu_Li0.
        overshoot_fraction, undershoot_fraction: fraction of the thickness where mu_Li0 >
            mu_anode (Li metal may precipitate) or < mu_cathode (-).
        dofs, cells: size of the final mesh (0 for the exact solver).
        newton_iterations: Newton iterations of the whole run (0 for the exact solver).
        wall_time_s: wall time of the solve (s), or None when not measured.
    """

    t_li: float
    one_minus_t_li: float
    j_ionic_A_per_m2: float  # noqa: N815
    j_electronic_A_per_m2: float  # noqa: N815
    phi_V: float  # noqa: N815
    mu_interfaces: tuple[InterfacePotential, ...] = field(default_factory=tuple)
    jumps: tuple[Jump, ...] = field(default_factory=tuple)
    overshoot_fraction: float = 0.0
    undershoot_fraction: float = 0.0
    dofs: int = 0
    cells: int = 0
    newton_iterations: int = 0
    wall_time_s: float | None = None

    @classmethod
    def of(cls, solve: TransportSolve, metrics: Metrics, dofs: int, cells: int,
           newton_iterations: int) -> TransportResult:
        """The result of an adaptive run: its last ``solve`` and ``metrics``, the final mesh's
        size and the Newton iterations of the whole run."""
        return cls(solve.t_li, solve.one_minus_t_li, solve.j_ionic, solve.j_electronic,
                   solve.ionic_potential_drop, metrics.mu_interfaces, metrics.jumps,
                   metrics.overshoot_fraction, metrics.undershoot_fraction, dofs, cells,
                   newton_iterations)

    @staticmethod
    def unknown_summary() -> dict:
        """The transference-number keys of a run that found no steady state (null)."""
        return {"t_li": None, "one_minus_t_li": None}

    def to_summary(self, extra: dict | None = None) -> dict:
        """The summary.json keys of the result, in their order; ``extra`` (the solver's own
        keys) goes before ``wall_time_s``."""
        out = {"t_li": self.t_li, "one_minus_t_li": self.one_minus_t_li,
               "j_ionic_A_per_m2": self.j_ionic_A_per_m2,
               "j_electronic_A_per_m2": self.j_electronic_A_per_m2,
               "ionic_potential_drop_V": self.phi_V,
               "mu_interfaces": [m.to_summary() for m in self.mu_interfaces],
               "jumps": [j.to_summary() for j in self.jumps],
               "overshoot_fraction": self.overshoot_fraction,
               "undershoot_fraction": self.undershoot_fraction,
               "dofs": self.dofs, "cells": self.cells,
               "newton_iterations": self.newton_iterations, **(extra or {})}
        if self.wall_time_s is not None:
            out["wall_time_s"] = self.wall_time_s
        return out


@dataclass
class LastGoodState:
    """The last good state of a failed solve, handed from the solver to the writers of the
    failed run explicitly (a ConvergenceError carries its diagnosis only). The caller makes
    one and passes it down (``keep=``); a solver that fails with a state worth writing
    records it with :meth:`keep`; the writer asks :meth:`of` the error it caught.

    Attributes:
        error: the ConvergenceError of the failed solve (None: nothing kept).
        problem: the TransportProblem holding its last good state.
    """

    error: Exception | None = None
    problem: object = None

    def keep(self, error: Exception, problem) -> None:
        """Record ``problem`` as the last good state of the solve that raised ``error``."""
        self.error, self.problem = error, problem

    def of(self, error: Exception):
        """The problem kept for ``error`` (that very exception), else None: a state kept for
        an earlier failure (a fallback that solved the case) is not this error's."""
        return self.problem if error is not None and error is self.error else None
