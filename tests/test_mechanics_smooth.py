"""The smooth Kirchhoff level of the front fitting (fem_sse/mechanics/smooth.py, issue 17).

A front fitted to the zero set of a level linear in every transport cell has a corner at every
transport cell edge; the stress at each corner is log-singular, so the cell peaks grew with
every round of front refinement of the elastic mesh. The blend of local quadratic fits has
corners of angle O(h^2) only, and the peaks settle.
"""

import dataclasses

import numpy as np
import pytest
from dolfinx import fem

from fem_sse.geometry import build_mesh
from fem_sse.mechanics import solve_mechanics
from fem_sse.mechanics.smooth import QuadraticLevel
from fem_sse.spec.config import parse_config

#: The sharp curved front meshed down to 15.6 nm, mu_Li0 given per cell (no transport corners:
#: bench/mechanics_peaks.py sharp_curved, last row): max principal and von Mises (Pa).
CURVED_FINE = (543.60e6, 696.63e6)


def _quadratic(x, y):
    return 0.3 + 1.1 * x - 0.7 * y + 0.9 * x * x - 0.4 * x * y + 1.3 * y * y


def test_blend_of_quadratic_fits_is_exact_for_a_quadratic():
    """On a perturbed triangulation the blend reproduces a quadratic at any point (every local
    fit is exact), and the two cells of an edge give the same value on it (continuous)."""
    rng = np.random.default_rng(3)
    n = 8
    grid = np.stack(np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n)), -1).reshape(-1, 2)
    inner = np.all((grid > 0) & (grid < 1), axis=1)
    grid[inner] += rng.uniform(-0.03, 0.03, (inner.sum(), 2))
    cells = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1
            cells += [(a, b, d), (a, d, c)]
    cells = np.array(cells)
    values = _quadratic(grid[cells, 0], grid[cells, 1])
    level = QuadraticLevel(grid, cells, values, np.zeros(len(cells), dtype=int),
                           np.ones(len(cells), dtype=bool))
    lam = rng.dirichlet(np.ones(3), (len(cells), 3))  # three random points per cell
    points = np.einsum("nkj,njd->nkd", lam, grid[cells])
    got = level.at(np.arange(len(cells)), points)
    err = np.abs(got - _quadratic(points[..., 0], points[..., 1]))
    assert err.max() < 1e-12, (err.max(), np.argwhere(err > 1e-12)[:5])
    # an edge shared by cells 0 and 1 (vertices a and d): both parents give the same value
    mid = 0.37 * grid[cells[0, 0]] + 0.63 * grid[cells[0, 2]]
    pair = level.at(np.array([0, 1]), np.repeat(mid[None, None], 2, axis=0).repeat(3, axis=1))
    assert pair[0, 0] == pytest.approx(pair[1, 0], abs=1e-14)


def test_fit_on_a_no_flux_side_is_even_about_it():
    """W has no normal gradient on a side that no flux crosses, so the exact front meets the
    side at a right angle (the side is a mirror plane). The fits at the vertices of the side
    y = 0 (not an electrode) are even about it: no linear term in y, for data that are not
    (a fit of these data alone has one); the corners (two sides) are left alone."""
    from fem_sse.mechanics.smooth import mirror_normals

    n = 6
    grid = np.stack(np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n)), -1).reshape(-1, 2)
    cells = np.array([c for i in range(n - 1) for j in range(n - 1) for c in (
        (i * n + j, i * n + j + 1, (i + 1) * n + j + 1),
        (i * n + j, (i + 1) * n + j + 1, (i + 1) * n + j))])
    facet_tag = np.zeros_like(cells)
    normals = mirror_normals(grid, cells, facet_tag, electrodes=())
    bottom = np.flatnonzero((grid[:, 1] == 0.0) & (grid[:, 0] > 0.0) & (grid[:, 0] < 1.0))
    assert np.allclose(np.abs(normals[bottom]), [0.0, 1.0])
    corners = np.flatnonzero(np.all((grid == 0.0) | (grid == 1.0), axis=1))
    assert np.all(normals[corners] == 0.0)
    values = grid[cells, 0] + 0.5 * grid[cells, 1] ** 3 + 0.2 * grid[cells, 1]
    args = (grid, cells, values, np.zeros(len(cells), dtype=int), np.ones(len(cells), bool))
    even, plain = QuadraticLevel(*args, mirror=normals), QuadraticLevel(*args)
    assert np.all(np.abs(even.coef[bottom, 0, 2]) < 1e-12)
    assert np.all(np.abs(plain.coef[bottom, 0, 2]) > 1e-3)


def _strip(comm, monkeypatch, h: float):
    from fem_sse.geometry import stacked

    data = {"cell": {"current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
            "materials": {"a": {"sigma_li": 0.1, "A": 1e-17, "B": -1.5,
                                "strain_law": "two_state"}},
            "geometry": {"dim": 2, "width": 4e-6,
                         "layers": [{"material": "a", "thickness": 10e-6}]},
            "mesh": {"size_bulk": h}, "mechanics": {"stack_pressure": 5e6}}
    config = parse_config(data)
    monkeypatch.setattr(stacked, "is_laterally_uniform", lambda config: False)
    return config, build_mesh(config, comm)


def test_curved_front_from_a_coarse_level_converges_under_front_refinement(comm, monkeypatch):
    """W linear per cell on 0.25 um triangles, its zero the sharp curved front x = 4.33 um +
    0.6 um cos(2 pi y / 4 um); only the elastic mesh is refined. refine_fronts 4 and 6 agree
    to 1 % and lie within 2 % of the front meshed down to 15.6 nm (:data:`CURVED_FINE`).
    The fit of the linear level gave +6.2 % / +2.8 % from 4 to 6 rounds (622.6 / 808.0 MPa)
    and kept rising (640.7 / 913.5 MPa at 8 rounds)."""
    config, smesh = _strip(comm, monkeypatch, 0.25e-6)
    W = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))  # noqa: N806
    W.interpolate(lambda x: 1e3 * (x[0] - 4.33e-6 - 0.6e-6 * np.cos(2 * np.pi * x[1] / 4e-6)))
    peaks = []
    for rounds in (4, 6):
        spec = dataclasses.replace(config.mechanics, refine_fronts=rounds)
        s = solve_mechanics(smesh, None, config, comm, spec=spec, kirchhoff=W).summary
        assert s["cut_cells"] == 0 and s["front_refinements"] == rounds
        peaks.append(np.array([s["max_principal"], s["max_von_mises"]]))
    assert np.all(np.abs(peaks[1] / peaks[0] - 1.0) < 0.01), peaks
    assert np.all(np.abs(peaks[1] / np.array(CURVED_FINE) - 1.0) < 0.02), peaks


def test_smooth_fit_is_the_same_on_every_rank_count(comm, monkeypatch):
    """The smooth level is built on the canonical serial copy: prepare_mesh of a Kirchhoff
    level (a curved front, plus cell-to-cell jumps as in a transport W) gives bit-identical
    meshes, tags and level values on ``comm`` and on one rank alone."""
    from mpi4py import MPI

    from fem_sse import compat
    from fem_sse.mechanics.canonical import _gather
    from fem_sse.mechanics.solve import prepare_mesh

    results = []
    for c in (comm, MPI.COMM_SELF):
        config, smesh = _strip(c, monkeypatch, 0.5e-6)
        spec = dataclasses.replace(config.mechanics, refine_fronts=2)
        msh = smesh.mesh
        W = fem.Function(fem.functionspace(msh, ("DG", 1)))  # noqa: N806
        W.interpolate(lambda x: 1e3 * (x[0] - 4.33e-6 - 0.6e-6 * np.cos(2 * np.pi * x[1] / 4e-6)))
        num = msh.topology.index_map(2).size_local + msh.topology.index_map(2).num_ghosts
        centre = msh.geometry.x[compat.geometry_dofmap(msh)[:num, :3]].mean(axis=1)
        W.x.array[W.function_space.dofmap.list[:num]] += 1e-7 * np.sin(
            3.1e7 * centre[:, 0] + 1.7e7 * centre[:, 1])[:, None]
        fitted, level, rounds, cut = prepare_mesh(smesh, W, "kirchhoff", config, spec)
        assert rounds == 2 and cut > 0
        results.append(_gather(fitted, level, c))
    if comm.rank == 0:
        for a, b, name in zip(*results, ("vertices", "cells", "cell tags", "facet tags",
                                         "level"), strict=True):
            assert a.shape == b.shape and np.array_equal(a, b), name
