"""Typed mechanics summaries, and the one place their summary.json keys are spelled.

A summary is a thin record whose fields mirror the keys of the ``mechanics`` block of
summary.json (docs/outputs.md), in their order: :class:`FilmSummary` for the 1D laterally
constrained film (closed form, :mod:`.film`), :class:`PlaneSummary` for the elastic solve
(:mod:`.solve`). A field holding a dict of per-electrode (or per-quantity) values is spliced
into the block with its ``prefix`` (``crack_risk_distances = {"cathode": d}`` gives
``crack_risk_distance_to_cathode``); an optional field that is None is left out. The run layer
reads attributes and :meth:`MechanicsSummary.run_keys` (the issue's top-level keys beside the
block). NumPy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fem_sse.records import SummaryRecord, optional, spliced

__all__ = ["FilmSummary", "MechanicsSummary", "PlaneSummary", "crack_risk_x_of", "peak_line",
           "principal_peak_of", "table_peaks"]

#: the peaks a sweep's table shows (von Mises and max principal in Pa, crack risk -)
PEAK_KEYS = ("max_von_mises", "max_principal", "crack_risk_index")
#: the keys a run's summary repeats at its top level beside the ``mechanics`` block
RUN_KEYS = (*PEAK_KEYS, "crack_risk_location", "crack_risk_distance_to_electrode",
            "crack_risk_basis", "fracture_risk_index", "stress_free_reference")


def peak_line(summary: Mapping) -> str | None:
    """The peaks of a summary with mechanics keys, in one line (stresses in MPa, the distance
    of the crack-risk peak to its electrode in um); None without mechanics."""
    if "mechanics" not in summary:
        return None
    block = summary["mechanics"]
    return (f"max von Mises {block['max_von_mises'] / 1e6:.1f} MPa, max principal "
            f"{block['max_principal'] / 1e6:.1f} MPa, crack risk "
            f"{block['crack_risk_index']:.3g} at "
            f"{block['crack_risk_distance_to_electrode'] * 1e6:.3g} um from the "
            f"{block['crack_risk_nearest_electrode']}")


def table_peaks(summary: Mapping) -> dict:
    """The :data:`PEAK_KEYS` a run's summary holds (empty without mechanics)."""
    return {key: summary[key] for key in PEAK_KEYS if key in summary}


def principal_peak_of(summary: Mapping) -> float | None:
    """The max principal peak (Pa) of a run's summary (or a sweep row); None without
    mechanics."""
    return summary.get("max_principal")


def crack_risk_x_of(summary: Mapping) -> float | None:
    """x (m) of the crack-risk peak of a run's summary; None without mechanics."""
    location = summary.get("crack_risk_location")
    return None if location is None else location[0]


class MechanicsSummary(SummaryRecord):
    """Common behaviour of the mechanics summaries: every one has the attributes of
    :data:`RUN_KEYS` (stresses in Pa, risk indices -, locations and distances in m);
    :meth:`to_summary` is the ``mechanics`` block of summary.json, the fields in order."""

    def run_keys(self) -> dict:
        """The run summary's mechanics keys: :data:`RUN_KEYS` and the whole block."""
        block = self.to_summary()
        return {**{key: block[key] for key in RUN_KEYS}, "mechanics": block}


@dataclass(frozen=True, kw_only=True)
class FilmSummary(MechanicsSummary):
    """The 1D film (:func:`fem_sse.mechanics.film.film_summary`): peaks (Pa) with their
    location ([x] in m), the axial stress sigma_xx (Pa), the crack-risk index (max principal /
    strength, -) and the fracture-risk index (K_I / K_IC, -) with their locations and distances
    to the electrodes (m), the largest K_I (Pa m^0.5) and the stress-free reference block (set
    by the run)."""

    model: str
    max_von_mises: float
    max_von_mises_location: list
    max_principal: float
    max_principal_location: list
    min_principal: float
    max_hydrostatic: float
    sigma_xx: float
    crack_risk_index: float
    crack_risk_location: list
    crack_risk_distance_to_electrode: float
    crack_risk_distances: dict = spliced("crack_risk_distance_to_")
    crack_risk_nearest_electrode: str
    crack_risk_basis: str
    crack_risk_index_local: float
    max_principal_flaw_average: float
    max_principal_flaw_average_location: list
    max_von_mises_flaw_average: float
    flaw_average_length: float
    max_stress_intensity: float
    fracture_risk_index: float
    fracture_risk_location: list
    fracture_risk_distances: dict = spliced("fracture_risk_distance_to_")
    stress_free_reference: dict | None = optional()


@dataclass(frozen=True, kw_only=True)
class PlaneSummary(MechanicsSummary):
    """The elastic solve (:func:`fem_sse.mechanics.solve.solve_mechanics`): as
    :class:`FilmSummary` (locations are points, m) without sigma_xx, with the distance of the
    von Mises and principal peaks to the nearest electrode (m), the flaw-size averaged peaks
    (:mod:`fem_sse.mechanics.average`, their own keys), how the eigenstrain was represented, the
    front refinement (rounds, fitted edges, cut cells), the mesh, the largest displacement (m),
    the tractions per interface group (Pa) and the linear solve (DOFs, solver, iterations,
    times in s)."""

    model: str
    max_von_mises: float
    max_von_mises_location: list
    max_von_mises_distance_to_electrode: float
    max_principal: float
    max_principal_location: list
    max_principal_distance_to_electrode: float
    min_principal: float
    max_hydrostatic: float
    crack_risk_index: float
    crack_risk_location: list
    crack_risk_distance_to_electrode: float
    crack_risk_nearest_electrode: str
    crack_risk_distances: dict = spliced("crack_risk_distance_to_")
    crack_risk_basis: str
    crack_risk_index_local: float
    max_stress_intensity: float
    fracture_risk_index: float
    fracture_risk_location: list
    fracture_risk_distances: dict = spliced("fracture_risk_distance_to_")
    max_principal_flaw_average: float
    max_von_mises_flaw_average: float
    max_principal_flaw_average_location: list
    flaw_average_length: float
    stress_free_reference: dict
    eigenstrain: str
    front_refinements: int
    fitted_edges: int
    cut_cells: int
    cells: int
    max_displacement: float
    tractions: dict
    dofs: int
    solver: str
    ksp_iterations: int
    assemble_time_s: float
    solve_time_s: float
    mechanics_wall_time_s: float
