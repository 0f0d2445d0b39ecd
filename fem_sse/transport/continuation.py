"""Potentiostatic solves: Newton, then continuation in Phi, the electrode window or the drift.

A continuation varies one field of the problem's
:class:`~fem_sse.transport.parameters.TransportParameters` from an easy problem (s = 0) to
the problem (s = 1) with adaptive steps, each solved by :func:`fem_sse.transport.newton.newton`
from the previous one. Works on any :class:`~fem_sse.transport.newton.NonlinearProblem`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport.newton import NewtonReport, NonlinearProblem, newton
from fem_sse.transport.parameters import TransportParameters

__all__ = ["continuation", "solve_potentiostatic"]

log = logging.getLogger(__name__)

# Budget of one continuation, in Newton iterations (taken and failed steps): a healthy one needs
# a few hundred at most (the paper's cases: <= 515 over a whole adaptive run); one that creeps
# at the smallest step would otherwise run for ~1e5 steps (a hang).
_MAX_CONTINUATION_ITERATIONS = 1000


def solve_potentiostatic(problem: NonlinearProblem, phi: float,
                         max_iterations: int = 30) -> NewtonReport:
    """Solve for omega at ionic potential drop ``phi`` (V); continuation when needed.

    The solution is also kept as the last good state (``problem.state.last_converged``) that
    a later failure (another Phi of the galvanostatic iteration) falls back to.
    """
    report = _solve_at(problem, phi, max_iterations)
    problem.state.last_converged = (phi, problem.omega.x.array.copy())
    problem.state.converged_phi = phi
    return report


def _strategies(problem: NonlinearProblem, phi: float) -> list:
    """(name, parameters at s, restart from the initial guess) of each continuation, in
    order: in Phi from the last converged state (when there is one), in the electrode window
    opened from its midpoint (mu uniform, W(mu) nearly the solution), and last in the drift
    strength from the drift-free problem. (Window before drift: over the 20 paper cases it
    needs fewer linear solves, e.g. 329 instead of 529 on Fig. 5b.)"""
    target = TransportParameters(phi, 1.0, 1.0)
    phi0 = problem.state.converged_phi
    strategies = [("electrode window", lambda s: replace(target, window=s), True),
                  ("drift strength", lambda s: replace(target, drift=s), False)]
    if phi0 is not None and phi0 != phi:
        strategies.insert(0, ("ionic potential drop",
                              lambda s: replace(target, phi_V=phi0 + s * (phi - phi0)), False))
    return strategies


def _solve_at(problem: NonlinearProblem, phi: float, max_iterations: int) -> NewtonReport:
    """:func:`solve_potentiostatic` without the bookkeeping: damped Newton from the current
    state first (``max_iterations``: from a converged neighbouring state it needs a handful,
    from the default initial guess up to ~100), then the continuations of
    :func:`_strategies`.

    Raises:
        ConvergenceError: with the stage and fraction reached by every strategy.
    """
    problem.set_parameters(replace(problem.parameters, phi_V=phi, drift=1.0))
    saved = problem.omega.x.array.copy()
    try:
        return newton(problem, max_iterations=max_iterations)
    except ConvergenceError as first:
        log.info("Newton failed at Phi = %.4g V (%s); continuation", phi, first)
        failures = [f"Newton: {first}"]
        attempts = [Diagnosis(stage="Newton").merged(first.diagnosis)]
    best = None  # the continuation that got furthest: its last converged state
    for name, parameters_at, restart in _strategies(problem, phi):
        if restart:
            problem.initial_guess()
        else:
            problem.omega.x.array[:] = saved
        try:
            return continuation(problem, name, parameters_at)
        except ConvergenceError as exc:
            log.info("continuation in the %s failed (%s)", name, exc)
            failures.append(str(exc))
            attempts.append(Diagnosis(stage=f"continuation in the {name}").merged(exc.diagnosis))
            reached = exc.diagnosis.fraction
            if reached is not None and (best is None or reached > best[1]):
                best = (attempts[-1].stage, reached, problem.omega.x.array.copy())
    raise _failure(problem, f"no convergence at Phi = {phi:.6g} V: " + "; ".join(failures),
                   phi, attempts, best)


def _failure(problem: NonlinearProblem, message: str, phi: float, attempts: list,
             best) -> ConvergenceError:
    """The error of a failed solve at Phi (V), with the last good state in omega.

    The diagnosis has the last residuals, the stage and fraction of the continuation that
    got furthest (its converged state is kept in omega: the last good state), every
    attempt, and where the residual of the full problem concentrates in that state (the
    one place that reads more than the protocol: the mesh and regions of a TransportProblem).
    """
    from fem_sse.transport.diagnosis import residual_peak

    last_converged = problem.state.last_converged
    last = attempts[-1].residuals or []
    diagnosis = Diagnosis(phi_V=phi, last_residuals=last, attempts=attempts,
                          good_state=best is not None or last_converged is not None)
    if last_converged is not None:  # a full solution at another Phi: the best state
        good_phi, omega = last_converged
        problem.omega.x.array[:] = omega
        diagnosis.update(stage="galvanostatic iteration on Phi", good_state_phi_V=good_phi)
    elif best is not None:
        stage, reached, omega = best
        problem.omega.x.array[:] = omega
        diagnosis.update(stage=stage, fraction_reached=reached,
                         last_residuals=next(a.residuals or [] for a in attempts
                                             if a.stage == stage))
    else:
        diagnosis.stage = attempts[-1].stage
    diagnosis.residual_peak = residual_peak(problem)
    return ConvergenceError(message, diagnosis)


def continuation(problem: NonlinearProblem, name: str, parameters_at) -> NewtonReport:
    """Newton along ``parameters_at(s)`` (a TransportParameters), s = 0 -> 1, with adaptive
    steps (s = 1 is the problem; its parameters are set at the end, converged or not).

    Raises:
        ConvergenceError: naming the parameter and the fraction reached when steps stall.
    """
    total = NewtonReport()
    problem.state.reference_norm = None
    s, step, last = 0.0, 0.05, []
    try:
        problem.set_parameters(parameters_at(0.0))
        try:
            total.iterations += newton(problem, max_iterations=200).iterations
        except ConvergenceError as exc:
            raise ConvergenceError(f"continuation in the {name} failed at its start ({exc})",
                                   Diagnosis(parameter=name).merged(exc.diagnosis)) from None
        spent = 0  # Newton iterations of the steps
        while s < 1.0 and spent < _MAX_CONTINUATION_ITERATIONS:
            trial = min(1.0, s + step)
            saved = problem.omega.x.array.copy()
            problem.set_parameters(parameters_at(trial))
            try:
                rep = newton(problem, max_iterations=25)
            except ConvergenceError as exc:
                problem.omega.x.array[:] = saved
                last = exc.diagnosis.residuals or []
                spent += 25 if exc.diagnosis.iterations is None else exc.diagnosis.iterations
                step *= 0.5
                if step < 1e-5:
                    raise ConvergenceError(f"continuation in the {name} stalled at "
                                           f"{s:.5g} of the way",
                                           Diagnosis(parameter=name, fraction=s,
                                                     attempted=trial, residuals=last)) from None
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
                                   Diagnosis(parameter=name, fraction=s, residuals=last))
    finally:
        problem.set_parameters(parameters_at(1.0))
    return total
