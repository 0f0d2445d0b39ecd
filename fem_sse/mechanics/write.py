"""Mechanics: Li0(SE) eigenstrain -> small-strain linear elasticity (docs/mechanics.md).

Driven by a mu_Li0 *field* (one-way coupling), never by the transport object:

* :func:`solve_mechanics` (``smesh, mu, config, comm``) -> :class:`MechanicsResult`;
* :func:`write_mechanics_fields` (VTX + XDMF) and :func:`plot_mechanics` (matplotlib PNG);
* :func:`write_mechanics` writes them all (fields, ``tractions.csv``, PNG) for a solved result,
  and :func:`run_mechanics` solves and writes, returning the summary keys;
* :func:`film_stress` / :func:`film_summary`: the 1D laterally constrained film in closed form.
"""

from fem_sse.mechanics.film import film_stress, film_summary
from fem_sse.mechanics.output import (
    plot_mechanics,
    write_mechanics_fields,
    write_traction_table,
)
from fem_sse.mechanics.solve import MechanicsResult, default_spec, solve_mechanics

__all__ = ["MechanicsResult", "default_spec", "film_stress", "film_summary", "plot_mechanics",
           "run_mechanics", "solve_mechanics", "write_mechanics", "write_mechanics_fields",
           "write_traction_table"]


def write_mechanics(folder, result: MechanicsResult, png: bool = True,
                    deformed: bool = False) -> list[str]:
    """Write ``mechanics.bp``/``mechanics.xdmf``, ``tractions.csv`` and (2D, ``png``)
    ``mechanics.png`` to ``folder`` (collective). Returns the file names."""
    files = write_mechanics_fields(folder, result) + write_traction_table(folder, result)
    if png and result.smesh.mesh.geometry.dim == 2:
        from pathlib import Path

        if plot_mechanics(Path(folder) / "mechanics.png", result, deformed=deformed) is None:
            files.append("mechanics.png")  # else a warning was logged; the results stand
    return files


def run_mechanics(smesh, mu, config, folder, comm=None, png: bool = True,
                  deformed: bool = False, kirchhoff=None) -> tuple[dict, list[str]]:
    """Solve and :func:`write_mechanics` (collective). Returns (summary, file names).
    ``kirchhoff``: the transport's W (A/m, DG1), used instead of ``mu`` when given."""
    result = solve_mechanics(smesh, mu, config, comm, kirchhoff=kirchhoff)
    return result.summary, write_mechanics(folder, result, png, deformed)
