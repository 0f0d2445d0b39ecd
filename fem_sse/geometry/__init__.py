"""Geometry: Gmsh builders (run on one rank) and their conversion to distributed DOLFINx meshes."""

from __future__ import annotations

from dataclasses import dataclass

from fem_sse.config import Config

__all__ = ["SeparatorMesh", "build_mesh", "write_msh"]


@dataclass
class SeparatorMesh:
    """A distributed mesh with its region tags.

    Attributes:
        mesh: the DOLFINx mesh (shared-facet ghosting).
        cell_tags: region of every cell (tag = segment index + 1 in 1D).
        facet_tags: cathode, anode and interface facets.
    """

    mesh: object
    cell_tags: object
    facet_tags: object


def _with_gmsh(config: Config, action):
    import gmsh

    initialised = gmsh.isInitialized()
    if not initialised:
        gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        from fem_sse.geometry.line import build_line_model

        model = build_line_model(gmsh.model, config)
        return action(gmsh, model)
    finally:
        gmsh.model.remove()
        if not initialised:
            gmsh.finalize()


def build_mesh(config: Config, comm, rank: int = 0) -> SeparatorMesh:
    """Build the separator mesh on ``rank`` with Gmsh and distribute it over ``comm``."""
    from fem_sse.compat import gmsh_model_to_mesh

    if comm.rank == rank:
        result = _with_gmsh(config, lambda gmsh, model: gmsh_model_to_mesh(
            model, comm, rank, gdim=config.dim))
    else:
        result = gmsh_model_to_mesh(None, comm, rank, gdim=config.dim)
    return SeparatorMesh(*result)


def write_msh(config: Config, path) -> None:
    """Write the Gmsh mesh of ``config`` to ``path`` (.msh), on the calling rank."""
    _with_gmsh(config, lambda gmsh, model: gmsh.write(str(path)))
