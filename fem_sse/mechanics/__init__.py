"""Mechanics: Li0(SE) eigenstrain -> small-strain linear elasticity (docs/mechanics.md).

Driven by a mu_Li0 *field* (one-way coupling), never by the transport object:

* :func:`solve_mechanics` (``smesh, mu, config, comm``) -> :class:`MechanicsResult`;
* :func:`write_mechanics_fields` (VTX + XDMF) and :func:`plot_mechanics` (pyvista PNG);
* :func:`run_mechanics` does all three and returns the summary keys (the 2D integration point
  of ``fem_sse.run``);
* :func:`film_stress` / :func:`film_summary`: the 1D laterally constrained film in closed form.
"""

from fem_sse.mechanics.film import film_stress, film_summary
from fem_sse.mechanics.output import plot_mechanics, write_mechanics_fields
from fem_sse.mechanics.solve import MechanicsResult, default_spec, solve_mechanics

__all__ = ["MechanicsResult", "default_spec", "film_stress", "film_summary", "plot_mechanics",
           "run_mechanics", "solve_mechanics", "write_mechanics_fields"]


def run_mechanics(smesh, mu, config, folder, comm=None, png: bool = True,
                  deformed: bool = False) -> tuple[dict, list[str]]:
    """Solve, write ``mechanics.bp``/``mechanics.xdmf`` (and ``mechanics.png`` in 2D) to
    ``folder`` (collective). Returns (summary, file names)."""
    result = solve_mechanics(smesh, mu, config, comm)
    files = write_mechanics_fields(folder, result)
    if png and smesh.mesh.geometry.dim == 2:
        from pathlib import Path

        plot_mechanics(Path(folder) / "mechanics.png", result, deformed=deformed)
        files.append("mechanics.png")
    return result.summary, files
