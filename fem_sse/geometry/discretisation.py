"""What differs between a 1D and a 2D separator mesh at the geometry level, in one object per
dimension: building the Gmsh model, checking it, refining marked cells.

:mod:`fem_sse.transport.discretisation` extends :class:`Line1D` and :class:`Plane2D` with what
the transport layer needs (issue 15: the dimension is asked here, not branched on elsewhere;
tests/test_architecture.py counts the branches left). Every import of a builder is inside a
method: :mod:`fem_sse.geometry.build` imports this module.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["Line1D", "Plane2D", "discretisation_for", "for_dimension"]


class Line1D:
    """The interval mesh of a 1D layer stack (:mod:`fem_sse.geometry.line`)."""

    dim = 1
    #: names of the coordinates of a point (a residual's peak in the diagnosis)
    axes = ("x",)

    @staticmethod
    def build_model(model, config, start: float, threads: int = 1) -> tuple[dict, dict, dict]:
        """Build and mesh the Gmsh line of ``config`` (the calling rank): (regions, facet
        groups, info); ``start``: the build's perf_counter start (s)."""
        from fem_sse.geometry.line import build_line_model
        from fem_sse.geometry.regions import regions_1d

        build_line_model(model, config)
        regions, facet_groups = regions_1d(config)
        return regions, facet_groups, {"mesh_time_s": time.perf_counter() - start}

    @staticmethod
    def stack_sizes(config, stack) -> tuple[float, int]:
        """(bulk cell size (m), cells across a bottleneck strip) of the line mesh of the layer
        stack ``stack`` (``config.stack_1d()``): the ``[mesh]`` table's, L/100 by default."""
        return stack.mesh.size or stack.thickness / 100.0, stack.mesh.bottleneck_cells

    @staticmethod
    def check_model(model, facet_groups: dict, info: dict) -> None:
        """Nothing: a line always joins its electrodes."""

    @staticmethod
    def refine_cells(smesh, config, marked: np.ndarray, splits: np.ndarray | None = None):
        """The interval mesh rebuilt with the marked local cells split in ``splits`` parts
        (default 2) (:func:`fem_sse.geometry.line.refine_line`)."""
        from fem_sse.geometry.line import refine_line

        return refine_line(smesh, marked, config, splits)


class Plane2D:
    """A triangle mesh of a 2D separator (:mod:`fem_sse.geometry.stacked`,
    :mod:`fem_sse.geometry.plane`, :mod:`fem_sse.geometry.usermesh`)."""

    dim = 2
    axes = ("x", "y")

    @staticmethod
    def build_model(model, config, start: float, threads: int = 1) -> tuple[dict, dict, dict]:
        """Build and mesh the Gmsh model of ``config`` (the calling rank): a user's mesh file,
        a laterally uniform stack (anisotropic cells for the thin boundary layers) or a
        general plane geometry. Returns (regions, facet groups, info)."""
        from fem_sse.geometry.regions import add_groups

        if config.geometry2d.mesh_file:
            from fem_sse.geometry.usermesh import load_user_model

            cells, facets, info = load_user_model(model, config)
            regions, facet_groups = add_groups(model, cells, facets, config,
                                               where=f"geometry.mesh_file ({info['mesh_file']})")
            return regions, facet_groups, info
        from fem_sse.geometry.stacked import build_stacked_model, is_laterally_uniform

        if is_laterally_uniform(config):  # anisotropic cells for the thin boundary layers
            cells, facets, info = build_stacked_model(model, config)
            regions, facet_groups = add_groups(model, cells, facets, config, where="geometry")
            info["mesh_time_s"] = time.perf_counter() - start
            info["width_m"] = config.geometry2d.width
            return regions, facet_groups, info
        from fem_sse.geometry.plane import build_plane_model, mesh_plane_model

        cells, facets, features, info = build_plane_model(model, config)
        regions, facet_groups = add_groups(model, cells, facets, config, where="geometry")
        info["geometry_time_s"] = time.perf_counter() - start
        mesh_plane_model(model, features, config, threads)
        info["mesh_time_s"] = time.perf_counter() - start
        info["width_m"] = config.geometry2d.width
        return regions, facet_groups, info

    @staticmethod
    def stack_sizes(config, stack) -> tuple[float, int]:
        """(bulk cell size (m), cells across a bottleneck strip) of the line mesh of the
        laterally averaged stack ``stack`` (``config.stack_1d()``): the 2D geometry's sizes
        (its bulk size caps the stack's)."""
        sizes = config.geometry2d.sizes
        h_bulk = min(stack.mesh.size or stack.thickness / 100.0, sizes.size_bulk)
        return h_bulk, sizes.bottleneck_cells

    @staticmethod
    def check_model(model, facet_groups: dict, info: dict) -> None:
        """Refuse a separator cut in two (it has no steady state):
        :func:`fem_sse.geometry.connectivity.check_conducting_path`."""
        from fem_sse.geometry.connectivity import check_conducting_path

        check_conducting_path(model, facet_groups,
                              info.get("mesh_file") and "geometry.mesh_file" or "geometry")

    @staticmethod
    def refine_cells(smesh, config, marked: np.ndarray, splits=None):
        """Plaza refinement of the marked local cells, carrying the tags
        (:func:`fem_sse.geometry.refine2d.refine_tagged`); ``splits`` is not used."""
        from fem_sse.geometry.refine2d import refine_tagged

        return refine_tagged(smesh, marked)


_BY_DIMENSION = {1: Line1D, 2: Plane2D}


def for_dimension(dim: int):
    """The geometry discretisation of a ``dim``-dimensional case or mesh."""
    return _BY_DIMENSION[dim]()


def discretisation_for(mesh):
    """The geometry discretisation of ``mesh`` (a DOLFINx mesh)."""
    return for_dimension(mesh.topology.dim)
