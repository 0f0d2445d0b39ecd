"""A posteriori error of the ionic potential w (2D): where to refine so that the ionic
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
partial-contact edges, pores and rough PBs it is what the EAFE adaptive loop must refine too
(its transport indicator marks only the cells where mu crosses B): a P1 G on a coarse mesh
around two crack tips was 1 % high. Since session 16 the W-FEM's loop marks by it too (its
W indicator does not see this error: stress2d 4:7 had been 8 % off, 2:22 8.5e-4;
docs/transport2d.md); earlier, before the tag and junction fixes, the joined marking had
stopped converging on stress2d 0:28. A discontinuous w (GB interfaces) adds the DG terms:
sigma/h [w]^2 where w should be continuous (inside a region, and against the electrode
values), and on GB facets h/sigma (mean normal current - g [w])^2, the residual of their law.
Crack lines do not occur: the EAFE mesh is cut open along them. In 1D P1 w is
exact at the nodes: no estimate.
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
    of the ionic conductance) for the w of a 2D problem (module docstring): the EAFE
    problem's P1 ``w`` or discontinuous ``w_dg`` (GB interfaces), or the W formulation's
    ``w`` (DG with GB interfaces or crack lines; a crack's lips are no-flux boundaries)."""
    import ufl

    from fem_sse.transport.ionic import CUT, GB_INTERFACE, REGULAR

    msh = problem.mesh
    eafe = hasattr(problem, "w_dg")
    sigma = sigma_li_cells(problem) if eafe else problem.fields["sigma_li"]
    dg = problem.w_dg is not None if eafe else problem.ionic_dg
    w = problem.w_dg if eafe and dg else problem.w
    v = ufl.TestFunction(sigma.function_space)
    n, h = ufl.FacetNormal(msh), ufl.CellDiameter(msh)
    ds = ufl.Measure("ds", domain=msh, subdomain_data=problem.smesh.facet_tags)
    dS = ufl.Measure("dS", domain=msh, subdomain_data=problem.interior_tags)  # noqa: N806
    flux = sigma * ufl.grad(w)
    boundary = h / sigma * ufl.dot(flux, n) ** 2 * v
    jump = ufl.avg(h) / ufl.avg(sigma) * ufl.jump(flux, n) ** 2 * ufl.avg(v)
    form = (jump * dS(REGULAR) + jump * dS(GB_INTERFACE)
            + boundary * ds - boundary * ds((CATHODE, ANODE)))
    if dg:  # jumps where w should be continuous, the GB law, the cracks' lips
        gb = problem.config.geometry2d.grain_boundaries
        g = (gb.conductance if gb is not None else None) or 0.0
        mismatch = ufl.dot(ufl.avg(flux), n("+")) + g * ufl.jump(w)
        lips = sum(h(s) / sigma(s) * ufl.dot(flux(s), n(s)) ** 2 * v(s) for s in "+-")
        form += (ufl.avg(sigma) / ufl.avg(h) * ufl.jump(w) ** 2 * ufl.avg(v) * dS(REGULAR)
                 + ufl.avg(h) / ufl.avg(sigma) * mismatch ** 2 * ufl.avg(v) * dS(GB_INTERFACE)
                 + lips * dS(CUT)
                 + sigma / h * (w - 1.0) ** 2 * v * ds(CATHODE)
                 + sigma / h * w ** 2 * v * ds(ANODE))
    vec = fem.assemble_vector(fem.form(form))
    vec.scatter_reverse(la.InsertMode.add)
    num = msh.topology.index_map(msh.topology.dim).size_local
    eta2 = np.maximum(vec.array[sigma.function_space.dofmap.list[:num, 0]], 0.0)
    total = problem.comm.allreduce(float(eta2.sum()), op=MPI.SUM)
    return eta2, total / problem.conductance
