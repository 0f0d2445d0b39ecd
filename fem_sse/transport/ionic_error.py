"""A posteriori error of the ionic potential w (P1, 2D): where to refine so that the ionic
conductance G is right, and how wrong it may still be.

w solves div(sigma_li grad w) = 0 with w = 1 on the cathode, 0 on the anode and no flux
elsewhere; G = integral of sigma_li |grad w|^2 (S/m per unit depth) is the ionic conductance.
For the P1 Galerkin solution w_h (exact Dirichlet data), G_h - G = ||sigma_li^1/2 grad(w -
w_h)||^2 >= 0: P1 overestimates G by the energy error. The residual estimator bounds that
error up to a constant of order one (Verfuerth): per cell K, with P1 (no interior residual),

    eta_K^2 = sum over the facets F of K of h_F / sigma_F ||[sigma_li grad w_h . n]||_F^2
              (interior facets: the flux jump, shared half and half; no-flux boundaries:
              the normal flux itself; electrodes: nothing),

and sum_K eta_K^2 / G_h estimates the relative error of G. Where w is smooth (laterally
uniform stacks on meshes along the layers: w_h exact) it vanishes; next to crack tips,
partial-contact edges, pores and rough PBs it is what the EAFE adaptive loop (whose transport
indicator marks only the cells where mu crosses B) must refine too: a P1 G on a coarse mesh
around two crack tips was 1 % high.
"""

from __future__ import annotations

import numpy as np
from dolfinx import fem, la
from mpi4py import MPI

from fem_sse.geometry.regions import ANODE, CATHODE

__all__ = ["ionic_indicators"]


def _sigma_dg0(problem) -> fem.Function:
    """sigma_li (S/m) per cell, ghosts filled."""
    Q = fem.functionspace(problem.mesh, ("DG", 0))  # noqa: N806
    sigma = fem.Function(Q)
    num = len(problem.cell_tag)
    sigma.x.array[Q.dofmap.list[:num, 0]] = problem.cell_sigma_li
    sigma.x.scatter_forward()
    return sigma


def ionic_indicators(problem) -> tuple[np.ndarray, float]:
    """(eta_K^2 per owned cell (S/m), sum of eta_K^2 / G (-): the estimated relative error
    of the ionic conductance) for the 2D EAFE problem's w (module docstring)."""
    import ufl

    msh = problem.mesh
    sigma = _sigma_dg0(problem)
    v = ufl.TestFunction(sigma.function_space)
    n, h = ufl.FacetNormal(msh), ufl.CellDiameter(msh)
    flux = sigma * ufl.grad(problem.w)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=problem.smesh.facet_tags)
    boundary = h / sigma * ufl.dot(flux, n) ** 2 * v
    form = (ufl.avg(h) / ufl.avg(sigma) * ufl.jump(flux, n) ** 2 * ufl.avg(v) * ufl.dS
            + boundary * ds - boundary * ds((CATHODE, ANODE)))
    vec = fem.assemble_vector(fem.form(form))
    vec.scatter_reverse(la.InsertMode.add)
    num = len(problem.cell_tag)
    eta2 = np.maximum(vec.array[sigma.function_space.dofmap.list[:num, 0]], 0.0)
    total = problem.comm.allreduce(float(eta2.sum()), op=MPI.SUM)
    return eta2, total / problem.conductance
