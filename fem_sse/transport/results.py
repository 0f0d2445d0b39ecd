"""Typed results of a transport run, and the one place their summary.json keys are spelled.

A :class:`TransportResult` is what a solver (exact, W-FEM, EAFE) found: t_Li, currents, Phi,
jumps, interface potentials, mesh size, effort. :meth:`to_summary` gives the ``summary.json``
keys (docs/outputs.md) in order; the run layer adds its solver's keys through ``extra``. The
metrics modules write jumps and interfaces with :meth:`Jump.to_summary` and
:meth:`InterfacePotential.to_summary`, so those keys are spelled here only. NumPy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fem_sse.records import MappingRecord, SummaryRecord

__all__ = ["RESOLVED_COVERAGE", "FailedStep", "InterfacePotential", "Jump", "LastGoodState",
           "Metrics", "RefinementStep", "Refinement", "RegionStats", "StepChange",
           "TransportResult", "TransportSolve", "add_wall_time", "converged_in",
           "converged_summary", "error_summary", "fraction_summary", "transference_summary",
           "wall_time_summary", "FRAGMENTS"]


@dataclass(frozen=True)
class TransportSolve(MappingRecord):
    """The steady state of one solve on one mesh (:func:`~fem_sse.transport.galvanostatic.
    solve_transport`, the EAFE schemes' ``solve``); per unit cathode area in 2D.

    Attributes:
        t_li: ionic transference number (-); one_minus_t_li: 1 - t_Li from the electronic
            current (-).
        j_ionic, j_electronic: ionic and electronic current densities (A/m^2).
        ionic_potential_drop: Phi (V).
        newton_iterations: all Newton iterations of the solve; bordered_iterations: those of
            the bordered Newton on (omega, Phi); outer_iterations: potentiostatic solves.

    Read the attributes; it also reads as a mapping of its fields (scripts and tests).
    """

    t_li: float
    one_minus_t_li: float
    j_ionic: float
    j_electronic: float
    ionic_potential_drop: float
    newton_iterations: int
    bordered_iterations: int = 0
    outer_iterations: int = 0


#: 2D fronts below this share of the cathode length, and joined pieces (``boundary_layer``
#: FRAGMENTS, 3:21; pb<i>, 5:42) are not compared; boundary layers at the ELECTRODES are
RESOLVED_COVERAGE, FRAGMENTS, ELECTRODES = 1e-4, "fragments", ("cathode", "anode")


@dataclass(frozen=True)
class Jump:
    """A jump of mu_Li0 (a zero crossing of W, where mu_Li0 passes B of its material).

    Attributes:
        x_m, layer, direction: position (m from the cathode; 2D: the length-weighted mean over
            the front), the layer's material, "up" (mu_Li0 rising toward the anode) or "down".
        length_m, coverage, boundary_layer: 2D only: the front's length (m), its length over
            the cathode length (-), "cathode"/"anode" (merged with an electrode boundary
            layer), FRAGMENTS (joined pieces of one crossing), ``pb<i>`` (along that PB).
    """

    x_m: float
    layer: str
    direction: str
    length_m: float | None = None
    coverage: float | None = None
    boundary_layer: str | None = None

    @classmethod
    def from_summary(cls, entry: dict) -> Jump:
        """From its summary.json entry (:meth:`to_summary`)."""
        return cls(entry["x"], entry["layer"], entry["direction"], entry.get("length_m"),
                   entry.get("coverage"), entry.get("boundary_layer"))

    @property
    def resolved(self) -> bool:
        """Whether the loop compares it (1D: always; 2D: not fragments or PB pieces)."""
        return self.coverage is None or (self.coverage >= RESOLVED_COVERAGE
                                         and self.boundary_layer in (None, *ELECTRODES))

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
    def from_summary(cls, entry: dict) -> InterfacePotential:
        """From its summary.json entry {"x" (m), "mu" (eV)}."""
        return cls(entry["x"], entry["mu"])

    def to_summary(self) -> dict:
        """The summary.json entry {"x" (m), "mu" (eV)}."""
        return {"x": self.x_m, "mu": self.mu_eV}


@dataclass(frozen=True)
class RegionStats(SummaryRecord):
    """A region's entry of ``region_stats`` (2D): material, kind, area (m^2 per unit depth),
    range of mu_Li0 (eV), area fractions with mu_Li0 > mu_anode or < mu_cathode (-)."""

    material: str
    kind: str
    area_m2: float
    mu_min_eV: float  # noqa: N815
    mu_max_eV: float  # noqa: N815
    overshoot_fraction: float
    undershoot_fraction: float


@dataclass(frozen=True)
class Metrics:
    """What the metrics of a solved state measured (:func:`fem_sse.transport.metrics1d.
    fem_metrics`, :func:`fem_sse.transport.metrics2d.fem_metrics_2d`).

    Attributes:
        jumps: the jumps of mu_Li0 (2D: fronts); mu_interfaces: mu_Li0 at layer interfaces.
        overshoot_fraction, undershoot_fraction: fraction of the thickness (2D: of the area)
            where mu_Li0 > mu_anode or < mu_cathode (-).
        region_stats, fronts: 2D: :class:`RegionStats` per region name (``region_stats``)
            and the front polylines (fronts.json); None in 1D.
    """

    jumps: tuple[Jump, ...]
    mu_interfaces: tuple[InterfacePotential, ...]
    overshoot_fraction: float
    undershoot_fraction: float
    region_stats: dict[str, RegionStats] | None = None
    fronts: list | None = None

    def region_summary(self) -> dict | None:
        """The ``region_stats`` block: each region's entry by name (None in 1D)."""
        return (None if self.region_stats is None
                else {name: s.to_summary() for name, s in self.region_stats.items()})


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
        dofs, cells, newton_iterations: size of the final mesh and Newton iterations of the
            whole run (0 for the exact solver).
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
    def of(cls, solve: TransportSolve, metrics: Metrics, dofs: int = 0, cells: int = 0,
           newton_iterations: int = 0) -> TransportResult:
        """The result of an adaptive run: its last ``solve`` and ``metrics``, the final mesh's
        size and the Newton iterations of the whole run (a refinement step's state: without)."""
        return cls(solve.t_li, solve.one_minus_t_li, solve.j_ionic, solve.j_electronic,
                   solve.ionic_potential_drop, metrics.mu_interfaces, metrics.jumps,
                   metrics.overshoot_fraction, metrics.undershoot_fraction, dofs, cells,
                   newton_iterations)

    @staticmethod
    def unknown_summary() -> dict:
        """The transference-number keys of a run that found no steady state (null)."""
        return transference_summary(None, None)

    def to_summary(self, extra: dict | None = None) -> dict:
        """The summary.json keys of the result, in their order; ``extra`` (the solver's own
        keys) goes before ``wall_time_s``."""
        out = {**transference_summary(self.t_li, self.one_minus_t_li),
               "j_ionic_A_per_m2": self.j_ionic_A_per_m2,
               "j_electronic_A_per_m2": self.j_electronic_A_per_m2,
               "ionic_potential_drop_V": self.phi_V,
               "mu_interfaces": [m.to_summary() for m in self.mu_interfaces],
               "jumps": [j.to_summary() for j in self.jumps],
               **fraction_summary(self.overshoot_fraction, self.undershoot_fraction),
               "dofs": self.dofs, "cells": self.cells,
               "newton_iterations": self.newton_iterations, **(extra or {})}
        if self.wall_time_s is not None:
            out.update(wall_time_summary(self.wall_time_s))
        return out

    def table_keys(self) -> tuple[str, ...]:
        """The scalar keys of :meth:`to_summary` (a sweep's table columns; not the jump and
        interface lists)."""
        return tuple(k for k, v in self.to_summary().items() if not isinstance(v, list))

    @classmethod
    def from_summary(cls, summary: Mapping) -> TransportResult:
        """The result a summary.json holds (:meth:`to_summary`; a key an older fem-sse did
        not write, or a failed run's null, reads as the field's default or None)."""
        return cls(summary.get("t_li"), summary.get("one_minus_t_li"),
                   summary.get("j_ionic_A_per_m2"), summary.get("j_electronic_A_per_m2"),
                   summary.get("ionic_potential_drop_V"),
                   tuple(InterfacePotential.from_summary(m)
                         for m in summary.get("mu_interfaces") or ()),
                   tuple(Jump.from_summary(j) for j in summary.get("jumps") or ()),
                   summary.get("overshoot_fraction", 0.0),
                   summary.get("undershoot_fraction", 0.0), summary.get("dofs", 0),
                   summary.get("cells", 0), summary.get("newton_iterations", 0),
                   summary.get("wall_time_s"))


def transference_summary(t_li: float | None, one_minus_t_li: float | None) -> dict:
    """The transference-number keys (-) of a summary, a restart summary, a checkpoint's
    state.json and the exact 1D comparison of a 2D certificate."""
    return {"t_li": t_li, "one_minus_t_li": one_minus_t_li}


def error_summary(message: str) -> dict:
    """The ``error`` key: the one-line message of what failed (a run, a refinement step, the
    fallback)."""
    return {"error": message}


def wall_time_summary(seconds: float) -> dict:
    """The ``wall_time_s`` key (s) of a run's (or a restart's) summary."""
    return {"wall_time_s": seconds}


def add_wall_time(summary: dict, seconds: float) -> None:
    """Add ``seconds`` (s) to the ``wall_time_s`` of a transport step's summary keys, in place
    (a fallback's summary: the W solve's time before it); none measured: left out."""
    if summary.get("wall_time_s") is not None:
        summary["wall_time_s"] += seconds


def fraction_summary(overshoot: float, undershoot: float) -> dict:
    """The fractions (-) of the thickness (2D: of a region's area) where mu_Li0 > mu_anode
    (overshoot) and < mu_cathode (undershoot)."""
    return {"overshoot_fraction": overshoot, "undershoot_fraction": undershoot}


def converged_summary(converged: bool) -> dict:
    """The ``converged`` key (of a run, of the adaptive loop, of a failed refinement step)."""
    return {"converged": converged}


def converged_in(summary: Mapping) -> bool:
    """Whether ``summary`` (a run's or a transport step's keys) says converged (a solver that
    does not say, the exact one, always converges)."""
    return summary.get("converged", True)


@dataclass(frozen=True)
class StepChange:
    """What changed between two meshes of an adaptive loop: 1 - t_Li (relative, -), the
    largest jump shift (/L, -; 1 when the jump count changed) and the largest change of an
    interface potential (eV). 2D fragments (not :attr:`Jump.resolved`) are not compared."""

    d_one_minus_t: float
    d_jump_x: float
    d_mu_interface: float

    @classmethod
    def between(cls, prev: TransportResult, cur: TransportResult, length: float) -> StepChange:
        """The change from ``prev`` to ``cur`` (``length``: the thickness, m)."""
        pj, cj = ([j for j in jumps if j.resolved] for jumps in (prev.jumps, cur.jumps))
        d_x = (max((abs(a.x_m - b.x_m) for a, b in zip(pj, cj)), default=0.0) / length
               if len(pj) == len(cj) else 1.0)
        d_mu = max((abs(a.mu_eV - b.mu_eV) for a, b in zip(prev.mu_interfaces,
                                                           cur.mu_interfaces)), default=0.0)
        return cls(abs(cur.one_minus_t_li / prev.one_minus_t_li - 1.0), d_x, d_mu)

    def to_summary(self) -> dict:
        """The ``last_change`` block (and a refinement step's change keys)."""
        return {"d_one_minus_t": self.d_one_minus_t, "d_jump_x": self.d_jump_x,
                "d_mu_interface": self.d_mu_interface}


@dataclass
class RefinementStep:
    """One mesh of an adaptive loop: its size, 1 - t_Li (-), Newton iterations, wall time (s),
    the change from the previous mesh (None on the first), whether the cell cap cut the
    marking that made this mesh to less than half its share and the mesh grew by less than
    20 % (``marking_capped``: its change is weak evidence of convergence)
    and, 2D EAFE, the ionic error estimate (relative, -)."""

    step: int
    cells: int
    dofs: int
    one_minus_t_li: float
    newton_iterations: int
    wall_time_s: float
    change: StepChange | None = None
    ionic_rel_error_estimate: float | None = None
    marking_capped: bool = False

    def to_summary(self) -> dict:
        """The ``refinement_history`` entry."""
        out = {"step": self.step, "cells": self.cells, "dofs": self.dofs,
               "one_minus_t_li": self.one_minus_t_li,
               "newton_iterations": self.newton_iterations, "wall_time_s": self.wall_time_s,
               **(self.change.to_summary() if self.change is not None else {})}
        if self.ionic_rel_error_estimate is not None:
            out["ionic_rel_error_estimate"] = self.ionic_rel_error_estimate
        if self.marking_capped:
            out["marking_capped"] = True
        return out


@dataclass(frozen=True)
class FailedStep:
    """A refined mesh that did not converge (the loop kept the previous one)."""

    step: int
    error: str
    cells = change = None  # no mesh measured

    def to_summary(self) -> dict:
        """The ``refinement_history`` entry."""
        return {"step": self.step, **converged_summary(False), **error_summary(self.error)}


@dataclass(frozen=True)
class Refinement:
    """How an adaptive loop ended: its history (:class:`RefinementStep` / :class:`FailedStep`),
    whether it converged (``certified``: False when a certificate rejected the final state),
    why it stopped, and the last change."""

    history: tuple
    converged: bool
    stop_reason: str
    last_change: StepChange | None
    certified: bool = True

    def to_summary(self) -> dict:
        """The adaptive loop's summary keys, in order."""
        return {"refinement_steps": sum(h.cells is not None for h in self.history) - 1,
                "refinement_history": [h.to_summary() for h in self.history],
                **converged_summary(self.converged and self.certified),
                "stop_reason": self.stop_reason,
                "last_change": self.last_change.to_summary() if self.last_change else None}

    @staticmethod
    def stop_reason_of(summary: Mapping) -> str | None:
        """The stop reason a transport step's summary keys hold (None: not adaptive)."""
        return summary.get("stop_reason")

    @staticmethod
    def last_change_of(summary: Mapping) -> float | None:
        """The last relative change of 1 - t_Li in a summary's keys (None: none)."""
        return (summary.get("last_change") or {}).get("d_one_minus_t")


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
