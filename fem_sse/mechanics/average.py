"""Peaks of the stress averaged over the flaw size (a quantity that converges at corners).

The cell values of the stress are exact for the displacement, but where a front of the
eigenstrain has a corner (a kink of finite angle: at a GB, or at the transport cell edges of a
front fitted at a fixed transport mesh) the elastic stress is singular, and the cell next to the
corner reads more with every front refinement (docs/mechanics.md, the single-layer design). A
flaw of size a samples the stress over its own length, not at a point: here each stress
component is averaged with the Helmholtz filter

    s_bar - l^2 div(grad s_bar) = s     (natural boundary conditions),

whose kernel in 2D, K0(r/l) / (2 pi l^2), has the second moment 4 l^2 of a disk of radius a
(a^2 / 2) for l = a / (2 sqrt(2)), a the material's ``flaw_size`` (m). A uniform stress is kept
exactly; a singularity of log type averages to a finite value. The peaks of s_bar (P1, at the
vertices) are reported beside the cell peaks: ``max_principal_flaw_average`` and
``max_von_mises_flaw_average`` (Pa), and ``flaw_average_length`` (m, the largest l).
"""

from __future__ import annotations

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse.mechanics.eigenstrain import cell_materials
from fem_sse.mechanics.post import invariants
from fem_sse.solvers import prefixed_ksp

__all__ = ["PREFIX", "flaw_average_peaks", "filter_length"]

PREFIX = "fem_sse_flaw_average_"
_OPTIONS = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
            "ksp_error_if_not_converged": True}


def filter_length(flaw_size: float) -> float:
    """Helmholtz filter length l (m) with the second moment of a disk of radius ``flaw_size``."""
    return flaw_size / (2.0 * np.sqrt(2.0))


def _length_field(smesh, spec) -> fem.Function:
    """DG0 filter length (m) per cell from its material's flaw size."""
    msh = smesh.mesh
    Q0 = fem.functionspace(msh, ("DG", 0))  # noqa: N806
    length = fem.Function(Q0)
    names = cell_materials(smesh)
    dofs = Q0.dofmap.list[:, 0]
    for name in sorted(set(names) - {""}):
        length.x.array[dofs[names == name]] = filter_length(spec.materials[name].flaw_size)
    length.x.scatter_forward()
    return length


def flaw_average_peaks(smesh, stress: fem.Function, spec) -> dict:
    """The largest max principal and von Mises stress (Pa) of the flaw-size average of
    ``stress`` (DG, 4 components sxx, syy, sxy, szz in Pa), over all ranks."""
    msh = smesh.mesh
    comm = msh.comm
    length = _length_field(smesh, spec)
    V = fem.functionspace(msh, ("Lagrange", 1))  # noqa: N806
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = fem.form(length ** 2 * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx + u * v * ufl.dx)
    A = dolfinx.fem.petsc.assemble_matrix(a)  # noqa: N806
    A.assemble()
    averaged = []
    try:
        with prefixed_ksp(comm, A, PREFIX, _OPTIONS) as ksp:
            for k in range(4):
                target = fem.Function(V)
                b = dolfinx.fem.petsc.assemble_vector(fem.form(stress[k] * v * ufl.dx))
                b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
                ksp.solve(b, target.x.petsc_vec)
                if ksp.getConvergedReason() <= 0:
                    raise RuntimeError("flaw-size average did not converge (KSP reason "
                                       f"{ksp.getConvergedReason()})")
                b.destroy()
                target.x.scatter_forward()
                averaged.append(target.x.array[:V.dofmap.index_map.size_local].copy())
    finally:
        A.destroy()
    inv = invariants(np.column_stack(averaged))
    top = {key: comm.allreduce(float(np.max(inv[key], initial=-np.inf)), MPI.MAX)
           for key in ("max_principal", "von_mises")}
    longest = comm.allreduce(float(np.max(length.x.array, initial=0.0)), MPI.MAX)
    return {"max_principal_flaw_average": top["max_principal"],
            "max_von_mises_flaw_average": top["von_mises"], "flaw_average_length": longest}
