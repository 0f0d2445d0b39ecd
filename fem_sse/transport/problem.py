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

The nonlinear solves (Newton, continuation, the galvanostatic unknown Phi) are in
:mod:`fem_sse.transport.newton`; forms are compiled once per run (:mod:`fem_sse.transport.formcache`).
"""

from __future__ import annotations

import logging

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse import compat
from fem_sse.spec.config import MAX_SCALED_POTENTIAL, Config
from fem_sse.errors import ConvergenceError
from fem_sse.transport.formcache import FormCache
from fem_sse.geometry import SeparatorMesh
from fem_sse.geometry.line import ANODE, CATHODE
from fem_sse.geometry.regions import regions_1d
from fem_sse.transport.ionic import (
    GB_INTERFACE,
    REGULAR,
    boundary_current,
    facet_lengths,
    interior_facet_tags,
    ionic_forms,
)
from fem_sse.materials.conductivity import kirchhoff, mu_from_kirchhoff
from fem_sse.transport.newton import NewtonReport, NonlinearSolves, solve_transport
from fem_sse.solvers import configured_ksp, prefixed_ksp

__all__ = ["ConvergenceError", "NewtonReport", "TransportProblem", "default_petsc_options",
           "error_indicators", "solve_transport"]

log = logging.getLogger(__name__)

_PENALTY = 10.0  # interior-penalty constant, times p (p + 1)


def default_petsc_options(comm=None, tdim: int = 2) -> dict:
    """Linear solver of every Newton step (a new dict: callers may change it).

    A direct LU: KLU on one rank in 1D (block-tridiagonal matrices, where it refactors about
    5 times faster than MUMPS: 1.5 vs 7.8 ms at 14k DOFs), MUMPS otherwise (parallel, and
    supernodal for the fill of 2D meshes). A PETSc built without KLU (SuiteSparse) gets MUMPS.
    """
    serial = comm is None or comm.size == 1
    solver = "klu" if serial and tdim == 1 and _petsc_has("klu") else "mumps"
    return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": solver,
            "ksp_error_if_not_converged": True}


def _petsc_has(package: str) -> bool:
    """Whether this PETSc was configured with the external solver package (e.g. "klu")."""
    return bool(PETSc.Sys.hasExternalPackage(package))


def _asinh(z):
    """asinh for UFL: exact derivative at 0, no overflow or cancellation for large |z|."""
    az = abs(z)
    big = ufl.max_value(az, 1.0)
    large = ufl.sign(z) * (ufl.ln(big) + ufl.ln(1.0 + ufl.sqrt(1.0 + 1.0 / big**2)))
    small = ufl.ln(z + ufl.sqrt(z**2 + 1.0))  # accurate for |z| <= 1
    return ufl.conditional(ufl.gt(az, 1.0), large, small)


def _scaled_kirchhoff(mu, A, B, kT, w_scale):  # noqa: N803
    """UFL W(mu) / w_scale = 2 A kT sinh((mu - B)/kT) / w_scale, the argument clamped to
    +-MAX_SCALED_POTENTIAL (sinh overflows beyond ~710; validated electrode potentials stay far
    inside)."""
    arg = ufl.max_value(ufl.min_value((mu - B) / kT, MAX_SCALED_POTENTIAL), -MAX_SCALED_POTENTIAL)
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


class TransportProblem(NonlinearSolves):
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
        forms: the :class:`~fem_sse.transport.formcache.FormCache` of an earlier problem of the same
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
        self.electrode_flux = {}  # UFL: outward j_eh . n / w_scale per electrode (checks)
        for tag, mu_e in ((CATHODE, self.mu_cathode), (ANODE, self.mu_anode)):
            om_d = _scaled_kirchhoff(mu_e, A, B, kT, ws)
            self._dirichlet[tag] = om_d
            un_b = ufl.dot(u, n)
            sigma_d = ufl.sqrt((om_d / kT) ** 2 + (2.0 * A / ws) ** 2)
            qn = ufl.dot(ufl.grad(omega), n) + _drift_flux(un_b, un_b, sigma(), sigma_d,
                                                            omega - om_d, kT)
            conservative = qn - alpha / h * (omega - om_d)  # outward j_eh . n / w_scale
            F += (-conservative * v - ufl.dot(ufl.grad(v), n) * (omega - om_d)) * ds(tag)
            self.electrode_flux[tag] = conservative * ds(tag)
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

    # -- state and assembly ------------------------------------------------------------------
    def _omega_of_mu(self, mu: np.ndarray) -> np.ndarray:
        """omega = W(mu) / w_scale at every dof (mu in eV; the sinh argument clamped to
        +-MAX_SCALED_POTENTIAL as in the forms)."""
        B = self._dof_material["B"]  # noqa: N806
        clamp = MAX_SCALED_POTENTIAL
        mu = B + self.kT * np.clip((mu - B) / self.kT, -clamp, clamp)
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
            from fem_sse.transport.exact1d import solve_exact

            try:
                x, mu = solve_exact(self.config.stack_1d()).profile()
                self._mu_guess = (np.asarray(x), np.asarray(mu))
            except Exception as exc:  # noqa: BLE001 - any failure just means no guess
                log.info("no exact 1D initial guess (%s); mu linear in x", exc)
                self._mu_guess = False
        if self._mu_guess is False:
            return False
        from fem_sse.transport.start2d import column_mu

        mu0 = fem.Function(self.V)
        mu0.x.array[:] = column_mu(self, *self._mu_guess)  # each column mapped onto the stack
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

    # -- derived quantities ------------------------------------------------------------------
    def electronic_current(self) -> float:
        """Electronic current leaving through the anode (A/m^2 in 1D, A/m in 2D)."""
        local = fem.assemble_scalar(self._anode_flux)
        return self.w_scale * self.comm.allreduce(local, op=MPI.SUM)

    def ionic_current(self) -> float:
        """Ionic current through the separator, Phi * G (A/m^2 in 1D)."""
        return float(self.phi.value) * self.conductance

    def kirchhoff_function(self) -> fem.Function:
        """W (A/m) in the DG space: linear per cell (DG1), so a mu_Li0 jump of eV is a zero
        crossing inside a cell; what the mechanics should be given (``kirchhoff=``)."""
        W = fem.Function(self.V, name="W")  # noqa: N806
        W.x.array[:] = self.w_scale * self.omega.x.array
        return W

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
    dolfinx.fem.petsc.assemble_vector(eta.x.petsc_vec, problem._form("error_indicator", form))
    eta.x.petsc_vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    eta.x.scatter_forward()
    return eta
