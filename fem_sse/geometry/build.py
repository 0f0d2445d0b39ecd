"""The separator mesh: build the Gmsh model of a config on one rank and distribute it as a
DOLFINx mesh with its region tags (:class:`SeparatorMesh`), or write it to a file.

The builders: :mod:`.line` (``dim = 1``), :mod:`.stacked` and :mod:`.plane` (``dim = 2``),
:mod:`.usermesh` (a user's own mesh); regions and tag ids: :mod:`.regions`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from fem_sse.errors import abortable
from fem_sse.geometry.discretisation import for_dimension
from fem_sse.geometry.regions import MeshError, Region
from fem_sse.progress import activity
from fem_sse.spec.config import MIN_PIECE_MESH, Config, ConfigError, check_pieces

__all__ = ["SeparatorMesh", "build_mesh", "write_msh"]


@dataclass
class SeparatorMesh:
    """A distributed mesh with its region tags and their meaning (identical on every rank).

    Attributes:
        mesh: the DOLFINx mesh (shared-facet ghosting).
        cell_tags: region of every cell (tag = segment index + 1 in 1D; regions.py in 2D).
        facet_tags: cathode (1), anode (2), interfaces / free surfaces / GBs / PBs / cracks ...
        regions: cell tag -> :class:`Region` (name, layer, material, sigma_li_factor, kind).
        facet_groups: facet-group name -> facet tag ("cathode": 1, "anode": 2, "pb0": 10, ...).
        info: builder facts (grains per layer, GB centre-line length (m), width (m), times (s)).
    """

    mesh: object
    cell_tags: object
    facet_tags: object
    regions: dict[int, Region] = field(default_factory=dict)
    facet_groups: dict[str, int] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


@dataclass
class _Built:
    model: object
    regions: dict
    facet_groups: dict
    info: dict


def _build_model(gmsh, config: Config, threads: int = 1) -> _Built:
    """Build and mesh the Gmsh model of ``config`` with its physical groups (calling rank)."""
    model = gmsh.model
    start = time.perf_counter()
    check_pieces(config.stack_1d(), MIN_PIECE_MESH, " (the mesh generator's tolerance; the "
                 "exact solver takes it)")
    regions, facet_groups, info = for_dimension(config.dim).build_model(model, config, start,
                                                                        threads)
    return _Built(model, regions, facet_groups, info)


def _group_counts(model) -> dict[str, dict[int, int]]:
    """Elements per physical group ("cells" and "facets" by tag) of the Gmsh mesh."""
    tdim = max(dim for dim, _ in model.getPhysicalGroups())
    counts = {"cells": {}, "facets": {}}
    for dim, tag in model.getPhysicalGroups():
        if dim in (tdim, tdim - 1):
            n = sum(len(e) for entity in model.getEntitiesForPhysicalGroup(dim, tag)
                    for e in model.mesh.getElements(dim, int(entity))[1])
            counts["cells" if dim == tdim else "facets"][int(tag)] = n
    return counts


@contextmanager
def _gmsh_session():
    """Gmsh, initialised if needed; the current model is removed on exit."""
    import gmsh

    initialised = gmsh.isInitialized()
    if not initialised:
        gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        yield gmsh
    finally:
        gmsh.model.remove()
        if not initialised:
            gmsh.finalize()


def build_mesh(config: Config, comm, rank: int = 0, threads: int = 1,
               cut_cracks: bool = False) -> SeparatorMesh:
    """Build the separator mesh on ``rank`` with Gmsh and distribute it over ``comm``.

    The model is built on ``rank`` only; an error there is raised on every rank (no hang).
    Cells are distributed with the shared-facet partitioner of :mod:`fem_sse.compat`, and the
    region table and facet groups are broadcast, so they are the same on every rank.
    ``cut_cracks``: crack lines cut open (:mod:`.cracks`; ``info["crack_nodes_added"]``), for
    the nodal EAFE scheme; the W formulation keeps them as interior facets.
    """
    from fem_sse.compat import gmsh_model_to_mesh

    if comm.rank == rank:
        with _gmsh_session() as gmsh, activity(f"meshing {config.name}"):
            try:
                with abortable():  # Ctrl-C inside Gmsh's C++ (minutes for many grains)
                    built = _build_model(gmsh, config, threads)
                for_dimension(config.dim).check_model(built.model, built.facet_groups,
                                                      built.info)
                if cut_cracks:  # no crack lines (every 1D case): nothing to cut
                    from fem_sse.geometry.cracks import cut_crack_lines

                    built.info["crack_nodes_added"] = cut_crack_lines(gmsh, built.facet_groups)
            except Exception as exc:
                sent = exc if isinstance(exc, ConfigError) else MeshError(
                    "", f"mesh build failed on rank {rank}: {type(exc).__name__}: {exc}")
                comm.bcast(sent, root=rank)
                raise
            comm.bcast(None, root=rank)
            built.info["counts"] = _group_counts(built.model)
            meta = comm.bcast((built.regions, built.facet_groups, built.info), root=rank)
            data = gmsh_model_to_mesh(built.model, comm, rank, gdim=config.dim)
    else:
        error = comm.bcast(None, root=rank)
        if error is not None:
            raise error
        meta = comm.bcast(None, root=rank)
        data = gmsh_model_to_mesh(None, comm, rank, gdim=config.dim)
    return SeparatorMesh(*data, *meta)


def write_msh(config: Config, path, report: bool = False, png=None) -> dict | None:
    """Write the Gmsh mesh of ``config`` to ``path`` (.msh), on the calling rank.

    Args:
        config: the configuration.
        path: output .msh file.
        report: also compute the mesh report (returned as a dict).
        png: optional PNG path: the mesh coloured by region.
    """
    with _gmsh_session() as gmsh, activity(f"meshing {config.name}"):
        with abortable():  # nothing written yet
            built = _build_model(gmsh, config)
        gmsh.write(str(path))
        if not (report or png):
            return None
        from fem_sse.geometry.report import mesh_report, plot_regions

        data = mesh_report(built.model, built.regions, built.facet_groups, built.info)
        if png:
            plot_regions(built.model, built.regions, built.facet_groups, png)
        return data
