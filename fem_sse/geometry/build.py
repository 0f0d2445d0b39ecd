"""The separator mesh: build the Gmsh model of a config on one rank and distribute it as a
DOLFINx mesh with its region tags (:class:`SeparatorMesh`), or write it to a file.

The builders: :mod:`.line` (``dim = 1``), :mod:`.stacked` and :mod:`.plane` (``dim = 2``),
:mod:`.usermesh` (a user's own mesh); regions and tag ids: :mod:`.regions`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from fem_sse.spec.config import MIN_PIECE_MESH, Config, ConfigError, check_pieces
from fem_sse.geometry.regions import MeshError, Region, add_groups, regions_1d
from fem_sse.progress import activity

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
    if config.dim == 1:
        from fem_sse.geometry.line import build_line_model

        build_line_model(model, config)
        regions, facet_groups = regions_1d(config)
        return _Built(model, regions, facet_groups, {"mesh_time_s": time.perf_counter() - start})
    if config.geometry2d.mesh_file:
        from fem_sse.geometry.usermesh import load_user_model

        cells, facets, info = load_user_model(model, config)
        regions, facet_groups = add_groups(model, cells, facets, config,
                                           where=f"geometry.mesh_file ({info['mesh_file']})")
        return _Built(model, regions, facet_groups, info)
    from fem_sse.geometry.stacked import build_stacked_model, is_laterally_uniform

    if is_laterally_uniform(config):  # anisotropic cells for the thin boundary layers
        cells, facets, info = build_stacked_model(model, config)
        regions, facet_groups = add_groups(model, cells, facets, config, where="geometry")
        info["mesh_time_s"] = time.perf_counter() - start
        info["width_m"] = config.geometry2d.width
        return _Built(model, regions, facet_groups, info)
    from fem_sse.geometry.plane import build_plane_model, mesh_plane_model

    cells, facets, features, info = build_plane_model(model, config)
    regions, facet_groups = add_groups(model, cells, facets, config, where="geometry")
    info["geometry_time_s"] = time.perf_counter() - start
    mesh_plane_model(model, features, config, threads)
    info["mesh_time_s"] = time.perf_counter() - start
    info["width_m"] = config.geometry2d.width
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
                built = _build_model(gmsh, config, threads)
                if config.dim == 2:  # a separator cut in two has no steady state
                    from fem_sse.geometry.connectivity import check_conducting_path

                    check_conducting_path(built.model, built.facet_groups,
                                          built.info.get("mesh_file") and "geometry.mesh_file"
                                          or "geometry")
                    if cut_cracks:
                        from fem_sse.geometry.cracks import cut_crack_lines

                        built.info["crack_nodes_added"] = cut_crack_lines(gmsh,
                                                                          built.facet_groups)
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
        built = _build_model(gmsh, config)
        gmsh.write(str(path))
        if not (report or png):
            return None
        from fem_sse.geometry.report import mesh_report, plot_regions

        data = mesh_report(built.model, built.regions, built.facet_groups, built.info)
        if png:
            plot_regions(built.model, built.regions, built.facet_groups, png)
        return data
