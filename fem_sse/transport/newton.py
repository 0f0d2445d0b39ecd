"""The nonlinear solves of the transport problem: Newton, continuation, galvanostatic operation.

:class:`NonlinearSolves` is mixed into :class:`fem_sse.transport.problem.TransportProblem`, which
provides the discretisation it works on: the state ``omega`` (and its PETSc vector), the
constants ``phi``, ``drift``, ``mu_cathode`` and ``mu_anode``, the residual and Jacobian
(``_residual_norm`` into ``_b``, ``_assemble_jacobian`` into ``_A``, ``_linear_solve``), the
anode flux forms and ``electronic_current``, ``initial_guess`` and ``conductance``.

* :meth:`NonlinearSolves.newton`: damped Newton on omega at fixed Phi;
* :meth:`NonlinearSolves.solve_potentiostatic`: Newton, then continuation in Phi, in the
  electrode window and in the drift strength;
* :meth:`NonlinearSolves.bordered_newton`: Newton on (omega, Phi) with the current constraint;
* :func:`solve_transport`: galvanostatic or potentiostatic operation on one mesh (the order of
  the strategies is in its docstring and in docs/model.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dolfinx.fem.petsc
import numpy as np
from petsc4py import PETSc

from fem_sse import compat
from fem_sse.errors import ConvergenceError

if TYPE_CHECKING:
    from fem_sse.transport.problem import TransportProblem

__all__ = ["NewtonReport", "NonlinearSolves", "solve_transport"]

log = logging.getLogger(__name__)

_ROUND_OFF_STEP = 1e-12  # a Newton correction this small (relative, max norm) is converged
# A line search that cannot lower the residual along a correction this small (relative, max
# norm) has met the residual's round-off floor: where the drift and diffusion parts of j_eh
# cancel (bench/stress1d.py: 1e2-1e12 times the current) it lies far above 1e-9 of the
# start, so the state is accepted. 1D results are checked against the exact solution after.
_STAGNATION_STEP = 1e-9
# Budget of one continuation, in Newton iterations (taken and failed steps): a healthy one needs
# a few hundred at most (the paper's cases: <= 515 over a whole adaptive run); one that creeps
# at the smallest step would otherwise run for ~1e5 steps (a hang).
_MAX_CONTINUATION_ITERATIONS = 1000


@dataclass
class NewtonReport:
    """What one nonlinear solve did."""

    iterations: int = 0
    residuals: list[float] = field(default_factory=list)
    continuation_steps: int = 0


class NonlinearSolves:
    """Newton and continuation on a transport problem (a mixin; see the module docstring)."""

    def current_slope(self) -> float:
        """d(electronic current)/dPhi along the solution branch, A/V (per m^2 in 1D).

        The tangent of the converged state: J d(omega)/dPhi = -dF/dPhi (one linear solve with
        the Jacobian; dF/dPhi by a difference, F being nearly linear in Phi), then the change
        of the anode current along it. The galvanostatic iteration takes Newton steps in Phi
        with it instead of secant steps, which overshoot where a jump forms.
        """
        phi = float(self.phi.value)
        x = self.omega.x.petsc_vec
        self._residual_norm()
        f0 = self._b.copy()
        d_phi, _ = self._minus_dF_dphi(phi, f0)
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

    def _minus_dF_dphi(self, phi: float, f_omega) -> tuple[float, float]:  # noqa: N802
        """-dF/dPhi at (omega, Phi) into ``self._b``: a forward difference against F at (omega,
        Phi), given in ``f_omega`` (F is nearly linear in Phi). Phi is left as it was.

        Returns:
            (the step dPhi (V), the electronic current at Phi + dPhi and the same omega).
        """
        d_phi = 1e-6 * max(abs(phi), 1e-9)
        self.phi.value = phi + d_phi
        self._residual_norm()
        i_e_shift = self.electronic_current()
        self.phi.value = phi
        self._b.axpy(-1.0, f_omega)
        self._b.scale(-1.0 / d_phi)
        return d_phi, i_e_shift

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
                    full = dx_vec.norm(PETSc.NormType.NORM_INFINITY) / max(size, 1e-300)
                    log.debug("Newton line search failed: residual %.3g (start %.3g), step "
                              "%.3g of the state", norm, self._reference_norm, full)
                    if norm <= floor or full <= _STAGNATION_STEP:
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
            max_iterations: iteration budget (``solver.max_newton_iterations`` caps it).

        Returns:
            (Phi, report), with omega and ``self.phi`` at the solution: the Newton step is at
            round-off level or the residual 1e-11 of its start, and g within the tolerance of
            :func:`_current_converged`. Not recorded as a converged state (a potentiostatic
            solve at the returned Phi does that, in 0-1 iterations).

        Raises:
            ConvergenceError: when the iteration stalls or the budget runs out; omega and Phi
                are then restored to the start.
        """
        cap = self.config.solver.max_newton_iterations
        max_iterations = min(max_iterations, cap) if cap else max_iterations
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
                d_phi, i_e_shift = self._minus_dF_dphi(phi, f_omega)
                self._b.copy(f_phi)
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
                    backup.copy(x)
                    self.omega.x.scatter_forward()
                    self.phi.value = phi
                    full = (d_omega.norm(PETSc.NormType.NORM_INFINITY)
                            / max(x.norm(PETSc.NormType.NORM_INFINITY), 1e-300))
                    if (full <= _STAGNATION_STEP and abs(step_phi) <= _STAGNATION_STEP * phi
                            and _current_converged(g, i_e, current)
                            and 0.0 < phi <= (1.0 + 1e-9) * current / g_cond):
                        return phi, report  # the round-off floor (see _STAGNATION_STEP)
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
        from fem_sse.transport.diagnosis import residual_peak

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
    best, stalled = np.inf, 0
    for _ in range(80):
        if r > 0.0:
            hi, r_hi = phi, r
        else:
            lo, r_lo = phi, r
        i_e = electronic_current()
        log.debug("galvanostatic: Phi = %.10g V, current residual = %.4g", phi, r)
        if _current_converged(r, i_e, current):
            return phi
        best, stalled = (abs(r), 0) if abs(r) < 0.5 * best else (best, stalled + 1)
        if stalled >= 4 and abs(r) <= 1e-9 * current:
            # r no longer falls: what is left is the round-off of I_e (with 1 - t_Li ~ 1e-6
            # it can exceed 1e-9 I_e), 1e-9 of the applied current at most; checked against
            # the exact solution in 1D
            log.info("galvanostatic: current residual %.3g A at its round-off floor", r)
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
