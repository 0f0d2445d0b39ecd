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

__all__ = ["ionic_indicators", "sigma_li_cells"]


def sigma_li_cells(problem) -> fem.Function:
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
    sigma = sigma_li_cells(problem)
    v = ufl.TestFunction(sigma.function_space)
    n, h = ufl.FacetNormal(msh), ufl.CellDiameter(msh)
    w = problem.w if problem.w_dg is None else problem.w_dg
    flux = sigma * ufl.grad(w)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=problem.smesh.facet_tags)
    # one interior measure for all terms (DOLFINx: one subdomain data per integral type)
    dS = ufl.Measure("dS", domain=msh, subdomain_data=problem.gb_tags)  # noqa: N806
    boundary = h / sigma * ufl.dot(flux, n) ** 2 * v
    form = (ufl.avg(h) / ufl.avg(sigma) * ufl.jump(flux, n) ** 2 * ufl.avg(v) * dS
            + boundary * ds - boundary * ds((CATHODE, ANODE)))
    if problem.w_dg is not None:
        form += _discontinuous_terms(problem, sigma, v, h, n, dS, ds)
    vec = fem.assemble_vector(fem.form(form))
    vec.scatter_reverse(la.InsertMode.add)
    num = len(problem.cell_tag)
    eta2 = np.maximum(vec.array[sigma.function_space.dofmap.list[:num, 0]], 0.0)
    total = problem.comm.allreduce(float(eta2.sum()), op=MPI.SUM)
    return eta2, total / problem.conductance


def _discontinuous_terms(problem, sigma, v, h, n, dS, ds):  # noqa: N803
    """The terms of a discontinuous w (GB interfaces): its jumps where it should be
    continuous (sigma/h [w]^2 inside a grain, sigma/h (w - w_D)^2 at the electrodes) and, on
    the GB facets, the mismatch of the mean normal current with g [w]."""
    import ufl

    from fem_sse.transport.ionic import GB_INTERFACE, REGULAR

    w = problem.w_dg
    g = problem.config.geometry2d.grain_boundaries.conductance
    mismatch = ufl.dot(ufl.avg(sigma * ufl.grad(w)), n("+")) + g * ufl.jump(w)
    return (ufl.avg(sigma) / ufl.avg(h) * ufl.jump(w) ** 2 * ufl.avg(v) * dS(REGULAR)
            + ufl.avg(h) / ufl.avg(sigma) * mismatch ** 2 * ufl.avg(v) * dS(GB_INTERFACE)
            + sigma / h * (w - 1.0) ** 2 * v * ds(CATHODE) + sigma / h * w ** 2 * v * ds(ANODE))
