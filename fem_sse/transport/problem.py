"""Steady Li+ and electron/hole transport on a DOLFINx mesh (any dimension): the public problem.

Equations (model.md section 1), potentials in eV (= V after dividing by e)::

    div(sigma_li grad eta_i) = 0,       div(j_eh) = 0,      j_eh = sigma_eh(mu) grad(eta_e)

Primary variables and why:

* ionic: ``eta_i = Phi * w`` with ``w`` (continuous P1) solving the linear problem with
  w = 1 at the cathode and w = 0 at the anode. Phi (V) is the single global unknown of
  galvanostatic operation.
* electronic: the Kirchhoff variable ``W = 2 A kT sinh((mu - B)/kT)`` (A/m) of each material,
  for which ``j_eh = grad W - sigma_eh(W) grad eta_i``: an almost linear drift-diffusion
  equation whose solution is smooth where mu jumps by eV (a jump of mu is a zero crossing of
  W), in a DG space (W is discontinuous where A or B change). The weak form is in
  :mod:`fem_sse.transport.forms`; the unknown is scaled: omega = W / w_scale.

:class:`TransportProblem` is what the nonlinear solves (:mod:`fem_sse.transport.newton`,
:mod:`fem_sse.transport.continuation`, :mod:`fem_sse.transport.galvanostatic`) work on, through
the protocol :class:`fem_sse.transport.newton.NonlinearProblem`: its residual and Jacobian, the
currents, a parameter record (:class:`TransportParameters`) and a solve state
(:class:`SolveState`). Forms are compiled once per run (:mod:`fem_sse.transport.formcache`).
"""

from __future__ import annotations

import logging
from functools import cached_property

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse import compat
from fem_sse.errors import ConvergenceError
from fem_sse.geometry import SeparatorMesh
from fem_sse.geometry.line import ANODE, CATHODE
from fem_sse.materials.conductivity import kirchhoff, mu_from_kirchhoff
from fem_sse.spec.config import MAX_SCALED_POTENTIAL, Config
from fem_sse.transport.formcache import FormCache
from fem_sse.transport.forms import Coefficients, Electrode, electronic_forms, indicator_form
from fem_sse.transport.galvanostatic import solve_transport
from fem_sse.transport.discretisation import discretisation_for
from fem_sse.transport.fields import region_fields
from fem_sse.transport.linear import LinearSolver, default_petsc_options
from fem_sse.transport.ionic import (
    GB_INTERFACE,
    REGULAR,
    facet_lengths,
    interior_facet_tags,
    solve_ionic,
)
from fem_sse.transport.newton import NewtonReport
from fem_sse.transport.parameters import SolveState, TransportParameters, window_potentials

__all__ = ["ConvergenceError", "NewtonReport", "SolveState", "TransportParameters",
           "TransportProblem", "default_petsc_options", "error_indicators", "solve_transport"]

log = logging.getLogger(__name__)


def _constant(msh, value: float) -> fem.Constant:
    return fem.Constant(msh, PETSc.ScalarType(value))


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
        self._A = None  # the Jacobian, kept: the sparsity never changes
        self.linear_solver = LinearSolver(self.comm, self.petsc_options)
        msh.topology.create_connectivity(tdim - 1, tdim)
        gb = config.geometry2d.grain_boundaries if config.geometry2d else None
        self.gb_conductance = gb.conductance if gb is not None else None
        self.interior_tags, self.ionic_dg = interior_facet_tags(smesh, self.gb_conductance)

        self.V_ion = fem.functionspace(msh, ("DG" if self.ionic_dg else "Lagrange", 1))
        self.V = fem.functionspace(msh, ("DG", degree))
        self.Q = fem.functionspace(msh, ("DG", 0))
        self.w = fem.Function(self.V_ion, name="w_ionic")
        self.omega = fem.Function(self.V, name="omega")
        self.fields, self._dof_material = region_fields(smesh, config, self.Q, self.V)
        self.sources = sources(self) if sources is not None else {}
        self.state = SolveState()
        self._parameters = TransportParameters()
        # the UFL constants of the parameters (written only by set_parameters)
        self._phi, self._drift = _constant(msh, 0.0), _constant(msh, 1.0)
        cell = config.cell
        self._mu_electrode = {CATHODE: _constant(msh, cell.mu_cathode),
                              ANODE: _constant(msh, cell.mu_anode)}
        self._w_scale = 1.0  # W = w_scale * omega (A/m)
        self._w_scale_constant = _constant(msh, 1.0)
        self._solve_ionic()
        self._build_forms()

    # -- set-up ------------------------------------------------------------------------------
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
        """w, the ionic conductance G (S/m^2 in 1D, S/m per unit depth in 2D) and the
        electrode areas (:func:`fem_sse.transport.ionic.solve_ionic`)."""
        self.conductance, self.anode_area, self.area = solve_ionic(
            self.w, self.fields["sigma_li"], self.smesh, self._measures(), self.gb_conductance,
            self.sources.get("ionic"), self.ionic_dg, self._form, self.integral,
            lambda A, b, x: self.linear_solve(A, b, x, "fem_sse_ionic_"))

    def _form(self, name: str, form: ufl.Form) -> fem.Form:
        """``form`` on this mesh, compiled once per run (:class:`FormCache`)."""
        return self.forms.form(name, form, self.mesh)

    def integral(self, name: str, form: ufl.Form) -> float:
        """The value of a scalar form on this mesh, summed over the ranks; compiled once per
        run under ``name`` (:class:`FormCache`)."""
        local = fem.assemble_scalar(self._form(name, form))
        return self.comm.allreduce(local, op=MPI.SUM)

    def linear_solve(self, A, b, x, prefix: str) -> int:  # noqa: N803
        """Solve A x = b (:meth:`LinearSolver.solve`); the Jacobian's factorisation is kept.
        Returns the Krylov iterations.

        Raises:
            ConvergenceError: when PETSc fails (a failed Newton step).
        """
        return self.linear_solver.solve(A, b, x, prefix)

    def _build_forms(self) -> None:
        dx, dS, ds = self._measures()  # noqa: N806
        h_f, h = facet_lengths(self.mesh)
        self.coefficients = c = Coefficients(
            omega=self.omega, v=ufl.TestFunction(self.V), A=self.fields["A"],
            B=self.fields["B"], material_id=self.fields["material_id"], w=self.w,
            phi=self._phi, drift=self._drift, w_scale=self._w_scale_constant, kT=self.kT,
            degree=self.degree, h_facet=h_f, h_cell=h)
        self.electrodes = [Electrode(tag, self._mu_electrode[tag]) for tag in (CATHODE, ANODE)]
        regular, gb_facets = self._coupled_facets(dS)
        self.electronic = ef = electronic_forms(c, dx, regular, gb_facets, ds, self.electrodes,
                                                self.sources.get("electronic"))
        anode = ef.electrode_flux[ANODE]
        self._anode_flux = self._form("anode_flux", anode)
        # d(anode flux)/d(omega): the bordering row of the galvanostatic Newton
        self._anode_flux_gradient = self._form("anode_flux_gradient",
                                               ufl.derivative(anode, self.omega, c.v))
        self._F = self._form("residual", ef.residual)
        self._J = self._form("jacobian", ufl.derivative(ef.residual, self.omega))
        self._b = compat.create_vector(self._F)
        self._A = dolfinx.fem.petsc.create_matrix(self._J)
        self.linear_solver.keep(self._A)

    # -- parameters and state ----------------------------------------------------------------
    @property
    def parameters(self) -> TransportParameters:
        """Phi (V), drift strength and electrode window of the next solve."""
        return self._parameters

    def set_parameters(self, parameters: TransportParameters) -> None:
        """Take ``parameters`` (the only writer of the problem's constants)."""
        self._parameters = parameters
        self.state.phi_known = True
        self._phi.value = parameters.phi_V
        self._drift.value = parameters.drift
        cell = self.config.cell
        mu_c, mu_a = window_potentials(parameters.window, cell.mu_cathode, cell.mu_anode)
        self._mu_electrode[CATHODE].value = mu_c
        self._mu_electrode[ANODE].value = mu_a

    def set_phi(self, phi: float) -> None:
        """Phi (V), the other parameters kept."""
        self.set_parameters(TransportParameters(phi, self._parameters.drift,
                                                self._parameters.window))

    @property
    def phi_V(self) -> float:  # noqa: N802
        """Ionic potential drop Phi (V) of the current parameters."""
        return self._parameters.phi_V

    @property
    def w_scale(self) -> float:
        """The scaling W = w_scale * omega (A/m)."""
        return self._w_scale

    def set_scale(self, w_scale: float) -> None:
        """Change the scaling W = w_scale * omega (A/m), keeping W."""
        self.omega.x.array[:] *= self._w_scale / w_scale
        self._w_scale = w_scale
        self._w_scale_constant.value = w_scale
        self.state.scaled = True
        self.state.reference_norm = None

    def _omega_of_mu(self, mu: np.ndarray) -> np.ndarray:
        """omega = W(mu) / w_scale at every dof (mu in eV; the sinh argument clamped to
        +-MAX_SCALED_POTENTIAL as in the forms)."""
        B = self._dof_material["B"]  # noqa: N806
        clamp = MAX_SCALED_POTENTIAL
        mu = B + self.kT * np.clip((mu - B) / self.kT, -clamp, clamp)
        return kirchhoff(mu, self._dof_material["A"], B, self.kT) / self._w_scale

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
        self.set_phi(other.phi_V)
        self.state.converged_phi = other.state.converged_phi

    def initial_guess(self) -> None:
        """omega from mu_0 linear in x: continuous mu, electrode values exact.

        In 2D, mu_0(x) is the exact 1D solution of the laterally averaged layer stack (layers
        and full-width bottlenecks; grains, GBs and defects ignored) when it exists: a cheap,
        legitimate start for layered separators. 1D always starts from the straight line, so
        the 1D FEM verification stays independent of the exact solver.
        """
        layered = discretisation_for(self.mesh).layered_start(self)
        if layered is not None:
            mu0 = fem.Function(self.V)
            mu0.x.array[:] = layered  # columns onto the stack
            self.set_from_mu(mu0)
            return
        # mu linear through the thickness, continuous everywhere. (The ionic shape w would put
        # the whole drop into strongly blocking bottleneck strips.)
        xi = self.V.tabulate_dof_coordinates()[:, 0] / self.length
        mu_c, mu_a = (float(self._mu_electrode[t].value) for t in (CATHODE, ANODE))
        self.omega.x.array[:] = self._omega_of_mu(mu_c + (mu_a - mu_c) * xi)
        self.omega.x.scatter_forward()

    @cached_property
    def layered_profile(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(x (m), mu (eV)) of the exact 1D solution of the layer stack, or None when there
        is none (computed once)."""
        from fem_sse.transport.exact1d import solve_exact

        try:
            x, mu = solve_exact(self.config.stack_1d()).profile()
        except Exception as exc:  # noqa: BLE001 - any failure just means no guess
            log.info("no exact 1D initial guess (%s); mu linear in x", exc)
            return None
        return np.asarray(x), np.asarray(mu)

    # -- residual and Jacobian ---------------------------------------------------------------
    def residual(self) -> PETSc.Vec:
        """F(omega) at the current state and parameters, assembled into the problem's vector
        (returned; it is overwritten by the next call)."""
        return _assemble_into(self._b, self._F)

    def residual_vector(self) -> PETSc.Vec:
        """The vector :meth:`residual` assembles into, as the last call (or a solve) left it."""
        return self._b

    def residual_norm(self) -> float:
        """|F(omega)| (l2, scaled units); F stays in :meth:`residual`'s vector."""
        return self.residual().norm()

    def jacobian(self) -> PETSc.Mat:
        """dF/domega at the current state, assembled into the problem's matrix (returned)."""
        self._A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(self._A, self._J)
        self._A.assemble()
        return self._A

    def anode_flux_gradient(self, out: PETSc.Vec | None = None) -> PETSc.Vec:
        """d(anode flux / w_scale)/d(omega) assembled into ``out`` (a new vector when None)."""
        if out is None:
            out = compat.create_vector(self._anode_flux_gradient)
        return _assemble_into(out, self._anode_flux_gradient)

    def error_indicators(self) -> fem.Function:
        """Residual-based error indicator per cell (DG0), squared
        (:func:`fem_sse.transport.forms.indicator_form`)."""
        dx, _, ds = self._measures()
        form = indicator_form(self.coefficients, self.electronic, ufl.TestFunction(self.Q),
                              dx, ds)
        eta = fem.Function(self.Q, name="error_indicator")
        dolfinx.fem.petsc.assemble_vector(eta.x.petsc_vec, self._form("error_indicator", form))
        eta.x.petsc_vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        eta.x.scatter_forward()
        return eta

    # -- derived quantities ------------------------------------------------------------------
    def electronic_current(self) -> float:
        """Electronic current leaving through the anode (A/m^2 in 1D, A/m in 2D)."""
        local = fem.assemble_scalar(self._anode_flux)
        return self._w_scale * self.comm.allreduce(local, op=MPI.SUM)

    def ionic_current(self) -> float:
        """Ionic current through the separator, Phi * G (A/m^2 in 1D)."""
        return float(self._phi.value) * self.conductance

    def electrode_flux(self, tag: int) -> ufl.Form:
        """Outward j_eh . n / w_scale on the electrode ``tag`` (a UFL form; times w_scale, the
        outward electronic current: A/m^2 in 1D, A/m in 2D)."""
        return self.electronic.electrode_flux[tag]

    def ionic_potential(self):
        """eta_i (eV) = Phi w as a UFL expression."""
        return self._phi * self.w

    def current_densities(self) -> tuple:
        """UFL j_Li and j_eh (A/m^2) of the current state."""
        phi = self._drift * self._phi
        j_li = -self.fields["sigma_li"] * phi * ufl.grad(self.w)
        return j_li, self._w_scale * self.electronic.flux

    def kirchhoff_function(self) -> fem.Function:
        """W (A/m) in the DG space: linear per cell (DG1), so a mu_Li0 jump of eV is a zero
        crossing inside a cell; what the mechanics should be given (``kirchhoff=``)."""
        W = fem.Function(self.V, name="W")  # noqa: N806
        W.x.array[:] = self._w_scale * self.omega.x.array
        return W

    def mu_function(self) -> fem.Function:
        """mu_Li0 (eV) interpolated into the DG space."""
        mu = fem.Function(self.V, name="mu_Li0")
        mu.x.array[:] = mu_from_kirchhoff(self._w_scale * self.omega.x.array,
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
    """:meth:`TransportProblem.error_indicators` (the adaptive loop's marking)."""
    return problem.error_indicators()


def _assemble_into(vec: PETSc.Vec, form) -> PETSc.Vec:
    """``vec`` zeroed, the compiled linear ``form`` assembled into it, ghosts summed."""
    with vec.localForm() as loc:
        loc.set(0.0)
    dolfinx.fem.petsc.assemble_vector(vec, form)
    vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return vec
