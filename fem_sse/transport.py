"""Steady Li+ and electron/hole transport on a DOLFINx mesh (any dimension).

Equations (model.md section 1), potentials in eV (= V after dividing by e)::

    div(sigma_li grad eta_i) = 0,       div(j_eh) = 0,      j_eh = sigma_eh(mu) grad(eta_e)

Primary variables and why:

* ionic: ``eta_i = Phi * w`` with ``w`` (continuous P1) solving the linear problem with
  w = 1 at the cathode and w = 0 at the anode. Phi (V) is the single global unknown of
  galvanostatic operation.
* electronic: the Kirchhoff variable ``W = 2 A kT sinh((mu - B)/kT)`` (A/m) of each material,
  for which ``j_eh = grad W - sigma_eh(W) grad eta_i`` with ``sigma_eh(W) = sqrt((W/kT)^2 +
  4 A^2)``: an almost linear drift-diffusion equation whose solution is smooth where mu jumps by
  eV (a jump of mu is a zero crossing of W). W is discontinuous where A or B change (mu is
  continuous), so W lives in a discontinuous (DG) space: symmetric interior penalty inside a
  material, continuity of mu (scaled by the geometric-mean sigma_eh) across material interfaces,
  upwinded drift, and Nitsche electrode conditions. The unknown is scaled: omega = W / (j L).

Newton: damped (backtracking on the residual norm); when it fails, continuation in the drift
strength (0 -> 1, adaptive steps) from the linear problem. Galvanostatic: secant iteration on Phi
for I_i(Phi) + I_e(Phi) = I.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse import compat
from fem_sse.config import Config
from fem_sse.errors import ConvergenceError
from fem_sse.formcache import FormCache
from fem_sse.geometry import SeparatorMesh
from fem_sse.geometry.line import ANODE, CATHODE
from fem_sse.geometry.regions import regions_1d
from fem_sse.ionic import (
    GB_INTERFACE,
    REGULAR,
    boundary_current,
    facet_lengths,
    interior_facet_tags,
    ionic_forms,
)
from fem_sse.materials import kirchhoff, mu_from_kirchhoff
from fem_sse.solvers import configured_ksp, prefixed_ksp

__all__ = ["ConvergenceError", "TransportProblem", "default_petsc_options"]

log = logging.getLogger(__name__)

_PENALTY = 10.0  # interior-penalty constant, times p (p + 1)
_ROUND_OFF_STEP = 1e-12  # a Newton correction this small (relative, max norm) is converged
# Budget of one continuation, in Newton iterations (taken and failed steps): a healthy one needs
# a few hundred at most (the paper's cases: <= 515 over a whole adaptive run); one that creeps
# at the smallest step would otherwise run for ~1e5 steps (a hang).
_MAX_CONTINUATION_ITERATIONS = 1000


def default_petsc_options(comm=None, tdim: int = 2) -> dict:
    """Linear solver of every Newton step (a new dict: callers may change it).

    A direct LU: KLU on one rank in 1D (block-tridiagonal matrices, where it refactors about
    5 times faster than MUMPS: 1.5 vs 7.8 ms at 14k DOFs), MUMPS otherwise (parallel, and
    supernodal for the fill of 2D meshes).
    """
    serial = comm is None or comm.size == 1
    solver = "klu" if serial and tdim == 1 else "mumps"
    return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": solver,
            "ksp_error_if_not_converged": True}


def _asinh(z):
    """asinh for UFL: exact derivative at 0, no overflow or cancellation for large |z|."""
    az = abs(z)
    big = ufl.max_value(az, 1.0)
    large = ufl.sign(z) * (ufl.ln(big) + ufl.ln(1.0 + ufl.sqrt(1.0 + 1.0 / big**2)))
    small = ufl.ln(z + ufl.sqrt(z**2 + 1.0))  # accurate for |z| <= 1
    return ufl.conditional(ufl.gt(az, 1.0), large, small)


def _scaled_kirchhoff(mu, A, B, kT, w_scale):  # noqa: N803
    """UFL W(mu) / w_scale = 2 A kT sinh((mu - B)/kT) / w_scale, the argument clamped to
    +-600 (sinh overflows beyond ~710; validated electrode potentials stay far inside)."""
    arg = ufl.max_value(ufl.min_value((mu - B) / kT, 600.0), -600.0)
    return 2.0 * A * kT * ufl.sinh(arg) / w_scale


def _drift_flux(un_in, un_out, sigma_in, sigma_out, omega_jump, kT):  # noqa: N803
    """Numerical drift flux sigma_eh u.n through a facet (Lax-Friedrichs).

    With j = grad W + sigma_eh(W) u, information travels with the velocity
    -d sigma_eh/dW u = -sign(W) |W| / (kT^2 sigma_eh) u: against u where W > 0 (electrons) and
    along u where W < 0 (holes). Upwinding by the sign of u.n alone is downwinding for one of
    the two carriers, which admits spurious discrete states in thin, strongly driven strips. The
    Lax-Friedrichs flux with the bound |d sigma_eh/dW| <= 1/kT upwinds both signs (it equals the
    Godunov flux where |W| >> 2 A kT) and stays smooth for Newton.

    Each side's flux is formed with its own u (sigma_li jumps across strips and layers): the
    average of the products, not the product of the averages, which would be inconsistent where
    both sigma_eh and sigma_li change at one facet (a layer interface between materials of
    different Li+ conductivity).

    Args:
        un_in, un_out: u.n on both sides, n the outward normal of the "in" side (V/m).
        sigma_in, sigma_out: sigma_eh / w_scale on both sides.
        omega_jump: omega_in - omega_out (the mapped jump across materials).
        kT: thermal energy (eV).
    """
    speed = ufl.max_value(abs(un_in), abs(un_out)) / kT
    return 0.5 * (sigma_in * un_in + sigma_out * un_out) - 0.5 * speed * omega_jump


@dataclass
class NewtonReport:
    """What one nonlinear solve did."""

    iterations: int = 0
    residuals: list[float] = field(default_factory=list)
    continuation_steps: int = 0


class TransportProblem:
    """The discretised transport problem on one mesh.

    Args:
        config: validated configuration.
        smesh: the distributed mesh, its tags and region table (1D: cell tag = segment index
            + 1; a mesh without ``regions`` gets the 1D table of the config).
        degree: polynomial degree of the DG space of W.
        petsc_options: overrides of :func:`default_petsc_options`.
        sources: optional callable(problem) -> {"ionic": f_w (S/m^3), "electronic": f_W
            (A/m^3)} of UFL expressions added as right-hand sides of div(sigma_li grad w) + f_w
            = 0 and div(j_eh) + f_W = 0 (manufactured solutions).
        forms: the :class:`~fem_sse.formcache.FormCache` of an earlier problem of the same
            configuration (the previous mesh of an adaptive run): its compiled forms are
            reused instead of compiling again.
    """

    def __init__(self, config: Config, smesh: SeparatorMesh, degree: int = 1,
                 petsc_options: dict | None = None, sources=None,
                 forms: FormCache | None = None):
        self.config = config
        self.smesh = smesh
        self.mesh = msh = smesh.mesh
        self.comm = msh.comm
        self.degree = degree
        self.kT = config.cell.kT
        self.length = config.thickness
        tdim = msh.topology.dim
        self.petsc_options = {**default_petsc_options(self.comm, tdim), **(petsc_options or {})}
        self.forms = forms if forms is not None else FormCache(self.comm)
        self._A = self._ksp = None  # Jacobian and its KSP, kept: the sparsity never changes
        msh.topology.create_connectivity(tdim - 1, tdim)
        gb = config.geometry2d.grain_boundaries if config.geometry2d else None
        self.gb_conductance = gb.conductance if gb is not None else None
        self.interior_tags, self.ionic_dg = interior_facet_tags(smesh, self.gb_conductance)

        self.V_ion = fem.functionspace(msh, ("DG" if self.ionic_dg else "Lagrange", 1))
        self.V = fem.functionspace(msh, ("DG", degree))
        self.Q = fem.functionspace(msh, ("DG", 0))
        self.w = fem.Function(self.V_ion, name="w_ionic")
        self.omega = fem.Function(self.V, name="omega")
        self._set_materials()
        self.sources = sources(self) if sources is not None else {}
        self._mu_guess = None  # 2D: mu(x) of the laterally averaged exact 1D solution
        self.phi = fem.Constant(msh, PETSc.ScalarType(0.0))  # Phi (V)
        self.drift = fem.Constant(msh, PETSc.ScalarType(1.0))  # continuation parameter
        self.w_scale = 1.0  # W = w_scale * omega (A/m)
        self._w_scale = fem.Constant(msh, PETSc.ScalarType(1.0))
        self._reference_norm = None
        self.converged_phi = None  # Phi (V) of the last converged state, a continuation start
        self.last_converged = None  # (Phi (V), omega) of the last converged solve on this mesh
        self._solve_ionic()
        self._build_forms()

    # -- set-up ------------------------------------------------------------------------------
    def _set_materials(self) -> None:
        """Per-cell sigma_li (S/m), A (S/m), B (eV) and a material id from the region table:
        the region's material, its sigma_li times the region's sigma_li_factor."""
        regions = self.smesh.regions or regions_1d(self.config)[0]
        ids = np.array(sorted(regions))
        mats = [self.config.materials[regions[t].material] for t in ids]
        keys = sorted({(m.A, m.B) for m in mats})
        table = np.array([[m.sigma_li * regions[t].sigma_li_factor, m.A, m.B,
                           keys.index((m.A, m.B))] for t, m in zip(ids, mats)])
        tags = self.smesh.cell_tags
        rows = np.searchsorted(ids, tags.values)
        if np.any(ids[np.minimum(rows, len(ids) - 1)] != tags.values):
            raise ValueError("cell tags without a region: "
                             f"{sorted(set(tags.values) - set(ids.tolist()))}")
        self.fields = {}
        for col, name in enumerate(("sigma_li", "A", "B", "material_id")):
            f = fem.Function(self.Q, name=name)
            f.x.array[tags.indices] = table[rows, col]
            f.x.scatter_forward()
            self.fields[name] = f
        region = fem.Function(self.Q, name="region_id")
        region.x.array[tags.indices] = tags.values
        self.fields["region_id"] = region
        # A (S/m) and B (eV) at every dof of the DG space of W (local and ghost cells): W(mu)
        # and mu(W) are pointwise maps, so on the nodal DG space they act dof by dof
        cell_dofs = self.V.dofmap.list
        cell_values = self.Q.dofmap.list[:, 0]
        self._dof_material = {}
        for name in ("A", "B"):
            values = np.empty(self.omega.x.array.size)
            values[cell_dofs] = self.fields[name].x.array[cell_values][:, None]
            self._dof_material[name] = values

    def _measures(self):
        msh = self.mesh
        ds = ufl.Measure("ds", domain=msh, subdomain_data=self.smesh.facet_tags)
        dS = ufl.Measure("dS", domain=msh, subdomain_data=self.interior_tags)  # noqa: N806
        return ufl.Measure("dx", domain=msh), dS, ds

    def _coupled_facets(self, dS):  # noqa: N803
        """Interior-facet measures that couple W: all facets, or (with GB interfaces or
        cracks) the regular ones and, separately, the GB interfaces; cracks couple nothing."""
        if not self.ionic_dg:
            return ufl.Measure("dS", domain=self.mesh), None
        return dS(REGULAR), (dS(GB_INTERFACE) if self.gb_conductance is not None else None)

    def _solve_ionic(self) -> None:
        """w: div(sigma_li grad w) = 0, w(cathode) = 1, w(anode) = 0; conductance G."""
        dx, dS, ds = self._measures()  # noqa: N806
        sigma = self.fields["sigma_li"]
        electrodes = {CATHODE: 1.0, ANODE: 0.0}
        a, L = ionic_forms(self.V_ion, sigma, dS, ds, electrodes, self.gb_conductance,
                           self.sources.get("ionic"), discontinuous=self.ionic_dg)
        a, L = self._form("ionic_a", a), self._form("ionic_L", L)
        fdim = self.mesh.topology.dim - 1
        bcs = []
        for tag, value in electrodes.items():
            if self.ionic_dg:
                break
            facets = self.smesh.facet_tags.find(tag)
            dofs = fem.locate_dofs_topological(self.V_ion, fdim, facets)
            bcs.append(fem.dirichletbc(PETSc.ScalarType(value), dofs, self.V_ion))
        A = dolfinx.fem.petsc.assemble_matrix(a, bcs=bcs)
        A.assemble()
        b = dolfinx.fem.petsc.assemble_vector(L)
        dolfinx.fem.petsc.apply_lifting(b, [a], [bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(b, bcs)
        self._linear_solve(A, b, self.w.x.petsc_vec, "fem_sse_ionic_")
        self.w.x.scatter_forward()
        A.destroy()
        b.destroy()
        if self.ionic_dg:  # the conservative Nitsche flux through the anode
            g = boundary_current(self.w, sigma, ds, ANODE, 0.0)
        else:
            g = sigma * ufl.inner(ufl.grad(self.w), ufl.grad(self.w)) * dx
        # S/m^2 in 1D, S/m (per unit depth) in 2D
        self.conductance = self._integral("ionic_conductance", g)
        one = fem.Constant(self.mesh, PETSc.ScalarType(1.0))
        self.anode_area, self.area = (self._integral(f"area_{tag}", one * ds(tag))
                                      for tag in (ANODE, CATHODE))

    def _form(self, name: str, form: ufl.Form) -> fem.Form:
        """``form`` on this mesh, compiled once per run (:class:`FormCache`)."""
        return self.forms.form(name, form, self.mesh)

    def _integral(self, name: str, form: ufl.Form) -> float:
        """The value of a scalar form, summed over the ranks."""
        local = fem.assemble_scalar(self._form(name, form))
        return self.comm.allreduce(local, op=MPI.SUM)

    def _linear_solve(self, A, b, x, prefix: str) -> int:
        """Solve A x = b; the Jacobian's KSP is kept. Returns the Krylov iterations.

        Raises:
            ConvergenceError: when PETSc fails (e.g. a singular Jacobian far from the
                solution): a failed Newton step, which the continuations may get around.
        """
        try:
            if A is not self._A:
                with prefixed_ksp(self.comm, A, prefix, self.petsc_options) as ksp:
                    ksp.solve(b, x)
                    return ksp.getIterationNumber()
            if self._ksp is None:
                self._ksp = configured_ksp(self.comm, A, prefix, self.petsc_options)
            self._ksp.solve(b, x)
            return self._ksp.getIterationNumber()
        except PETSc.Error as exc:
            if A is self._A and self._ksp is not None:  # a failed factorisation: start afresh
                self._ksp.destroy()
                self._ksp = None
            raise ConvergenceError(f"linear solve failed (PETSc error {exc.ierr})",
                                   {"petsc_error": exc.ierr}) from None

    def _build_forms(self) -> None:
        msh = self.mesh
        dx, dS, ds = self._measures()
        p = self.degree
        kT = self.kT
        A, B = self.fields["A"], self.fields["B"]
        mat = self.fields["material_id"]
        omega, v = self.omega, ufl.TestFunction(self.V)
        ws = self._w_scale
        n = ufl.FacetNormal(msh)
        h_f, h = facet_lengths(msh)
        alpha = _PENALTY * p * (p + 1)

        def side(f, s):
            return f if s is None else f(s)

        def sigma(s=None):  # sigma_eh(W) / w_scale, on one side of a facet when s is given
            return ufl.sqrt((side(omega, s) / kT) ** 2 + (2.0 * side(A, s) / ws) ** 2)

        def mu(s=None):  # mu_Li0 (eV)
            a = side(A, s)
            return side(B, s) + kT * _asinh(ws * side(omega, s) / (2.0 * a * kT))

        grad_eta = self.drift * self.phi * ufl.grad(self.w)  # V/m
        u = -grad_eta  # the drift carries sigma_eh along -grad(eta_i)
        flux = ufl.grad(omega) - sigma() * grad_eta  # j_eh / w_scale

        # interior facets
        same = ufl.eq(mat("+"), mat("-"))
        # Across a material interface the penalty acts on the jump of W measured in each
        # side's own material: omega+ - T(omega-), with T the map W- -> mu -> W+ (mu
        # continuous), averaged over both orientations. It vanishes exactly when mu is
        # continuous, is nearly linear away from the GEB (Newton-friendly), and has no spurious
        # state with both sides at their GEB (a [mu] penalty weighted by sigma_eh has one).
        # Across a zero-thickness GB with a jump of eta_i, eta_e = mu - eta_i is continuous
        # (the limit of a thin strip: the electrons cross it freely), so T maps
        # mu- -> mu- + [eta_i] there.
        def w_of(s, mu_value):  # W of side s's material at mu_value, / w_scale
            return _scaled_kirchhoff(mu_value, A(s), B(s), kT, ws)

        def mapped(d_eta=None):  # d_eta = eta_i+ - eta_i- (eV)
            mu_p, mu_m = mu("+"), mu("-")
            if d_eta is not None:
                mu_p, mu_m = mu_p - d_eta, mu_m + d_eta
            return 0.5 * ((omega("+") - w_of("+", mu_m)) - (omega("-") - w_of("-", mu_p)))

        def facet_terms(jump_eff, measure):
            flux_n = ufl.dot(ufl.avg(ufl.grad(omega)), n("+")) + _drift_flux(
                ufl.dot(u("+"), n("+")), ufl.dot(u("-"), n("+")), sigma("+"), sigma("-"),
                jump_eff, kT)
            return (-flux_n * ufl.jump(v) - ufl.dot(ufl.avg(ufl.grad(v)), n("+")) * jump_eff
                    + alpha / h_f * jump_eff * ufl.jump(v)) * measure

        regular, gb_facets = self._coupled_facets(dS)
        jump_eff = ufl.conditional(same, omega("+") - omega("-"), mapped())
        self._jumps = [(jump_eff, regular)]
        if gb_facets is not None:
            d_eta = self.drift * self.phi * (self.w("+") - self.w("-"))
            self._jumps.append((mapped(d_eta), gb_facets))
        F = ufl.inner(flux, ufl.grad(v)) * dx
        for jump, measure in self._jumps:
            F += facet_terms(jump, measure)
        if "electronic" in self.sources:  # a fixed degree: UFL over-estimates sinh(...)
            dx_src = dx(metadata={"quadrature_degree": 2 * p + 4})
            F -= self.sources["electronic"] / ws * v * dx_src

        # electrodes (Nitsche): W = W(mu_electrode) of the adjacent material
        self.mu_cathode = fem.Constant(msh, PETSc.ScalarType(self.config.cell.mu_cathode))
        self.mu_anode = fem.Constant(msh, PETSc.ScalarType(self.config.cell.mu_anode))
        self._dirichlet = {}
        for tag, mu_e in ((CATHODE, self.mu_cathode), (ANODE, self.mu_anode)):
            om_d = _scaled_kirchhoff(mu_e, A, B, kT, ws)
            self._dirichlet[tag] = om_d
            un_b = ufl.dot(u, n)
            sigma_d = ufl.sqrt((om_d / kT) ** 2 + (2.0 * A / ws) ** 2)
            qn = ufl.dot(ufl.grad(omega), n) + _drift_flux(un_b, un_b, sigma(), sigma_d,
                                                            omega - om_d, kT)
            conservative = qn - alpha / h * (omega - om_d)  # outward j_eh . n / w_scale
            F += (-conservative * v - ufl.dot(ufl.grad(v), n) * (omega - om_d)) * ds(tag)
            if tag == ANODE:
                self._anode_flux = self._form("anode_flux", conservative * ds(tag))
                # d(anode flux)/d(omega): the bordering row of the galvanostatic Newton
                self._anode_flux_gradient = self._form(
                    "anode_flux_gradient", ufl.derivative(conservative * ds(tag), omega, v))
        self._flux = flux
        self._F = self._form("residual", F)
        self._J = self._form("jacobian", ufl.derivative(F, omega))
        self._b = compat.create_vector(self._F)
        self._A = dolfinx.fem.petsc.create_matrix(self._J)

    # -- nonlinear solve ---------------------------------------------------------------------
    def _omega_of_mu(self, mu: np.ndarray) -> np.ndarray:
        """omega = W(mu) / w_scale at every dof (mu in eV; the sinh argument clamped to +-600
        as in the forms)."""
        B = self._dof_material["B"]  # noqa: N806
        mu = B + self.kT * np.clip((mu - B) / self.kT, -600.0, 600.0)
        return kirchhoff(mu, self._dof_material["A"], B, self.kT) / self.w_scale

    def set_from_mu(self, mu: fem.Function) -> None:
        """omega from a mu_Li0 field (eV) in this problem's DG space (W of each cell's material)."""
        self.omega.x.array[:] = self._omega_of_mu(mu.x.array)
        self.omega.x.scatter_forward()

    def start_from(self, other: TransportProblem) -> None:
        """Take Phi, the scaling and mu_Li0 of a solved problem on another mesh as the start.

        mu is transferred (continuous across materials), not W (discontinuous there): a node
        on a phase boundary may take its value from the cell on the other side.
        """
        self.set_scale(other.w_scale)
        mu = fem.Function(self.V)
        compat.interpolate_nonmatching(mu, other.mu_function())
        self.set_from_mu(mu)
        self.phi.value = float(other.phi.value)
        self.converged_phi = other.converged_phi

    def initial_guess(self) -> None:
        """omega from mu_0 linear in x: continuous mu, electrode values exact.

        In 2D, mu_0(x) is the exact 1D solution of the laterally averaged layer stack (layers
        and full-width bottlenecks; grains, GBs and defects ignored) when it exists: a cheap,
        legitimate start for layered separators. 1D always starts from the straight line, so
        the 1D FEM verification stays independent of the exact solver.
        """
        if self.mesh.topology.dim > 1 and self._layered_guess():
            return
        # mu linear through the thickness, continuous everywhere. (The ionic shape w would put
        # the whole drop into strongly blocking bottleneck strips.)
        xi = self.V.tabulate_dof_coordinates()[:, 0] / self.length
        mu_c, mu_a = float(self.mu_cathode.value), float(self.mu_anode.value)
        self.omega.x.array[:] = self._omega_of_mu(mu_c + (mu_a - mu_c) * xi)
        self.omega.x.scatter_forward()

    def _layered_guess(self) -> bool:
        """omega from the exact 1D mu(x) of the layer stack; False when that fails."""
        if self._mu_guess is None:
            from fem_sse.exact1d import solve_exact

            try:
                x, mu = solve_exact(self.config.stack_1d()).profile()
                self._mu_guess = (np.asarray(x), np.asarray(mu))
            except Exception as exc:  # noqa: BLE001 - any failure just means no guess
                log.info("no exact 1D initial guess (%s); mu linear in x", exc)
                self._mu_guess = False
        if self._mu_guess is False:
            return False
        xs, mus = self._mu_guess
        mu0 = fem.Function(self.V)
        mu0.interpolate(lambda p: np.interp(p[0], xs, mus))
        self.set_from_mu(mu0)
        return True

    def set_scale(self, w_scale: float) -> None:
        """Change the scaling W = w_scale * omega (A/m), keeping W."""
        self.omega.x.array[:] *= self.w_scale / w_scale
        self.w_scale = w_scale
        self._w_scale.value = w_scale
        self._reference_norm = None

    def _residual_norm(self) -> float:
        b = self._b
        with b.localForm() as loc:
            loc.set(0.0)
        dolfinx.fem.petsc.assemble_vector(b, self._F)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b.norm()

    def _assemble_jacobian(self) -> None:
        self._A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(self._A, self._J)
        self._A.assemble()

    def current_slope(self) -> float:
        """d(electronic current)/dPhi along the solution branch, A/V (per m^2 in 1D).

        The tangent of the converged state: J d(omega)/dPhi = -dF/dPhi (one linear solve with
        the Jacobian; dF/dPhi by a difference, F being nearly linear in Phi), then the change
        of the anode current along it. The galvanostatic iteration takes Newton steps in Phi
        with it instead of secant steps, which overshoot where a jump forms.
        """
        phi = float(self.phi.value)
        d_phi = 1e-6 * max(abs(phi), 1e-9)
        x = self.omega.x.petsc_vec
        self._residual_norm()
        f0 = self._b.copy()
        self.phi.value = phi + d_phi
        self._residual_norm()
        self.phi.value = phi
        self._b.axpy(-1.0, f0)
        self._b.scale(-1.0 / d_phi)  # -dF/dPhi
        self._assemble_jacobian()
        tangent = x.duplicate()
        try:
            self._linear_solve(self._A, self._b, tangent, "fem_sse_transport_")
            i0 = self.electronic_current()
            saved = x.copy()
            x.axpy(d_phi, tangent)
            self.omega.x.scatter_forward()
            self.phi.value = phi + d_phi
            i1 = self.electronic_current()
            saved.copy(x)
            saved.destroy()
        finally:
            self.phi.value = phi
            self.omega.x.scatter_forward()
            tangent.destroy()
            f0.destroy()
        return (i1 - i0) / d_phi

    def newton(self, max_iterations: int = 200, rtol: float = 1e-11,
               step_tol: float = 1e-11) -> NewtonReport:
        """Damped Newton on omega for the current Phi and drift.

        ``solver.max_newton_iterations`` of the config caps ``max_iterations``.

        Raises:
            ConvergenceError: when the residual stalls or the iteration budget runs out.
        """
        cap = self.config.solver.max_newton_iterations
        max_iterations = min(max_iterations, cap) if cap else max_iterations
        report = NewtonReport()
        x = self.omega.x.petsc_vec
        dx_vec = x.duplicate()
        backup = x.duplicate()
        norm = self._residual_norm()
        report.residuals.append(norm)
        if self._reference_norm is None:  # the residual scale of this mesh and scaling
            self._reference_norm = max(norm, 1e-300)
        floor = 1e-9 * self._reference_norm  # round-off level: stagnation there is success
        target = max(rtol * max(norm, 1e-300), 1e-13 * self._reference_norm)
        if norm <= target:
            return report
        lam = 1.0
        try:
            for it in range(1, max_iterations + 1):
                self._assemble_jacobian()
                self._b.scale(-1.0)
                self._linear_solve(self._A, self._b, dx_vec, "fem_sse_transport_")
                size = x.norm(PETSc.NormType.NORM_INFINITY)
                if (dx_vec.norm(PETSc.NormType.NORM_INFINITY)
                        <= _ROUND_OFF_STEP * max(size, 1e-300)):
                    # the correction is at round-off level (where the residual of large,
                    # cancelling terms cannot fall further): take it and stop
                    x.axpy(1.0, dx_vec)
                    self.omega.x.scatter_forward()
                    report.iterations = it
                    return report
                x.copy(backup)
                lam = min(1.0, 4.0 * lam)
                while True:  # backtracking; a step giving a non-finite residual is halved too
                    backup.copy(x)
                    x.axpy(lam, dx_vec)
                    self.omega.x.scatter_forward()
                    trial = self._residual_norm()
                    if lam < 1e-3 or (np.isfinite(trial)
                                      and trial <= (1.0 - 1e-4 * lam) * norm):
                        break
                    lam *= 0.5
                if not np.isfinite(trial) or (lam < 1e-3 and trial > norm):
                    backup.copy(x)
                    self.omega.x.scatter_forward()
                    if norm <= floor:
                        return report
                    raise ConvergenceError("Newton line search failed", {
                        "iterations": it, "residuals": report.residuals[-5:]})
                norm = trial
                log.debug("Newton %d: step %.3g, residual %.4g", it, lam, norm)
                report.iterations = it
                report.residuals.append(norm)
                step = lam * dx_vec.norm(PETSc.NormType.NORM_INFINITY)
                size = x.norm(PETSc.NormType.NORM_INFINITY)
                if norm <= target or step <= step_tol * max(size, 1e-300):
                    return report
        finally:
            dx_vec.destroy()
            backup.destroy()
        raise ConvergenceError(f"Newton did not converge in {max_iterations} iteration(s)", {
            "iterations": max_iterations, "residuals": report.residuals[-5:]})

    def bordered_newton(self, phi: float, current: float,
                        max_iterations: int = 25) -> tuple[float, NewtonReport]:
        """Damped Newton on omega and Phi together for the galvanostatic problem.

        Unknowns (omega, Phi); equations F(omega, Phi) = 0 and the total current
        g = Phi G + I_e(omega, Phi) - I = 0 (A/m^2 in 1D, A/m in 2D). The bordered Jacobian
        [[J, dF/dPhi], [dI_e/domega, G + dI_e/dPhi]] is solved by block elimination with two
        solves of the one factorisation of J (dF/dPhi and dI_e/dPhi by differences: F is
        nearly linear in Phi). From a nearby state (the previous mesh's solution, or a
        converged Phi) it needs a handful of iterations, where a root search on Phi solves the
        transport problem to convergence at every trial Phi. The line search is on
        sqrt(|F|^2 + (g / w_scale)^2).

        Args:
            phi: starting ionic potential drop (V).
            current: applied current I (A/m^2 in 1D, A/m in 2D).
            max_iterations: iteration budget.

        Returns:
            (Phi, report), with omega and ``self.phi`` at the solution: the Newton step is at
            round-off level or the residual 1e-11 of its start, and g within the tolerance of
            :func:`_current_converged`. Not recorded as a converged state (a potentiostatic
            solve at the returned Phi does that, in 0-1 iterations).

        Raises:
            ConvergenceError: when the iteration stalls or the budget runs out; omega and Phi
                are then restored to the start.
        """
        x = self.omega.x.petsc_vec
        start = (phi, x.copy())
        report = NewtonReport()
        g_cond = self.conductance
        d_omega, tangent, backup = x.duplicate(), x.duplicate(), x.duplicate()
        f_omega, f_phi = self._b.duplicate(), self._b.duplicate()
        gradient = compat.create_vector(self._anode_flux_gradient)

        def merit(phi_k: float) -> tuple[float, float, float]:
            self.phi.value = phi_k
            norm = self._residual_norm()
            i_e = self.electronic_current()
            g = phi_k * g_cond + i_e - current
            return float(np.hypot(norm, g / self.w_scale)), g, i_e

        try:
            m, g, i_e = merit(phi)
            if self._reference_norm is None:
                self._reference_norm = max(m, 1e-300)
            target = max(1e-11 * m, 1e-13 * self._reference_norm)
            for it in range(1, max_iterations + 1):
                self._b.copy(f_omega)  # F at (omega, Phi), from the last merit evaluation
                d_phi = 1e-6 * max(abs(phi), 1e-9)
                self.phi.value = phi + d_phi
                self._residual_norm()
                i_e_shift = self.electronic_current()
                self.phi.value = phi
                self._b.copy(f_phi)
                f_phi.axpy(-1.0, f_omega)  # F(Phi + dPhi) - F(Phi) = dF/dPhi dPhi
                f_phi.scale(-1.0 / d_phi)
                f_omega.copy(self._b)
                self._b.scale(-1.0)
                self._assemble_jacobian()
                self._linear_solve(self._A, self._b, d_omega, "fem_sse_transport_")
                self._linear_solve(self._A, f_phi, tangent, "fem_sse_transport_")
                with gradient.localForm() as loc:
                    loc.set(0.0)
                dolfinx.fem.petsc.assemble_vector(gradient, self._anode_flux_gradient)
                gradient.ghostUpdate(addv=PETSc.InsertMode.ADD,
                                     mode=PETSc.ScatterMode.REVERSE)
                c_a = self.w_scale * gradient.dot(d_omega)
                c_t = self.w_scale * gradient.dot(tangent)
                slope = g_cond + (i_e_shift - i_e) / d_phi + c_t
                if not np.isfinite(slope) or slope <= 0.0:
                    raise ConvergenceError("bordered Newton: current not increasing with Phi",
                                           {"iterations": it, "slope_A_per_V": slope})
                step_phi = -(g + c_a) / slope
                d_omega.axpy(step_phi, tangent)
                x.copy(backup)
                lam = 1.0
                while True:
                    backup.copy(x)
                    x.axpy(lam, d_omega)
                    self.omega.x.scatter_forward()
                    trial, g_trial, i_trial = merit(phi + lam * step_phi)
                    if lam < 1e-3 or (np.isfinite(trial) and trial <= (1.0 - 1e-4 * lam) * m):
                        break
                    lam *= 0.5
                if not np.isfinite(trial) or (lam < 1e-3 and trial > m):
                    raise ConvergenceError("bordered Newton: line search failed",
                                           {"iterations": it, "residuals": report.residuals[-5:]})
                phi, m, g, i_e = phi + lam * step_phi, trial, g_trial, i_trial
                report.iterations = it
                report.residuals.append(m)
                log.debug("bordered Newton %d: step %.3g, Phi %.10g V, residual %.4g, "
                          "current residual %.4g", it, lam, phi, m, g)
                step = lam * d_omega.norm(PETSc.NormType.NORM_INFINITY)
                small = step <= 1e-11 * max(x.norm(PETSc.NormType.NORM_INFINITY), 1e-300)
                if (m <= target or small) and _current_converged(g, i_e, current):
                    if not 0.0 < phi <= (1.0 + 1e-9) * current / g_cond:
                        # the root search brackets Phi in (0, I/G] (0 <= I_i <= I): a state
                        # outside is not the physical branch
                        raise ConvergenceError("bordered Newton: Phi outside (0, I/G]",
                                               {"iterations": it, "phi_V": phi})
                    return phi, report
            raise ConvergenceError(f"bordered Newton did not converge in {max_iterations} "
                                   "iteration(s)", {"iterations": max_iterations,
                                                    "residuals": report.residuals[-5:]})
        except ConvergenceError:
            start[1].copy(x)
            self.omega.x.scatter_forward()
            self.phi.value = start[0]
            raise
        finally:
            for vec in (d_omega, tangent, backup, f_omega, f_phi, gradient, start[1]):
                vec.destroy()

    def solve_potentiostatic(self, phi: float, max_iterations: int = 30) -> NewtonReport:
        """Solve for omega at ionic potential drop ``phi`` (V); continuation when needed.

        The solution is also kept as the last good state (:attr:`last_converged`) that a later
        failure (another Phi of the galvanostatic iteration) falls back to.
        """
        report = self._solve_at(phi, max_iterations)
        self.last_converged = (phi, self.omega.x.array.copy())
        self.converged_phi = phi
        return report

    def _solve_at(self, phi: float, max_iterations: int) -> NewtonReport:
        """:meth:`solve_potentiostatic` without the bookkeeping.

        Damped Newton from the current state first (``max_iterations``: from a converged
        neighbouring state it needs a handful, from the default initial guess up to ~100).
        Then continuation: in Phi from the last converged state (when there is one), in the
        electrode window opened from its midpoint (mu uniform, W(mu) nearly the solution), and
        last in the drift strength from the drift-free problem. (Window before drift: over the
        20 paper cases it needs fewer linear solves, e.g. 329 instead of 529 on Fig. 5b.)

        Raises:
            ConvergenceError: with the stage and fraction reached by every strategy.
        """
        self.phi.value = phi
        self.drift.value = 1.0
        saved = self.omega.x.array.copy()
        try:
            return self.newton(max_iterations=max_iterations)
        except ConvergenceError as first:
            log.info("Newton failed at Phi = %.4g V (%s); continuation", phi, first)
            failures = [f"Newton: {first}"]
            attempts = [{"stage": "Newton", **first.diagnosis}]
        best = None  # the continuation that got furthest: its last converged state
        cell = self.config.cell
        mid = 0.5 * (cell.mu_cathode + cell.mu_anode)
        phi0 = self.converged_phi

        def ionic_drop(s):  # from the last converged state, a neighbouring problem
            self.phi.value = phi0 + s * (phi - phi0)

        def window(s):
            self.mu_cathode.value = mid + s * (cell.mu_cathode - mid)
            self.mu_anode.value = mid + s * (cell.mu_anode - mid)

        def drift(s):
            self.drift.value = s

        strategies = [("electrode window", window, True), ("drift strength", drift, False)]
        if phi0 is not None and phi0 != phi:
            strategies.insert(0, ("ionic potential drop", ionic_drop, False))
        for name, set_parameter, restart in strategies:
            if restart:
                self.initial_guess()
            else:
                self.omega.x.array[:] = saved
            try:
                return self._continuation(name, set_parameter)
            except ConvergenceError as exc:
                log.info("continuation in the %s failed (%s)", name, exc)
                failures.append(str(exc))
                attempts.append({"stage": f"continuation in the {name}", **exc.diagnosis})
                reached = exc.diagnosis.get("fraction")
                if reached is not None and (best is None or reached > best[1]):
                    best = (attempts[-1]["stage"], reached, self.omega.x.array.copy())
        raise self._failure(f"no convergence at Phi = {phi:.6g} V: " + "; ".join(failures),
                            phi, attempts, best)

    def _failure(self, message: str, phi: float, attempts: list, best) -> ConvergenceError:
        """The error of a failed solve at Phi (V), with the last good state in omega.

        The diagnosis has the last residuals, the stage and fraction of the continuation that
        got furthest (its converged state is kept in omega: the last good state), every
        attempt, and where the residual of the full problem concentrates in that state.
        """
        from fem_sse.diagnosis import residual_peak

        last = attempts[-1].get("residuals", [])
        diagnosis = {"phi_V": phi, "last_residuals": last, "attempts": attempts,
                     "good_state": best is not None or self.last_converged is not None}
        if self.last_converged is not None:  # a full solution at another Phi: the best state
            good_phi, omega = self.last_converged
            self.omega.x.array[:] = omega
            diagnosis.update(stage="galvanostatic iteration on Phi", good_state_phi_V=good_phi)
        elif best is not None:
            stage, reached, omega = best
            self.omega.x.array[:] = omega
            diagnosis.update(stage=stage, fraction_reached=reached,
                             last_residuals=next(a.get("residuals", []) for a in attempts
                                                 if a["stage"] == stage))
        else:
            diagnosis["stage"] = attempts[-1]["stage"]
        diagnosis["residual_peak"] = residual_peak(self)
        return ConvergenceError(message, diagnosis)

    def _continuation(self, name: str, set_parameter) -> NewtonReport:
        """Newton along set_parameter(s), s = 0 -> 1, with adaptive steps (s = 1 is the problem).

        Raises:
            ConvergenceError: naming the parameter and the fraction reached when steps stall.
        """
        total = NewtonReport()
        self._reference_norm = None
        s, step, last = 0.0, 0.05, []
        try:
            set_parameter(0.0)
            try:
                total.iterations += self.newton(max_iterations=200).iterations
            except ConvergenceError as exc:
                raise ConvergenceError(f"continuation in the {name} failed at its start ({exc})",
                                       {"parameter": name, **exc.diagnosis}) from None
            spent = 0  # Newton iterations of the steps
            while s < 1.0 and spent < _MAX_CONTINUATION_ITERATIONS:
                trial = min(1.0, s + step)
                saved = self.omega.x.array.copy()
                set_parameter(trial)
                try:
                    rep = self.newton(max_iterations=25)
                except ConvergenceError as exc:
                    self.omega.x.array[:] = saved
                    last = exc.diagnosis.get("residuals", [])
                    spent += exc.diagnosis.get("iterations", 25)
                    step *= 0.5
                    if step < 1e-5:
                        raise ConvergenceError(f"continuation in the {name} stalled at "
                                               f"{s:.5g} of the way",
                                               {"parameter": name, "fraction": s,
                                                "attempted": trial, "residuals": last}) from None
                    continue
                spent += rep.iterations
                total.iterations += rep.iterations
                total.residuals.extend(rep.residuals)
                total.continuation_steps += 1
                s = trial
                step = min(2.0 * step, 0.25)
            if s < 1.0:
                raise ConvergenceError(f"continuation in the {name} crept to {s:.5g} of the way "
                                       f"in {spent} Newton iterations",
                                       {"parameter": name, "fraction": s, "residuals": last})
        finally:
            set_parameter(1.0)
        return total

    # -- derived quantities ------------------------------------------------------------------
    def electronic_current(self) -> float:
        """Electronic current leaving through the anode (A/m^2 in 1D, A/m in 2D)."""
        local = fem.assemble_scalar(self._anode_flux)
        return self.w_scale * self.comm.allreduce(local, op=MPI.SUM)

    def ionic_current(self) -> float:
        """Ionic current through the separator, Phi * G (A/m^2 in 1D)."""
        return float(self.phi.value) * self.conductance

    def mu_function(self) -> fem.Function:
        """mu_Li0 (eV) interpolated into the DG space."""
        mu = fem.Function(self.V, name="mu_Li0")
        mu.x.array[:] = mu_from_kirchhoff(self.w_scale * self.omega.x.array,
                                          self._dof_material["A"], self._dof_material["B"],
                                          self.kT)
        return mu

    @property
    def dofs(self) -> int:
        """Global number of unknowns (W and the ionic field)."""
        count = 0
        for V in (self.V, self.V_ion):
            imap = V.dofmap.index_map
            count += imap.size_global * V.dofmap.index_map_bs
        return count


def solve_transport(problem: TransportProblem) -> dict:
    """Solve galvanostatic or potentiostatic operation on ``problem``'s mesh.

    Galvanostatic: from a converged neighbouring state (the previous mesh's solution) Newton on
    omega and Phi together (:meth:`TransportProblem.bordered_newton`) first; otherwise, or when
    it fails, a potentiostatic solve at the Phi of an all-ionic current, then the bordered
    Newton from there, and last the bracketed root search on Phi (:func:`_galvanostatic_phi`),
    which solves the transport problem at every trial Phi.

    Returns:
        dict with t_li, one_minus_t_li, j_ionic, j_electronic (A/m^2), ionic_potential_drop (V),
        newton_iterations (all, bordered included), bordered_iterations, outer_iterations
        (potentiostatic solves).
    """
    cell = problem.config.cell
    area = problem.area  # the cathode: 1 in 1D, its length (m per unit depth) in 2D
    g = problem.conductance
    if cell.galvanostatic:
        current = cell.current_density * area
        phi = current / g if float(problem.phi.value) == 0.0 else float(problem.phi.value)
    else:
        phi = cell.ionic_potential_drop
        current = phi * g
    if problem.w_scale == 1.0:
        problem.set_scale(current / area * problem.length)
        problem.initial_guess()
    iterations = 0
    outer = 0
    bordered = 0

    def bordered_newton(phi_k: float) -> float:  # the new Phi, or phi_k (state kept) on failure
        nonlocal iterations, bordered
        try:
            phi_new, report = problem.bordered_newton(phi_k, current)
        except ConvergenceError as exc:
            log.info("bordered Newton failed (%s); root search on Phi", exc)
            iterations += exc.diagnosis.get("iterations", 0)
            return phi_k
        iterations += report.iterations
        bordered += report.iterations
        return phi_new

    def residual(phi_k: float) -> float:
        nonlocal iterations, outer
        # the first solve may start far away (default initial guess): a larger Newton budget
        budget = 200 if outer == 0 else 30
        iterations += problem.solve_potentiostatic(phi_k, max_iterations=budget).iterations
        outer += 1
        return phi_k * g + problem.electronic_current() - current

    def slope() -> float:  # d(residual)/dPhi (A/V) at the last solution
        return g + problem.current_slope()

    try:
        if cell.galvanostatic and problem.converged_phi is not None:
            phi = bordered_newton(phi)
        r = residual(phi)
        if cell.galvanostatic:
            if not _current_converged(r, problem.electronic_current(), current):
                phi_new = bordered_newton(phi)
                if phi_new != phi:
                    phi, r = phi_new, residual(phi_new)
            phi = _galvanostatic_phi(residual, phi, r, g, current, problem.electronic_current,
                                     slope)
    except ConvergenceError as exc:
        exc.diagnosis.update(mode="galvanostatic" if cell.galvanostatic else "potentiostatic",
                             phi_evaluations=outer)
        raise
    j_i = problem.ionic_current() / area
    j_e = problem.electronic_current() / area
    return {"t_li": j_i / (j_i + j_e), "one_minus_t_li": j_e / (j_i + j_e), "j_ionic": j_i,
            "j_electronic": j_e, "ionic_potential_drop": float(problem.phi.value),
            "newton_iterations": iterations, "bordered_iterations": bordered,
            "outer_iterations": outer}


def _current_converged(r: float, i_e: float, current: float) -> bool:
    """Whether the total-current residual r (A) is converged: 1e-9 of the electronic current
    I_e (what 1 - t_Li is made of), or round-off of the applied current I."""
    return abs(r) <= 1e-9 * max(abs(i_e), 1e-300) + 1e-15 * current


def _galvanostatic_phi(residual, phi: float, r: float, g: float, current: float,
                       electronic_current, slope=None) -> float:
    """Root of the total-current residual r(Phi) (A): bracketed Newton (``slope()``, the
    tangent dr/dPhi in A/V at the last solution) or secant steps, regula falsi (Illinois) as
    the fallback. ``g`` is the ionic conductance G (A/V).

    r increases with Phi. The bracket starts as [0, I/G] (no ionic current, all of it ionic)
    and every evaluation narrows it, so a wild secant step (a residual curve that is almost a
    step when a jump appears) falls back to regula falsi instead of leaving the physical range.
    """
    lo, r_lo, hi, r_hi = 0.0, None, None, None
    last = (phi, r)
    for _ in range(80):
        if r > 0.0:
            hi, r_hi = phi, r
        else:
            lo, r_lo = phi, r
        i_e = electronic_current()
        log.debug("galvanostatic: Phi = %.10g V, current residual = %.4g", phi, r)
        if _current_converged(r, i_e, current):
            return phi
        p_prev, r_prev = last
        if slope is not None:
            dr = slope()
        else:
            dr = (r - r_prev) / (phi - p_prev) if phi != p_prev else g
        if not np.isfinite(dr) or dr <= 0.0:
            dr = g
        candidate = phi - r / dr
        if hi is None:
            candidate = max(candidate, phi + 0.5 * abs(r) / g)
        elif not (lo < candidate < hi):
            if r_lo is None:  # Phi = 0 never evaluated: approach it geometrically
                candidate = 0.5 * (lo + hi)
            else:  # regula falsi on the bracket
                candidate = hi - r_hi * (hi - lo) / (r_hi - r_lo)
        if hi is not None and hi < 1e-9 * current / g:
            raise ConvergenceError(
                "the electronic current alone carries the applied current at any Phi > "
                f"{hi:.3g} V (t_Li < 1e-9): the separator is an electronic conductor at this "
                "window; the exact solver (1D) resolves it", {
                    "stage": "galvanostatic iteration on Phi", "phi_bracket_V": [lo, hi],
                    "current_residual_A": r, "good_state": True})
        last = (phi, r)
        phi = candidate
        r = residual(phi)
    raise ConvergenceError("galvanostatic iteration on Phi did not converge",
                           {"stage": "galvanostatic iteration on Phi", "phi_bracket_V": [lo, hi],
                            "current_residual_A": r, "good_state": True})


def error_indicators(problem: TransportProblem) -> fem.Function:
    """Residual-based error indicator per cell (DG0), squared.

    eta_K^2 = h^2 |div j|^2_K + sum over facets of (h |[j.n]|^2 + |[W]_eff|^2 / h) / 2, with
    j the scaled electronic current and [W]_eff the penalised jump (mu-jump across materials).
    """
    dx, dS, ds = problem._measures()
    v0 = ufl.TestFunction(problem.Q)
    h_f, h = facet_lengths(problem.mesh)  # extents normal to the facets (anisotropic cells)
    n = ufl.FacetNormal(problem.mesh)
    flux = problem._flux
    residual = ufl.div(flux)
    h_cell = ufl.CellDiameter(problem.mesh)
    if problem.mesh.topology.dim > 1:  # the thin extent of a (possibly anisotropic) cell
        h_cell = 2.0 * ufl.CellVolume(problem.mesh) / h_cell
    form = h_cell**2 * residual**2 * v0 * dx
    for jump_eff, measure in problem._jumps:
        form += (h_f * ufl.jump(flux, n) ** 2 + jump_eff**2 / h_f) * (
            v0("+") + v0("-")) * 0.5 * measure
    for tag, om_d in problem._dirichlet.items():
        form += (problem.omega - om_d) ** 2 / h * v0 * ds(tag)
    eta = fem.Function(problem.Q, name="error_indicator")
    dolfinx.fem.petsc.assemble_vector(eta.x.petsc_vec,
                                      problem.forms.form("error_indicator", form, problem.mesh))
    eta.x.petsc_vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    eta.x.scatter_forward()
    return eta
