"""All mechanics files of a solved result (fields, ``tractions.csv``, PNG), and solve-and-write
in one call (the run and restart commands use it)."""

from pathlib import Path

from fem_sse.mechanics.output import (
    plot_mechanics,
    write_mechanics_fields,
    write_traction_table,
)
from fem_sse.mechanics.solve import MechanicsResult, solve_mechanics
from fem_sse.transport.discretisation import discretisation_for

__all__ = ["run_mechanics", "write_mechanics"]


def write_mechanics(folder, result: MechanicsResult, png: bool = True,
                    deformed: bool = False) -> list[str]:
    """Write ``mechanics.bp``/``mechanics.xdmf``, ``tractions.csv`` and (2D, ``png``)
    ``mechanics.png`` to ``folder`` (collective). Returns the file names."""
    files = write_mechanics_fields(folder, result) + write_traction_table(folder, result)
    if png and discretisation_for(result.smesh.mesh).draws_maps:
        if plot_mechanics(Path(folder) / "mechanics.png", result, deformed=deformed) is None:
            files.append("mechanics.png")  # else a warning was logged; the results stand
    return files


def run_mechanics(smesh, mu, config, folder, comm=None, png: bool = True,
                  deformed: bool = False, kirchhoff=None) -> tuple[dict, list[str]]:
    """Solve and :func:`write_mechanics` (collective). Returns (summary, file names).
    ``kirchhoff``: the transport's W (A/m, DG1), used instead of ``mu`` when given."""
    result = solve_mechanics(smesh, mu, config, comm, kirchhoff=kirchhoff)
    return result.summary, write_mechanics(folder, result, png, deformed)
