"""The stress averaged over the flaw size: the converging quantity the crack risk is taken from.

The cell values of the stress are exact for the displacement, but where a front of the
eigenstrain has a corner (a kink of finite angle: at a GB, or at the transport cell edges of a
front fitted at a fixed transport mesh) the elastic stress is singular, and the cell next to the
corner reads more with every front refinement (docs/mechanics.md, the single-layer design).

A brittle solid does not fail at a point: a flaw of size a opens under the stress it samples
over its own length (the theory of critical distances: failure when the stress averaged over a
material length reaches the strength; in the same spirit, K_I = Y sigma sqrt(pi a) is the
loading of a flaw of size a by the stress around it). Here each stress component is averaged
with the Helmholtz filter

    s_bar - div(l^2 grad s_bar) = s     in each material, natural boundary conditions on its
                                        boundary (electrodes, sides, phase boundaries),

whose kernel in 2D, K0(r/l) / (2 pi l^2), has the second
moment 4 l^2 of a disk of radius a (a^2 / 2) for l = a / (2 sqrt(2)), a the material's
``flaw_size`` (m). A uniform stress is kept exactly, so is a film plateau wider than a few l;
a singularity of log type averages to a finite value. The filter acts within each material
(the flaw lies in one material, whose strength and toughness judge it; a flaw across a phase
boundary is an interface crack, whose toughness is not in the data), across the grain
boundaries of one material. ``crack_risk_index`` (sigma_1 / strength)
and ``fracture_risk_index`` (K_I / K_IC) are taken from s_bar (:func:`flaw_average_risk`), in
2D and in 1D (:func:`helmholtz_1d`, the same filter along x: a laterally uniform 2D stack gives
the 1D values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PREFIX", "FlawAveragePeaks", "filter_length", "flaw_average_risk", "helmholtz_1d",
           "step_average"]

PREFIX = "fem_sse_flaw_average_"
_OPTIONS = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
            "ksp_error_if_not_converged": True}


def filter_length(flaw_size: float) -> float:
    """Helmholtz filter length l (m) with the second moment of a disk of radius ``flaw_size``."""
    return flaw_size / (2.0 * np.sqrt(2.0))


def _averaged_components(smesh, stress, spec) -> tuple[np.ndarray, float]:
    """The four components of ``stress`` (DG, sxx, syy, sxy, szz in Pa) filtered within each
    material (natural boundary conditions on its boundary: a flaw lies in one material and is
    judged by that material's strength), read at the vertices of every cell with the cell's
    material (DG1 values, (n, 4)); and the largest filter length (m)."""
    import dolfinx.fem.petsc
    import ufl
    from dolfinx import fem
    from mpi4py import MPI
    from petsc4py import PETSc

    from fem_sse.mechanics.eigenstrain import cell_materials
    from fem_sse.solvers import prefixed_ksp

    msh = smesh.mesh
    V = fem.functionspace(msh, ("Lagrange", 1))  # noqa: N806
    V1 = fem.functionspace(msh, ("DG", 1))  # noqa: N806
    Q0 = fem.functionspace(msh, ("DG", 0))  # noqa: N806
    names = cell_materials(smesh)
    out = np.zeros((len(fem.Function(V1).x.array), 4))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    longest = 0.0
    # every rank loops over every material (collective assembly and solves)
    for name in sorted(set().union(*msh.comm.allgather(set(names) - {""}))):
        ell = filter_length(spec.materials[name].flaw_size)
        longest = max(longest, ell)
        mask = fem.Function(Q0)
        mask.x.array[Q0.dofmap.list[names == name, 0]] = 1.0
        touched = dolfinx.fem.petsc.assemble_vector(fem.form(mask * v * ufl.dx))
        touched.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        inside = fem.Function(V)
        inside.x.petsc_vec.array[:] = touched.array
        inside.x.scatter_forward()
        touched.destroy()
        outside = np.flatnonzero(inside.x.array <= 0.0).astype(np.int32)
        bc = fem.dirichletbc(PETSc.ScalarType(0.0), outside, V)
        A = dolfinx.fem.petsc.assemble_matrix(fem.form(  # noqa: N806
            mask * (ell ** 2 * ufl.inner(ufl.grad(u), ufl.grad(v)) + u * v) * ufl.dx), bcs=[bc])
        A.assemble()
        rows = V1.dofmap.list[names == name].ravel()
        try:
            with prefixed_ksp(msh.comm, A, PREFIX, _OPTIONS) as ksp:
                for k in range(4):
                    target = fem.Function(V)
                    b = dolfinx.fem.petsc.assemble_vector(fem.form(mask * stress[k] * v * ufl.dx))
                    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
                    ksp.solve(b, target.x.petsc_vec)
                    if ksp.getConvergedReason() <= 0:
                        raise RuntimeError("flaw-size average did not converge (KSP reason "
                                           f"{ksp.getConvergedReason()})")
                    b.destroy()
                    target.x.scatter_forward()
                    lifted = fem.Function(V1)
                    lifted.interpolate(target)
                    out[rows, k] = lifted.x.array[rows]
        finally:
            A.destroy()
    return out, msh.comm.allreduce(longest, MPI.MAX)


@dataclass(frozen=True)
class FlawAveragePeaks:
    """Peaks of the flaw-size averaged stress, each (value, location (3,) (m)), the same on
    every rank: the largest principal and von Mises stresses (Pa), the crack-risk index
    (sigma_1_bar / strength, -), the fracture-risk index (K_I / K_IC, -) and the largest
    stress intensity (Pa m^0.5); and the largest flaw-average length (m). Named as the
    mechanics summary's keys (:class:`fem_sse.mechanics.results.PlaneSummary`)."""

    max_principal_flaw_average: tuple
    max_von_mises_flaw_average: tuple
    crack_risk_index: tuple
    fracture_risk_index: tuple
    max_stress_intensity: tuple
    flaw_average_length: float


def flaw_average_risk(smesh, stress, spec, strength, flaw,
                      toughness) -> tuple[FlawAveragePeaks, object]:
    """Peaks of the flaw-size averaged stress and the crack and fracture risk taken from it.

    Args:
        smesh: the separator mesh (2D).
        stress: DG function of (sxx, syy, sxy, szz) (Pa).
        spec: the :class:`~fem_sse.spec.mechanics.MechanicsSpec` (flaw sizes per material).
        strength, flaw, toughness: DG0 functions: strength (Pa), Y sqrt(pi a) (m^0.5), K_IC
            (Pa m^0.5).

    The averaged field is continuous (P1) inside each material; it is read at the vertices of
    every cell with that cell's material data (DG1), so a vertex on a phase boundary carries
    one value per material, each judged by its own material's strength and toughness.

    Returns:
        (peaks, risk): the :class:`FlawAveragePeaks`; ``risk`` is the DG1 function of
        sigma_1_bar / strength.
    """
    from dolfinx import fem

    from fem_sse.mechanics.post import global_peak, invariants

    msh = smesh.mesh
    comm = msh.comm
    V1 = fem.functionspace(msh, ("DG", 1))  # noqa: N806

    def at_vertices(f):
        g = fem.Function(V1)
        g.interpolate(f)
        return g.x.array

    values, longest = _averaged_components(smesh, stress, spec)
    inv = invariants(values)
    k_one = at_vertices(flaw) * inv.max_principal
    risk = fem.Function(V1, name="crack_risk_flaw_average [-]")
    risk.x.array[:] = inv.max_principal / at_vertices(strength)
    owned = V1.dofmap.index_map.size_local
    points = V1.tabulate_dof_coordinates()[:owned]
    samples = (inv.max_principal, inv.von_mises, risk.x.array, k_one / at_vertices(toughness),
               k_one)
    peaks = (global_peak(values[:owned], points, comm) for values in samples)
    return FlawAveragePeaks(*peaks, longest), risk


def helmholtz_1d(x_nodes: np.ndarray, length: np.ndarray, load: np.ndarray) -> np.ndarray:
    """P1 solution of s_bar - (l^2 s_bar')' = s on the nodes ``x_nodes`` (m), natural ends.

    Args:
        x_nodes: increasing node positions (m).
        length: the filter length l (m) per cell (len(x_nodes) - 1).
        load: int s phi_i dx per node (Pa m), s the stress to average, phi_i the hat functions.
    """
    from scipy.linalg import solve_banded

    h = np.diff(x_nodes)
    stiff = length ** 2 / h
    n = len(x_nodes)
    bands = np.zeros((3, n))
    bands[1, :-1] += stiff + h / 3.0
    bands[1, 1:] += stiff + h / 3.0
    bands[0, 1:] = -stiff + h / 6.0
    bands[2, :-1] = -stiff + h / 6.0
    return solve_banded((1, 1), bands, load)


def step_average(x, d: float, length: float, ell: float, inside: float, outside: float):
    """Closed form of the filter on a step (the check of the 1D and 2D filters): s_bar -
    l^2 s_bar'' = s on [0, ``length``] (m), s_bar' = 0 at both ends, s = ``inside`` (Pa) on
    [0, d) and ``outside`` on (d, length]; s_bar = inside + C cosh(x/l) before d, outside +
    D cosh((length - x)/l) beyond, value and slope continuous at d. Returns s_bar (Pa) at x (m).
    """
    c = (outside - inside) / (np.cosh(d / ell) + np.sinh(d / ell) / np.tanh((length - d) / ell))
    d_coef = -c * np.sinh(d / ell) / np.sinh((length - d) / ell)
    x = np.asarray(x, float)
    return np.where(x < d, inside + c * np.cosh(x / ell),
                    outside + d_coef * np.cosh((length - x) / ell))
