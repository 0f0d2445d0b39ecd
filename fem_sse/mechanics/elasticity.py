"""Small-strain linear elasticity driven by an isotropic eigenstrain, on any fem_sse mesh.

Weak form (u: displacement (m), eps* = e* I: eigenstrain (-)); find u in V with the Dirichlet
conditions such that, for all v,

    int sigma(u) : eps(v) dx = int f . v dx - int p n . v ds(pressure faces)
    sigma(u) = lambda_m tr(eps(u)) I + 2 G eps(u) - c e* I,     eps(u) = sym(grad u)

with, per model,

=============  ===================================  ==================  =====================
model          in-plane lambda_m                    c                   out-of-plane stress
=============  ===================================  ==================  =====================
film (1D)      lambda (uniaxial strain: sigma_xx)   3 K = 3 lambda+2 G  sigma_yy = sigma_zz =
                                                                        lambda eps_xx - c e*
plane_strain   lambda                               3 K                 sigma_zz = lambda tr eps
                                                                        - c e*
plane_stress   2 lambda G / (lambda + 2 G)          2 lambda_m + 2 G    sigma_zz = 0
=============  ===================================  ==================  =====================

so the same form serves 1D and 2D. Moduli are scaled by a reference modulus E_ref inside the
solve (O(1) matrix entries, so AMG and the Dirichlet rows are well balanced).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse.mechanics.discretisation import for_dimension, for_mesh
from fem_sse.solvers import prefixed_ksp

__all__ = ["ElasticProblem", "default_petsc_options", "stress_components"]

PREFIX = "fem_sse_elastic_"


def default_petsc_options(direct: bool) -> dict:
    """PETSc options of the elastic solve (a copy): MUMPS LU, or CG with smoothed-aggregation
    AMG (GAMG) and the rigid-body near-nullspace."""
    if direct:
        return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                "ksp_error_if_not_converged": True}
    return {"ksp_type": "cg", "ksp_rtol": 1e-10, "ksp_max_it": 2000, "pc_type": "gamg",
            "pc_gamg_type": "agg", "pc_gamg_agg_nsmooths": 1, "pc_gamg_threshold": 0.01,
            "pc_gamg_square_graph": 1, "mg_levels_ksp_type": "chebyshev",
            "mg_levels_pc_type": "jacobi", "mg_levels_ksp_chebyshev_esteig_steps": 20,
            "pc_gamg_use_sa_esteig": 0,  # PETSc 3.25 (sid): the SA estimate makes CG indefinite
            "ksp_error_if_not_converged": True}


def _coefficients(model: str, lam, shear):
    """(in-plane lambda_m, eigenstrain coefficient c, out-of-plane lambda or None) in UFL."""
    bulk3 = 3.0 * lam + 2.0 * shear
    if model == "plane_stress":
        lam_m = 2.0 * lam * shear / (lam + 2.0 * shear)
        return lam_m, 2.0 * lam_m + 2.0 * shear, None
    return lam, bulk3, lam


def stress_components(u, estar, lam, shear, model: str):
    """UFL (sigma_xx, sigma_yy, sigma_xy, sigma_zz) in the units of lam and shear.

    In 1D (film) sigma_yy = sigma_zz is the lateral stress and sigma_xy = 0. ``estar`` None
    leaves out the eigenstrain (the bilinear part).
    """
    gdim = len(u)
    eps = ufl.sym(ufl.grad(u))
    lam_m, c, lam_z = _coefficients(model, lam, shear)
    sigma = lam_m * ufl.tr(eps) * ufl.Identity(gdim) + 2.0 * shear * eps
    szz = 0.0 * ufl.tr(eps) if lam_z is None else lam_z * ufl.tr(eps)
    if estar is not None:
        sigma = sigma - c * estar * ufl.Identity(gdim)
        szz = szz - (0.0 if lam_z is None else c * estar)
    return for_dimension(gdim).components(sigma, szz, eps)


def _rigid_body_modes(V, A) -> PETSc.NullSpace:
    """Near-nullspace of elasticity: translations (and the in-plane rotation in 2D)."""
    gdim = V.mesh.geometry.dim
    n_local = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:n_local]
    x = x - V.mesh.comm.allreduce(x.sum(axis=0), MPI.SUM) / max(
        V.mesh.comm.allreduce(len(x), MPI.SUM), 1)
    modes = []
    for k in range(gdim):
        values = np.zeros((n_local, gdim))
        values[:, k] = 1.0
        modes.append(values)
    modes += for_dimension(gdim).rotations(x)
    vecs = []
    for values in modes:  # Gram-Schmidt with global dot products
        vec = A.createVecRight()
        vec.array[:] = values.ravel()
        for other in vecs:
            vec.axpy(-vec.dot(other), other)
        vec.scale(1.0 / vec.norm())
        vecs.append(vec)
    return PETSc.NullSpace().create(vectors=vecs, comm=V.mesh.comm)


@dataclass
class SolveReport:
    """What the linear solve did: dofs, solver ("direct"/"iterative"), iterations, times (s)."""

    dofs: int
    solver: str
    iterations: int
    assemble_time_s: float
    solve_time_s: float
    converged_reason: int


class ElasticProblem:
    """Assembled elasticity on one mesh.

    Args:
        mesh: DOLFINx mesh (1D or 2D).
        facet_tags: facet meshtags.
        facet_groups: facet-group name -> tag id.
        E: Young's modulus (Pa), a DG0 function.
        nu: Poisson's ratio (-), a DG0 function.
        eigenstrain: isotropic eigenstrain e* (-), a function or UFL expression.
        model: "film", "plane_strain" or "plane_stress".
        degree: Lagrange degree of the displacement.
        bc: facet-group name -> "free" | "roller" | "clamped" | "pressure" (absent groups skip).
        stack_pressure: traction on "pressure" faces (Pa, compressive).
        roller_component: facet-group name -> displacement component a roller fixes.
        body_force: optional UFL body force (N/m^3), for manufactured solutions.
        clamped_value: optional function in V imposed on clamped faces (default 0).
        solver: "direct", "iterative" or "auto" (direct up to ``direct_max_dofs`` unknowns).
        direct_max_dofs: threshold of "auto".
        petsc_options: overrides of :func:`default_petsc_options`.
    """

    def __init__(self, mesh, facet_tags, facet_groups: dict[str, int], E, nu, eigenstrain, *,
                 model: str, degree: int, bc: dict[str, str], stack_pressure: float = 0.0,
                 roller_component: dict[str, int] | None = None, body_force=None,
                 clamped_value=None, solver: str = "auto", direct_max_dofs: int = 200000,
                 petsc_options: dict | None = None):
        self.mesh = mesh
        self.comm = mesh.comm
        self.model = model
        gdim = mesh.geometry.dim
        self.kind = for_mesh(mesh)  # film or plane
        self.V = fem.functionspace(mesh, ("Lagrange", degree, (gdim,)))
        self.u = fem.Function(self.V, name="displacement")
        e_max = self.comm.allreduce(float(np.max(E.x.array, initial=0.0)), MPI.MAX)
        self.e_ref = e_max
        nu_ = nu
        self.lam = E / self.e_ref * nu_ / ((1.0 + nu_) * (1.0 - 2.0 * nu_))  # scaled
        self.shear = E / self.e_ref / (2.0 * (1.0 + nu_))
        self.eigenstrain = eigenstrain
        if solver == "auto":
            solver = "direct" if self.dofs <= direct_max_dofs else "iterative"
        self.solver = solver
        self.petsc_options = {**default_petsc_options(solver == "direct"), **(petsc_options or {})}
        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        sxx, syy, sxy, _ = stress_components(u, None, self.lam, self.shear, model)
        eps_v = ufl.sym(ufl.grad(v))
        a = self.kind.energy_density(sxx, syy, sxy, eps_v) * ufl.dx
        _, c, _ = _coefficients(model, self.lam, self.shear)
        rhs = c * eigenstrain * ufl.div(v) * ufl.dx
        if body_force is not None:
            rhs += ufl.inner(body_force / self.e_ref, v) * ufl.dx
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
        n = ufl.FacetNormal(mesh)
        p = fem.Constant(mesh, PETSc.ScalarType(stack_pressure / self.e_ref))
        for group, kind in bc.items():
            if kind == "pressure" and group in facet_groups:
                rhs += -p * ufl.inner(n, v) * ds(facet_groups[group])
        self._a, self._L = fem.form(a), fem.form(rhs)
        self.bcs = self._dirichlet(facet_tags, facet_groups, bc, roller_component or {},
                                   clamped_value)

    def _dirichlet(self, facet_tags, facet_groups, bc, roller_component, clamped_value):
        fdim = self.mesh.topology.dim - 1
        self.mesh.topology.create_connectivity(fdim, self.mesh.topology.dim)
        bcs = []
        for group, kind in sorted(bc.items()):
            if group not in facet_groups or kind not in ("roller", "clamped"):
                continue
            facets = facet_tags.find(facet_groups[group])
            if kind == "clamped" or self.kind.roller_is_clamp:
                dofs = fem.locate_dofs_topological(self.V, fdim, facets)
                # a function in self.V itself (the assemblers apply only bcs of their space);
                # zero unless a clamped value is given
                value = fem.Function(self.V)
                if clamped_value is not None:
                    value.interpolate(clamped_value)
                bcs.append(fem.dirichletbc(value, dofs))
            else:
                sub = self.V.sub(roller_component[group])
                dofs = fem.locate_dofs_topological(sub, fdim, facets)
                bcs.append(fem.dirichletbc(PETSc.ScalarType(0.0), dofs, sub))
        return bcs

    @property
    def dofs(self) -> int:
        """Global number of displacement unknowns."""
        return self.V.dofmap.index_map.size_global * self.V.dofmap.index_map_bs

    def solve(self) -> SolveReport:
        """Assemble and solve; checks the converged reason (PETSc raises on failure)."""
        start = time.perf_counter()
        A = dolfinx.fem.petsc.assemble_matrix(self._a, bcs=self.bcs)
        A.assemble()
        b = dolfinx.fem.petsc.assemble_vector(self._L)
        dolfinx.fem.petsc.apply_lifting(b, [self._a], [self.bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(b, self.bcs)
        if self.solver == "iterative":
            A.setNearNullSpace(_rigid_body_modes(self.V, A))
        assembled = time.perf_counter()
        try:
            with prefixed_ksp(self.comm, A, PREFIX, self.petsc_options) as ksp:
                ksp.solve(b, self.u.x.petsc_vec)
                reason = ksp.getConvergedReason()
                iterations = ksp.getIterationNumber()
        finally:
            A.destroy()
            b.destroy()
        if reason <= 0:
            raise RuntimeError(f"elastic solve did not converge (KSP reason {reason})")
        self.u.x.scatter_forward()
        return SolveReport(self.dofs, self.solver, int(iterations), assembled - start,
                           time.perf_counter() - assembled, int(reason))

    def stress(self, u=None):
        """UFL (sigma_xx, sigma_yy, sigma_xy, sigma_zz) in Pa."""
        parts = stress_components(self.u if u is None else u, self.eigenstrain, self.lam,
                                  self.shear, self.model)
        return tuple(self.e_ref * s for s in parts)
