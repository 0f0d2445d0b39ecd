"""Mechanics: Li0(SE) eigenstrain -> small-strain linear elasticity (docs/mechanics.md).

Driven by a mu_Li0 *field* (one-way coupling), never by the transport object:

* :func:`solve_mechanics` (``smesh, mu, config, comm``) -> :class:`MechanicsResult`;
* :func:`write_mechanics_fields` (VTX + XDMF) and :func:`plot_mechanics` (matplotlib PNG);
* :func:`write_mechanics` writes them all (fields, ``tractions.csv``, PNG) for a solved result,
  and :func:`run_mechanics` solves and writes, returning the summary keys;
* :func:`film_stress` / :func:`film_summary`: the 1D laterally constrained film in closed form;
* :class:`FilmSummary` / :class:`PlaneSummary`: the typed ``mechanics`` block of summary.json.

A light package: these names are imported from :mod:`.solve`, :mod:`.output`, :mod:`.write`,
:mod:`.film` and :mod:`.results` on first use (:mod:`fem_sse.lazy`), so importing the package
imports no DOLFINx.
"""

from fem_sse.lazy import lazy_exports

__all__ = ["FilmSummary", "MechanicsResult", "MechanicsSummary", "PlaneSummary", "default_spec",
           "film_stress", "film_summary", "plot_mechanics", "run_mechanics", "solve_mechanics",
           "write_mechanics", "write_mechanics_fields", "write_traction_table"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "MechanicsResult": "solve", "default_spec": "solve", "solve_mechanics": "solve",
    "plot_mechanics": "output", "write_mechanics_fields": "output",
    "write_traction_table": "output", "write_mechanics": "write", "run_mechanics": "write",
    "film_stress": "film", "film_summary": "film", "FilmSummary": "results",
    "MechanicsSummary": "results", "PlaneSummary": "results"})
