"""The mechanics step of a run (and of ``fem-sse mechanics``): the film stresses of a 1D
state in closed form, or the plane elastic solve of a 2D state, as a typed summary
(:mod:`fem_sse.mechanics.results`; docs/mechanics.md)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.mechanics.results import FilmSummary, PlaneSummary
from fem_sse.spec.config import Config

__all__ = ["film_mechanics", "held_samples", "plane_mechanics"]


def film_mechanics(config: Config, outputs: CaseOutputs, comm) -> FilmSummary:
    """Stresses of the laterally constrained film (closed form) added to the profile rows
    (rank 0), and their summary (every rank): docs/mechanics.md."""
    from fem_sse.mechanics import film
    from fem_sse.mechanics.reference import reference_summary

    rows, mech = outputs.rows, None
    if rows is not None:
        x = np.asarray(rows["x_m"])
        layer = film.row_layers(config, x, rows["layer"])
        columns = film.film_stress(config, config.mechanics, x, rows["mu_Li0_eV"], layer,
                                   samples=held_samples(config, outputs))
        rows.update(columns)
        mech = replace(film.film_summary(config, columns, x),
                       stress_free_reference=reference_summary(config, config.mechanics))
    return comm.bcast(mech, root=0)


def held_samples(config: Config, outputs: CaseOutputs) -> list:
    """The (layer, x (m), mu (eV)) pieces the held-faces sigma_xx integrates (rank 0), from the
    exact solution or the FEM state; kept in ``outputs.held_samples`` (the restart files save
    them, so that ``fem-sse mechanics`` integrates the same state)."""
    from fem_sse.mechanics import film

    if outputs.held_samples is None:
        outputs.held_samples = list(
            film.exact_samples(outputs.exact) if outputs.exact is not None
            else film.kirchhoff_samples(config, outputs.profile))
    return outputs.held_samples


def plane_mechanics(config: Config, outputs: CaseOutputs, comm) -> PlaneSummary:
    """2D: the elastic solve on the converged transport mesh (refined at and fitted to the
    fronts) from the converged W (one-way coupling, docs/mechanics.md); the result goes to
    ``outputs.elastic``, its summary is returned."""
    from fem_sse.mechanics import solve_mechanics

    problem = outputs.state  # an EAFE state: its W in DG1
    result = solve_mechanics(problem.smesh, None, config, comm,
                             kirchhoff=problem.kirchhoff_function())
    outputs.elastic = result
    return result.record
