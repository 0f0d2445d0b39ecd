"""Galvanostatic and potentiostatic operation of a transport problem on one mesh.

Galvanostatic operation fixes the total current I through the anode; Phi (V) is the one global
unknown that makes Phi G + I_e(Phi) = I (model.md section 1). :func:`solve_transport` tries,
in order: Newton on (omega, Phi) from a converged neighbouring state
(:func:`~fem_sse.transport.newton.bordered_newton`), a potentiostatic solve at the Phi of an
all-ionic current then the bordered Newton from there, and last the bracketed root search on
Phi (:func:`_galvanostatic_phi`), which solves the transport problem at every trial Phi.
Works on any :class:`~fem_sse.transport.newton.NonlinearProblem`.
"""

from __future__ import annotations

import logging

import numpy as np

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport.continuation import solve_potentiostatic
from fem_sse.transport.newton import (
    NonlinearProblem,
    bordered_newton,
    current_converged,
    current_slope,
)
from fem_sse.transport.results import TransportSolve

__all__ = ["solve_transport"]

log = logging.getLogger(__name__)


def solve_transport(problem: NonlinearProblem) -> TransportSolve:
    """Solve galvanostatic or potentiostatic operation on ``problem``'s mesh.

    The strategies and their order are in the module docstring. The first solve on a problem
    (no scaling chosen yet, ``problem.state.scaled`` false) scales W by the applied current
    and starts from the initial guess; a problem without a start Phi
    (``problem.state.phi_known`` false) starts from an all-ionic current.

    Returns:
        :class:`~fem_sse.transport.results.TransportSolve`: t_li, one_minus_t_li, j_ionic,
        j_electronic (A/m^2), ionic_potential_drop (V), newton_iterations (all, bordered
        included), bordered_iterations, outer_iterations (potentiostatic solves).
    """
    cell = problem.config.cell
    area = problem.area  # the cathode: 1 in 1D, its length (m per unit depth) in 2D
    g = problem.conductance
    if cell.galvanostatic:
        current = cell.current_density * area
        phi = problem.parameters.phi_V if problem.state.phi_known else current / g
    else:
        phi = cell.ionic_potential_drop
        current = phi * g
    if not problem.state.scaled:
        problem.set_scale(current / area * problem.length)
        problem.initial_guess()
    iterations = 0
    outer = 0
    bordered = 0

    def bordered_step(phi_k: float) -> float:  # the new Phi, or phi_k (state kept) on failure
        nonlocal iterations, bordered
        try:
            phi_new, report = bordered_newton(problem, phi_k, current)
        except ConvergenceError as exc:
            log.info("bordered Newton failed (%s); root search on Phi", exc)
            iterations += exc.diagnosis.iterations or 0
            return phi_k
        iterations += report.iterations
        bordered += report.iterations
        return phi_new

    def residual(phi_k: float) -> float:
        nonlocal iterations, outer
        # the first solve may start far away (default initial guess): a larger Newton budget
        budget = 200 if outer == 0 else 30
        iterations += solve_potentiostatic(problem, phi_k, max_iterations=budget).iterations
        outer += 1
        return phi_k * g + problem.electronic_current() - current

    def slope() -> float:  # d(residual)/dPhi (A/V) at the last solution
        return g + current_slope(problem)

    try:
        if cell.galvanostatic and problem.state.converged_phi is not None:
            phi = bordered_step(phi)
        r = residual(phi)
        if cell.galvanostatic:
            if not current_converged(r, problem.electronic_current(), current):
                phi_new = bordered_step(phi)
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
    return TransportSolve(j_i / (j_i + j_e), j_e / (j_i + j_e), j_i, j_e,
                          problem.parameters.phi_V, iterations, bordered, outer)


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
        if current_converged(r, i_e, current):
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
                "window; the exact solver (1D) resolves it", Diagnosis(
                    stage="galvanostatic iteration on Phi", phi_bracket_V=[lo, hi],
                    current_residual_A=r, good_state=True))
        last = (phi, r)
        phi = candidate
        r = residual(phi)
    raise ConvergenceError("galvanostatic iteration on Phi did not converge",
                           Diagnosis(stage="galvanostatic iteration on Phi",
                                     phi_bracket_V=[lo, hi], current_residual_A=r,
                                     good_state=True))
