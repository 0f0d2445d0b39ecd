"""Refinement of the converged transport mesh at the eigenstrain fronts (2D, for the elastic solve).

The transport solution resolves the Kirchhoff variable W, which is smooth where mu_Li0 jumps by
eV: a jump is a zero crossing of W inside one cell (docs/transport2d.md). The eigenstrain follows
mu_Li0, so on the transport mesh its step lies inside a cell, where a CG1 displacement cannot
follow it: the stress next to the step then depends on where the step cuts the cell (measured
on the study cases: a 2 um cell at the cathode-side jump of the bilayer gave a 686 MPa peak for a
302 MPa film stress). :func:`refine_at_fronts` refines the cells over which the eigenstrain
changes by more than ``fraction`` of its global swing, ``levels`` times, and evaluates mu_Li0 on
the refined mesh from W, which is carried over exactly: W is linear in each parent cell (DG1)
and every child lies inside its parent, so the parent's three nodal values and vertices,
interpolated at the child's midpoint (DG0, found on whichever rank owns the parent), give W at
the child's nodes by barycentric coordinates. mu = B + kT asinh(W / (2 A kT)) per material.
"""

from __future__ import annotations

import logging

import numpy as np
from dolfinx import fem
from mpi4py import MPI

from fem_sse import compat
from fem_sse.geometry.refine2d import barycentric
from fem_sse.transport.fields import cell_material_arrays, mu_from_kirchhoff

__all__ = ["carry_linear", "mu_from_kirchhoff", "refine_at_fronts", "refine_level"]

log = logging.getLogger(__name__)


def _marked(smesh, level: fem.Function, kind: str, config, spec, fraction: float) -> np.ndarray:
    """Owned cells over whose nodes the eigenstrain changes by > fraction x its global swing."""
    from fem_sse.mechanics.eigenstrain import mu_at

    V = level.function_space
    msh = V.mesh
    imap = msh.topology.index_map(msh.topology.dim)
    n_owned = imap.size_local
    names = cell_material_arrays(smesh, config, n_owned + imap.num_ghosts)[0][:n_owned]
    values = mu_at(level.x.array[V.dofmap.list[:n_owned]], names[:, None].repeat(
        V.dofmap.list.shape[1], 1), config, kind)
    estar = np.zeros_like(values)
    for name in sorted(set(names) - {""}):
        cells = names == name
        estar[cells] = spec.materials[name].eigenstrain(values[cells], config.materials[name],
                                                        config.cell.kT, spec.mu_ref)
    comm = msh.comm
    swing = (comm.allreduce(float(estar.max(initial=-np.inf)), MPI.MAX)
             - comm.allreduce(float(estar.min(initial=np.inf)), MPI.MIN))
    if not swing > 0.0:
        return np.zeros(0, dtype=np.int32)
    return np.flatnonzero(np.ptp(estar, axis=1) > fraction * swing).astype(np.int32)


def carry_linear(kirchhoff: fem.Function, new_mesh) -> fem.Function:
    """A DG1 field (W) on a refinement of its mesh, exact (see the module docstring)."""
    V = kirchhoff.function_space
    msh = V.mesh
    imap = msh.topology.index_map(msh.topology.dim)
    num = imap.size_local + imap.num_ghosts
    dofs = V.dofmap.list[:num]
    coords = V.tabulate_dof_coordinates()[:, :2]
    parent = fem.Function(fem.functionspace(msh, ("DG", 0, (9,))))
    parent.x.array[:] = np.column_stack([kirchhoff.x.array[dofs],
                                         coords[dofs].reshape(num, 6)]).ravel()
    Q = fem.functionspace(new_mesh, ("DG", 0, (9,)))  # noqa: N806
    child = fem.Function(Q)
    compat.locate_parents(child, parent)
    new_map = new_mesh.topology.index_map(new_mesh.topology.dim)
    n_new = new_map.size_local + new_map.num_ghosts
    data = child.x.array.reshape(-1, 9)[Q.dofmap.list[:n_new, 0]]
    w_parent, verts = data[:, :3], data[:, 3:].reshape(n_new, 3, 2)
    W = fem.Function(fem.functionspace(new_mesh, ("DG", 1)), name="W")  # noqa: N806
    new_dofs = W.function_space.dofmap.list[:n_new]
    points = W.function_space.tabulate_dof_coordinates()[new_dofs][..., :2]  # (n, 3, 2)
    weights = barycentric(points, verts)  # each child node in its parent triangle
    W.x.array[new_dofs] = np.einsum("nkj,nj->nk", weights, w_parent)
    W.x.scatter_forward()
    return W


def refine_level(smesh, level: fem.Function, kind: str, config, spec, levels: int,
                 fraction: float = 0.1, max_cells: int = 2_000_000, recover=None):
    """Refine ``smesh`` (2D) where the eigenstrain of a DG1 level field changes across a cell.

    Args:
        smesh: the mesh.
        level: DG1 field on it: W (A/m, ``kind`` "kirchhoff") or mu_Li0 (eV, "mu").
        config: the configuration (materials A, B, kT).
        spec: the mechanics spec (strain laws, mu_ref).
        levels: refinement rounds (each halves the cells at the fronts).
        fraction: mark cells whose eigenstrain range exceeds this fraction of the global swing.
        max_cells: stop before a round that would exceed this many cells (global).
        recover: optional ``recover(smesh, level) -> level`` applied after each round (the
            smooth level of :mod:`.smooth`, so that the next round marks its fronts).

    Returns:
        (refined SeparatorMesh, the level field carried to it exactly (or recovered), rounds
        done).
    """
    from fem_sse.geometry.refine2d import refine_tagged

    comm = smesh.mesh.comm
    done = 0
    for _ in range(levels):
        cells = _marked(smesh, level, kind, config, spec, fraction)
        marked = comm.allreduce(len(cells), MPI.SUM)
        total = smesh.mesh.topology.index_map(2).size_global
        if marked == 0 or total + 6 * marked > max_cells:
            break
        new = refine_tagged(smesh, cells)
        level = carry_linear(level, new.mesh)
        smesh = new
        if recover is not None:
            level = recover(smesh, level)
        done += 1
        log.info("front refinement %d: %d cells marked, %d cells", done, marked,
                 smesh.mesh.topology.index_map(2).size_global)
    return smesh, level, done


def refine_at_fronts(smesh, kirchhoff: fem.Function, config, spec, levels: int,
                     fraction: float = 0.1, max_cells: int = 2_000_000):
    """:func:`refine_level` of the Kirchhoff variable W (A/m, DG1).

    Returns:
        (refined SeparatorMesh, mu_Li0 (eV) in DG1 on it, number of rounds done).
    """
    smesh, W, done = refine_level(smesh, kirchhoff, "kirchhoff", config, spec, levels,  # noqa: N806
                                  fraction, max_cells)
    return smesh, mu_from_kirchhoff(smesh, W, config), done
