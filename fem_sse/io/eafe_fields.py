"""The field files' functions of an exponentially fitted (EAFE) state
(:class:`fem_sse.transport.eafe.EafeProblem`), with the names, units and spaces of the W-FEM's
(:func:`fem_sse.io.outputs.write_fields`), so that a ``fem-eafe`` run (asked for, or the
fallback of a ``fem`` run, 1D or 2D) writes the same fields.bp, regions.xdmf/.h5 and fields.vtu.

The EAFE unknown is at the P1 nodes (mu_Li0, continuous across interfaces except GB
interfaces with a conductance, :mod:`fem_sse.transport.eafe2d`); every field goes to
DG1 (one value per cell and node) because W and sigma_eh are maps of mu in *each cell's*
material (A, B), so they jump where the material does
(:func:`fem_sse.transport.eafe.dg1_maps`, which the 2D metrics use too). eta_i = Phi w (w the
P1 ionic potential fraction, discontinuous across GB interfaces with a conductance; Phi in V,
so eta_i in eV), eta_e = mu - eta_i.
"""

from __future__ import annotations

__all__ = ["eafe_fields"]


def eafe_fields(problem) -> tuple[list, object, object]:
    """(DG1 functions mu_Li0 [eV], eta_i [eV], eta_e [eV], W [A/m], sigma_eh [S/m]; the DG0
    region id; the DG0 mu_Li0 [eV] at the cell midpoints). Collective over ``problem.comm``."""
    from dolfinx import fem

    from fem_sse.transport.eafe import dg1_maps

    msh = problem.mesh
    mu, w, sigma = dg1_maps(problem)
    V = mu.function_space  # noqa: N806
    eta_i = fem.Function(V, name="eta_i [eV]")
    eta_i.interpolate(problem.w if problem.w_dg is None else problem.w_dg)
    eta_i.x.array[:] *= problem.phi
    eta_e = fem.Function(V, name="eta_e [eV]")
    eta_e.x.array[:] = mu.x.array - eta_i.x.array
    Q = fem.functionspace(msh, ("DG", 0))  # noqa: N806
    region = fem.Function(Q, name="region_id")
    tags = problem.smesh.cell_tags
    region.x.array[tags.indices] = tags.values
    mu_cell = fem.Function(Q, name="mu_Li0 [eV]")
    mu_cell.interpolate(mu)  # the cell's own mu (it jumps across GB interfaces)
    return [mu, eta_i, eta_e, w, sigma], region, mu_cell
