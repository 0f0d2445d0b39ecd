"""Typed results of a transport run, and the one place their summary.json keys are spelled.

A :class:`TransportResult` is what a solver (exact, W-FEM, EAFE) found: t_Li, the currents,
Phi, the jumps and interface potentials, the mesh size and the effort. :meth:`to_summary`
gives the ``summary.json`` keys (docs/outputs.md) in their order; the run layer adds the keys
of its solver (the adaptive loop's history, the exact solver's evaluations) through ``extra``.
NumPy only: no DOLFINx, so the exact solver's runs use it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["InterfacePotential", "Jump", "TransportResult"]


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
