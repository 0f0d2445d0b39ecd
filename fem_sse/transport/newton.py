"""Newton on a transport problem, and Newton on (omega, Phi) for galvanostatic operation.

The solves are written against :class:`NonlinearProblem`, the small protocol that
:class:`fem_sse.transport.problem.TransportProblem` (and any other discretisation of
F(omega; Phi) = 0) implements: the unknown ``omega``, the residual and Jacobian, a linear
solve, the anode current and its gradient, the ionic conductance, a parameter record and a
solve state.

* :func:`newton`: damped Newton on omega at fixed parameters;
* :func:`bordered_newton`: Newton on (omega, Phi) with the current constraint;
* :func:`current_slope`: d(electronic current)/dPhi along the solution branch.

Continuation is in :mod:`fem_sse.transport.continuation`, galvanostatic operation
(:func:`~fem_sse.transport.galvanostatic.solve_transport`) in
:mod:`fem_sse.transport.galvanostatic`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from petsc4py import PETSc

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport import budget
from fem_sse.transport.parameters import SolveState, TransportParameters

__all__ = ["NewtonReport", "NonlinearProblem", "bordered_newton", "current_converged",
           "current_slope", "newton"]

log = logging.getLogger(__name__)

_ROUND_OFF_STEP = 1e-12  # a Newton correction this small (relative, max norm) is converged
# A line search that cannot lower the residual along a correction this small (relative, max
# norm) has met the residual's round-off floor: where the drift and diffusion parts of j_eh
# cancel (bench/stress1d.py: 1e2-1e12 times the current) it lies far above 1e-9 of the
# start, so the state is accepted. 1D results are checked against the exact solution after.
STAGNATION_STEP = 1e-9
_PREFIX = "fem_sse_transport_"  # PETSc options prefix of the Newton linear solves


@runtime_checkable
class NonlinearProblem(Protocol):
    """What the nonlinear solves need of a discretised transport problem.

    Attributes:
        config: the validated configuration (``solver.max_newton_iterations``, ``cell``).
        omega: the unknown W / w_scale (a DOLFINx Function: ``x.petsc_vec``, ``x.array``).
        conductance: ionic conductance G (A/V: per m^2 in 1D, per m of depth in 2D).
        area: cathode area (1 in 1D, m per unit depth in 2D); length: thickness L (m).
        state: the :class:`~fem_sse.transport.parameters.SolveState`.
    """

    config: object
    omega: object
    conductance: float
    area: float
    length: float
    state: SolveState

    @property
    def parameters(self) -> TransportParameters:
        """Phi (V), drift strength and electrode window of the next solve."""

    def set_parameters(self, parameters: TransportParameters) -> None:
        """Take new parameters (the constants of the forms)."""

    def set_phi(self, phi: float) -> None:
        """Phi (V), the other parameters kept."""

    @property
    def w_scale(self) -> float:
        """The scaling W = w_scale * omega (A/m)."""

    def set_scale(self, w_scale: float) -> None:
        """Change the scaling (A/m), keeping W."""

    def initial_guess(self) -> None:
        """Set omega to the default start."""

    def residual(self) -> PETSc.Vec:
        """F(omega) at the current state, assembled into the problem's vector (returned)."""

    def residual_vector(self) -> PETSc.Vec:
        """That vector, as the last assembly or solve left it."""

    def residual_norm(self) -> float:
        """|F(omega)| (l2), F left in the residual vector."""

    def jacobian(self) -> PETSc.Mat:
        """dF/domega at the current state, assembled (the problem's matrix, returned)."""

    def linear_solve(self, A, b, x, prefix: str) -> int:  # noqa: N803
        """Solve A x = b (ConvergenceError on a PETSc failure); Krylov iterations."""

    def anode_flux_gradient(self, out: PETSc.Vec | None = None) -> PETSc.Vec:
        """d(anode flux / w_scale)/d(omega), assembled into ``out`` (new when None)."""

    def electronic_current(self) -> float:
        """Electronic current through the anode (A/m^2 in 1D, A/m in 2D)."""

    def ionic_current(self) -> float:
        """Ionic current Phi G (A/m^2 in 1D, A/m in 2D)."""


@dataclass
class NewtonReport:
    """What one nonlinear solve did."""

    iterations: int = 0
    residuals: list[float] = field(default_factory=list)
    continuation_steps: int = 0


def _cap(problem: NonlinearProblem, max_iterations: int) -> int:
    """``max_iterations``, capped by ``solver.max_newton_iterations`` of the config."""
    cap = problem.config.solver.max_newton_iterations
    return min(max_iterations, cap) if cap else max_iterations


def _inf(vec) -> float:
    return vec.norm(PETSc.NormType.NORM_INFINITY)


def minus_dF_dphi(problem: NonlinearProblem, phi: float, f_omega):  # noqa: N802
    """-dF/dPhi at (omega, Phi): a forward difference against F at (omega, Phi), given in
    ``f_omega`` (F is nearly linear in Phi). Phi is left as it was.

    Returns:
        (the step dPhi (V), the electronic current at Phi + dPhi and the same omega, the
        problem's residual vector holding -dF/dPhi).
    """
    d_phi = 1e-6 * max(abs(phi), 1e-9)
    problem.set_phi(phi + d_phi)
    b = problem.residual()
    i_e_shift = problem.electronic_current()
    problem.set_phi(phi)
    b.axpy(-1.0, f_omega)
    b.scale(-1.0 / d_phi)
    return d_phi, i_e_shift, b


def current_slope(problem: NonlinearProblem) -> float:
    """d(electronic current)/dPhi along the solution branch, A/V (per m^2 in 1D).

    The tangent of the converged state: J d(omega)/dPhi = -dF/dPhi (one linear solve with
    the Jacobian; dF/dPhi by a difference, F being nearly linear in Phi), then the change
    of the anode current along it. The galvanostatic iteration takes Newton steps in Phi
    with it instead of secant steps, which overshoot where a jump forms.
    """
    phi = problem.parameters.phi_V
    x = problem.omega.x.petsc_vec
    f0 = problem.residual().copy()
    d_phi, _, rhs = minus_dF_dphi(problem, phi, f0)
    A = problem.jacobian()  # noqa: N806
    tangent = x.duplicate()
    try:
        problem.linear_solve(A, rhs, tangent, _PREFIX)
        i0 = problem.electronic_current()
        saved = x.copy()
        x.axpy(d_phi, tangent)
        problem.omega.x.scatter_forward()
        problem.set_phi(phi + d_phi)
        i1 = problem.electronic_current()
        saved.copy(x)
        saved.destroy()
    finally:
        problem.set_phi(phi)
        problem.omega.x.scatter_forward()
        tangent.destroy()
        f0.destroy()
    return (i1 - i0) / d_phi


def newton(problem: NonlinearProblem, max_iterations: int = 200, rtol: float = 1e-11,
           step_tol: float = 1e-11) -> NewtonReport:
    """Damped Newton on omega at the problem's parameters (backtracking line search on |F|).

    ``solver.max_newton_iterations`` of the config caps ``max_iterations``.

    Raises:
        ConvergenceError: when the residual stalls or the iteration budget runs out.
    """
    max_iterations = _cap(problem, max_iterations)
    state = problem.state
    report = NewtonReport()
    x = problem.omega.x.petsc_vec
    dx_vec = x.duplicate()
    backup = x.duplicate()
    norm = problem.residual_norm()
    report.residuals.append(norm)
    if state.reference_norm is None:  # the residual scale of this mesh and scaling
        state.reference_norm = max(norm, 1e-300)
    floor = 1e-9 * state.reference_norm  # round-off level: stagnation there is success
    target = max(rtol * max(norm, 1e-300), 1e-13 * state.reference_norm)
    if norm <= target:
        return report
    lam = 1.0
    try:
        for it in range(1, max_iterations + 1):
            budget.check()  # collective: every rank runs the same iterations
            b = problem.residual_vector()
            A = problem.jacobian()  # noqa: N806
            b.scale(-1.0)
            problem.linear_solve(A, b, dx_vec, _PREFIX)
            size = _inf(x)
            if _inf(dx_vec) <= _ROUND_OFF_STEP * max(size, 1e-300):
                # the correction is at round-off level (where the residual of large,
                # cancelling terms cannot fall further): take it and stop
                x.axpy(1.0, dx_vec)
                problem.omega.x.scatter_forward()
                report.iterations = it
                return report
            x.copy(backup)
            lam = min(1.0, 4.0 * lam)
            while True:  # backtracking; a step giving a non-finite residual is halved too
                backup.copy(x)
                x.axpy(lam, dx_vec)
                problem.omega.x.scatter_forward()
                trial = problem.residual_norm()
                if lam < 1e-3 or (np.isfinite(trial) and trial <= (1.0 - 1e-4 * lam) * norm):
                    break
                lam *= 0.5
            if not np.isfinite(trial) or (lam < 1e-3 and trial > norm):
                backup.copy(x)
                problem.omega.x.scatter_forward()
                full = _inf(dx_vec) / max(size, 1e-300)
                log.debug("Newton line search failed: residual %.3g (start %.3g), step "
                          "%.3g of the state", norm, state.reference_norm, full)
                if norm <= floor or full <= STAGNATION_STEP:
                    return report
                raise ConvergenceError("Newton line search failed", Diagnosis(
                    iterations=it, residuals=report.residuals[-5:]))
            norm = trial
            log.debug("Newton %d: step %.3g, residual %.4g", it, lam, norm)
            report.iterations = it
            report.residuals.append(norm)
            step = lam * _inf(dx_vec)
            if norm <= target or step <= step_tol * max(_inf(x), 1e-300):
                return report
    finally:
        dx_vec.destroy()
        backup.destroy()
    raise ConvergenceError(f"Newton did not converge in {max_iterations} iteration(s)",
                           Diagnosis(iterations=max_iterations,
                                     residuals=report.residuals[-5:]))


def current_converged(r: float, i_e: float, current: float) -> bool:
    """Whether the total-current residual r (A) is converged: 1e-9 of the electronic current
    I_e (what 1 - t_Li is made of), or round-off of the applied current I."""
    return abs(r) <= 1e-9 * max(abs(i_e), 1e-300) + 1e-15 * current


class _Bordered:
    """State of one bordered Newton solve (see :func:`bordered_newton`)."""

    def __init__(self, problem: NonlinearProblem, current: float):
        self.problem, self.current = problem, current
        x = problem.omega.x.petsc_vec
        self.d_omega, self.tangent, self.backup = x.duplicate(), x.duplicate(), x.duplicate()
        b = problem.residual_vector()
        self.f_omega, self.f_phi = b.duplicate(), b.duplicate()
        self.gradient = None

    def merit(self, phi_k: float) -> tuple[float, float, float]:
        """(sqrt(|F|^2 + (g / w_scale)^2), g (A), I_e (A)) at Phi = phi_k (set)."""
        p = self.problem
        p.set_phi(phi_k)
        norm = p.residual_norm()
        i_e = p.electronic_current()
        g = phi_k * p.conductance + i_e - self.current
        return float(np.hypot(norm, g / p.w_scale)), g, i_e

    def step(self, phi: float, g: float, i_e: float, it: int) -> float:
        """The Newton step: d_omega (stored) and the returned dPhi (V), by block elimination
        with two solves of the one factorisation of J."""
        p = self.problem
        p.residual_vector().copy(self.f_omega)  # F at (omega, Phi), from the last merit
        d_phi, i_e_shift, b = minus_dF_dphi(p, phi, self.f_omega)
        b.copy(self.f_phi)
        self.f_omega.copy(b)
        b.scale(-1.0)
        A = p.jacobian()  # noqa: N806
        p.linear_solve(A, b, self.d_omega, _PREFIX)
        p.linear_solve(A, self.f_phi, self.tangent, _PREFIX)
        self.gradient = p.anode_flux_gradient(self.gradient)
        c_a = p.w_scale * self.gradient.dot(self.d_omega)
        c_t = p.w_scale * self.gradient.dot(self.tangent)
        slope = p.conductance + (i_e_shift - i_e) / d_phi + c_t
        if not np.isfinite(slope) or slope <= 0.0:
            raise ConvergenceError("bordered Newton: current not increasing with Phi",
                                   Diagnosis(iterations=it, slope_A_per_V=slope))
        step_phi = -(g + c_a) / slope
        self.d_omega.axpy(step_phi, self.tangent)
        return step_phi

    def destroy(self) -> None:
        for vec in (self.d_omega, self.tangent, self.backup, self.f_omega, self.f_phi,
                    self.gradient):
            if vec is not None:
                vec.destroy()


def bordered_newton(problem: NonlinearProblem, phi: float, current: float,
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
        problem: the problem (omega is the start and holds the solution).
        phi: starting ionic potential drop (V).
        current: applied current I (A/m^2 in 1D, A/m in 2D).
        max_iterations: iteration budget (``solver.max_newton_iterations`` caps it).

    Returns:
        (Phi, report), with omega and the problem's Phi at the solution: the Newton step is at
        round-off level or the residual 1e-11 of its start, and g within the tolerance of
        :func:`current_converged`. Not recorded as a converged state (a potentiostatic
        solve at the returned Phi does that, in 0-1 iterations).

    Raises:
        ConvergenceError: when the iteration stalls or the budget runs out; omega and Phi
            are then restored to the start.
    """
    max_iterations = _cap(problem, max_iterations)
    x = problem.omega.x.petsc_vec
    start = (phi, x.copy())
    report = NewtonReport()
    g_cond = problem.conductance
    work = _Bordered(problem, current)
    try:
        m, g, i_e = work.merit(phi)
        if problem.state.reference_norm is None:
            problem.state.reference_norm = max(m, 1e-300)
        target = max(1e-11 * m, 1e-13 * problem.state.reference_norm)
        for it in range(1, max_iterations + 1):
            budget.check()
            step_phi = work.step(phi, g, i_e, it)
            x.copy(work.backup)
            lam = 1.0
            while True:
                work.backup.copy(x)
                x.axpy(lam, work.d_omega)
                problem.omega.x.scatter_forward()
                trial, g_trial, i_trial = work.merit(phi + lam * step_phi)
                if lam < 1e-3 or (np.isfinite(trial) and trial <= (1.0 - 1e-4 * lam) * m):
                    break
                lam *= 0.5
            if not np.isfinite(trial) or (lam < 1e-3 and trial > m):
                work.backup.copy(x)
                problem.omega.x.scatter_forward()
                problem.set_phi(phi)
                full = _inf(work.d_omega) / max(_inf(x), 1e-300)
                if (full <= STAGNATION_STEP and abs(step_phi) <= STAGNATION_STEP * phi
                        and current_converged(g, i_e, current)
                        and 0.0 < phi <= (1.0 + 1e-9) * current / g_cond):
                    return phi, report  # the round-off floor (see STAGNATION_STEP)
                raise ConvergenceError("bordered Newton: line search failed", Diagnosis(
                    iterations=it, residuals=report.residuals[-5:]))
            phi, m, g, i_e = phi + lam * step_phi, trial, g_trial, i_trial
            report.iterations = it
            report.residuals.append(m)
            log.debug("bordered Newton %d: step %.3g, Phi %.10g V, residual %.4g, "
                      "current residual %.4g", it, lam, phi, m, g)
            small = lam * _inf(work.d_omega) <= 1e-11 * max(_inf(x), 1e-300)
            if (m <= target or small) and current_converged(g, i_e, current):
                if not 0.0 < phi <= (1.0 + 1e-9) * current / g_cond:
                    # the root search brackets Phi in (0, I/G] (0 <= I_i <= I): a state
                    # outside is not the physical branch
                    raise ConvergenceError("bordered Newton: Phi outside (0, I/G]",
                                           Diagnosis(iterations=it, phi_V=phi))
                return phi, report
        raise ConvergenceError(f"bordered Newton did not converge in {max_iterations} "
                               "iteration(s)", Diagnosis(iterations=max_iterations,
                                                         residuals=report.residuals[-5:]))
    except ConvergenceError:
        start[1].copy(x)
        problem.omega.x.scatter_forward()
        problem.set_phi(start[0])
        raise
    finally:
        work.destroy()
        start[1].destroy()
