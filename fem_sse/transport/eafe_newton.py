"""Newton, the pseudo-transient continuation and Newton in the Kirchhoff variable for the EAFE
scheme in 1D and 2D (:mod:`fem_sse.transport.eafe`, :mod:`fem_sse.transport.eafe2d`).

They only see node residuals, the Jacobian's rows, a current functional and the ionic
conductance. Newton works on (mu at the nodes, Phi) with the current constraint Phi G + I_e = I
(galvanostatic; block elimination with two solves of one factorisation, as
:meth:`fem_sse.transport.newton.NonlinearSolves.bordered_newton`), or on mu alone
(potentiostatic), with a backtracking line search on the row-scaled residual (volts) and the
current residual divided by G (volts).
"""

from __future__ import annotations

import logging

import numpy as np
from mpi4py import MPI

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport.eafe import _FLOOR_KT, _NOISE_KT, _STALL_TOL_KT, _STEP_TOL_KT, EafeProblem
from fem_sse.transport.eafe_relax import relax_outliers

__all__ = ["continuation_then_newton", "kirchhoff_newton", "kirchhoff_update", "newton",
           "pseudo_transient"]

log = logging.getLogger(__name__)

_Y_CLIP = 300.0  # |mu - B| / kT clipped in the Kirchhoff update (sinh stays finite)
_MAX_STEP_EV = 1.0  # a Newton correction is cut to this (eV) before the line search
_PTC_PATIENCE = 100  # 1D: pseudo-transient steps before its progress is judged ...
_PTC_PROGRESS = 0.1  # ... by its best merit against its first (below: progress)


def _merit(problem, mu, phi, diag, current):
    """(merit (V), residual (A/m^2 rows), current residual g (A/m^2) or None)."""
    res = problem.residual(mu, phi)
    scaled = res / diag
    if current is None:
        return problem._norm(scaled), res, None
    g = phi * problem.conductance + problem.electronic_current(mu, phi) - current
    return float(np.hypot(problem._norm(scaled), g / problem.conductance)), res, g


def _step(problem: EafeProblem, mu: np.ndarray, phi: float, current: float | None,
          shift: float = 0.0):
    """One (bordered) Newton correction at (mu, Phi), of the row-scaled Jacobian plus
    ``shift`` times the identity (pseudo-transient continuation; 0: Newton).

    Returns:
        (correction of mu (local dofs, eV), of Phi (V), the row diagonal D, the merit (V),
        the bordered pieces for :func:`_simplified`: None at fixed Phi).
    """
    res, diag, values, dres_dphi = problem.residual(mu, phi, jacobian=True)
    m0 = _merit(problem, mu, phi, diag, current)[0]
    n = problem.n_owned
    problem._factor(values, diag, shift)
    step = problem._solve(-(res / diag)[:n])
    d_phi, border = 0.0, None
    if current is not None:
        G = problem.conductance  # noqa: N806
        i_e, grad, di_dphi = problem.electronic_current(mu, phi, gradient=True)
        g = phi * G + i_e - current
        tangent = problem._solve(-(dres_dphi / diag)[:n])
        dot = problem.comm.allreduce(float(grad[:n] @ step[:n]), op=MPI.SUM)
        dot_t = problem.comm.allreduce(float(grad[:n] @ tangent[:n]), op=MPI.SUM)
        slope = G + di_dphi + dot_t
        if np.isfinite(slope) and slope > 0.0:
            d_phi = -(g + dot) / slope
            step = step + d_phi * tangent
            border = (grad, tangent, slope)
        else:  # far from the solution the linearised current can fall with Phi: keep Phi
            log.debug("EAFE Newton: d(current)/dPhi = %.3g A/V; a step at fixed Phi", slope)
    return step, d_phi, diag, m0, border


def _simplified(problem: EafeProblem, mu: np.ndarray, phi: float, current: float | None,
                diag: np.ndarray, border) -> tuple[np.ndarray, float]:
    """The simplified Newton correction at a trial (mu, Phi): the last Jacobian (still
    factorised) applied to the trial's residual, bordered as in :func:`_step` (eV, V)."""
    res = problem.residual(mu, phi)
    n = problem.n_owned
    step = problem._solve(-(res / diag)[:n])
    if border is None:
        return step, 0.0
    grad, tangent, slope = border
    g = phi * problem.conductance + problem.electronic_current(mu, phi) - current
    dot = problem.comm.allreduce(float(grad[:n] @ step[:n]), op=MPI.SUM)
    d_phi = -(g + dot) / slope
    return step + d_phi * tangent, d_phi


def _size(problem: EafeProblem, step: np.ndarray, d_phi: float) -> float:
    """2-norm (eV) of a correction of (mu, Phi) over the owned nodes (Phi counts as one)."""
    return float(np.hypot(problem._norm(step), d_phi))


def kirchhoff_update(problem: EafeProblem, mu: np.ndarray, step: np.ndarray,
                     lam: float, node_b: np.ndarray | None = None) -> np.ndarray:
    """mu (eV) after the step ``lam * step`` taken in each node's Kirchhoff variable
    z = sinh((mu - B_n)/kT) (B_n: :meth:`EafeProblem.node_B`): z + lam z'(mu) step, mapped
    back. To first order it is the Newton step; a correction of 7e5 eV at a node inside a front
    (where the Jacobian is far from diagonally dominant: a diagonal of 1.2e-7 against 3.3e-6
    off it, cases/2d/rough_stack.toml) becomes a change of a few kT (logarithmic damping)."""
    kT = problem.kT
    b = problem.node_B() if node_b is None else node_b  # (the caller's, computed once)
    y = np.clip((mu - b) / kT, -_Y_CLIP, _Y_CLIP)
    out = b + kT * np.arcsinh(np.sinh(y) + lam * np.cosh(y) * step / kT)
    return np.where(problem.fixed, mu + lam * step, out)


def newton(problem: EafeProblem, mu: np.ndarray, phi: float, current: float | None,
           max_iterations: int = 60, relax: bool = False,
           natural: bool = False, kirchhoff: bool = False) -> tuple[np.ndarray, float, int]:
    """Damped Newton on mu (and Phi when ``current`` (A/m^2) is given: galvanostatic).

    Converged when the row-scaled residual (and the current residual / G) is below 1e-9 kT
    (V: every node within that of its balance), when the largest correction of mu is below
    1e-8 kT (and Phi's below 1e-12 of Phi), or when the line search stalls with corrections
    below 1e-6 kT or with the merit below 1e-6 kT (the round-off floor of the residual; the
    exact check judges the result); the first two end with one more full step.
    ``solver.max_newton_iterations`` caps ``max_iterations``. With ``kirchhoff``, the trial
    states are :func:`kirchhoff_update` (from a full step) instead of mu + lambda step (from a
    step cut to 1 eV). With ``relax``, every
    iteration starts with :func:`relax_outliers` (the nodes whose own correction would exceed
    1 eV solved exactly, inactive near the solution): one such node otherwise cuts the whole
    step to 1e-3 (2D: free nodes in the anode plane beside a partial contact).

    The line search accepts a damping lambda by the row-scaled merit's decrease (Armijo), or
    with ``natural`` by the natural monotonicity test (Deuflhard): the simplified correction
    at the trial (the same factorised Jacobian) is shorter than (1 - lambda/4) times the
    correction (2-norms, eV). In 2D the merit cannot serve: its diagonal changes by
    e^(dmu/kT) from one iterate to the next, and it rose from 0.02 to 41 V through steps that
    each decreased it at fixed scaling (the edge-crack case). In 1D the merit is kept: with
    the natural test, stack 92 of the 200 seeded ones (seed 16) failed and the slowest took
    40 s; with the merit all 187 with a steady state are certified, the slowest in 2.4 s
    (bench/results/stress1d_eafe_s9.json).

    Returns:
        (mu (eV, local nodes), Phi (V), iterations).

    Raises:
        ConvergenceError: stalled line search or budget exhausted.
    """
    cap = problem.config.solver.max_newton_iterations
    max_iterations = min(max_iterations, cap) if cap else max_iterations
    kT = problem.kT
    history = []
    node_b = problem.node_B() if kirchhoff else None
    for it in range(1, max_iterations + 1):
        if relax:
            mu = relax_outliers(problem, mu, phi, sweeps=1)
        try:
            step, d_phi, diag, m0, border = _step(problem, mu, phi, current)
        except ConvergenceError as exc:
            exc.diagnosis.update(iterations=it, merit_V=history[-5:])
            raise
        history.append(m0)
        size = problem._max(step)
        small = size <= _STEP_TOL_KT * kT and abs(d_phi) <= 1e-12 * max(abs(phi), 1e-30)
        if small or m0 <= _FLOOR_KT * kT:
            # converged: one last full step (quadratic convergence takes the state to the
            # residual's round-off, so that 1 and N ranks agree), kept unless it is worse
            trial_mu, trial_phi = mu + step, phi + d_phi
            if _merit(problem, trial_mu, trial_phi, diag, current)[0] <= m0:
                return trial_mu, trial_phi, it
            return mu, phi, it
        lam = 1.0 if kirchhoff or size <= 0 else min(1.0, _MAX_STEP_EV / size)
        norm0, ok, m1 = _size(problem, step, d_phi), False, np.inf
        while lam >= (1e-6 if kirchhoff else 1e-4):
            trial_mu = (kirchhoff_update(problem, mu, step, lam, node_b) if kirchhoff
                        else mu + lam * step)
            trial_phi = phi + lam * d_phi
            m1 = _merit(problem, trial_mu, trial_phi, diag, current)[0]
            if np.isfinite(m1) and natural:  # natural monotonicity (docstring)
                bar = _size(problem, *_simplified(problem, trial_mu, trial_phi, current, diag,
                                                  border))
                ok = bar <= (1.0 - 0.25 * lam) * norm0
            elif np.isfinite(m1):
                ok = m1 <= (1.0 - 1e-4 * lam) * m0
            if ok:
                break
            lam *= 0.5
        if not natural:  # the merit's last trial is taken when it did not rise
            ok = bool(np.isfinite(m1) and m1 <= m0)
        if not ok:
            if size <= _STALL_TOL_KT * kT or m0 <= _NOISE_KT * kT:  # round-off floor
                log.debug("EAFE Newton: line search failed at the round-off floor (merit %.3g "
                          "V, step %.3g eV): accepted", m0, size)
                return mu, phi, it
            raise ConvergenceError("EAFE Newton: line search failed", Diagnosis(
                iterations=it, merit_V=history[-5:], step_eV=size))
        log.debug("EAFE Newton %d: step %.3g eV x %.3g, Phi %.10g V, merit %.3g V", it, size,
                  lam, trial_phi, m1)
        mu, phi = trial_mu, trial_phi
    raise ConvergenceError(f"EAFE Newton did not converge in {max_iterations} iteration(s)",
                           Diagnosis(iterations=max_iterations, merit_V=history[-5:]))


def pseudo_transient(problem: EafeProblem, mu: np.ndarray, phi: float,
                     current: float | None, max_iterations: int = 300, natural: bool = False,
                     patience: int | None = None):
    """Pseudo-transient continuation: steps of (D^-1 J + tau I) with tau from 1 down by the
    merit's decrease (switched evolution relaxation), until tau < 1e-6 or a
    Newton solve tried every 25 steps converges, or the merit stops falling below 1e-6 kT (V)
    for 20 steps (its round-off floor); Newton finishes (``natural``: its line search,
    :func:`newton`). With ``patience`` (steps; the 1D solve's :func:`continuation_then_newton`
    gives 100) it counts as stalled when, after that many steps, its best merit is not below a
    tenth of its first: on stack 51 of bench/stress1d.py (seed 17) the merit wandered between
    4e-5 and 7e-4 V for 300 steps on each refinement (12 s for 131 cells) before Newton in
    the Kirchhoff variable converged from the start in one step.

    Why: where the start is far from the discrete state (an exact state whose segment ends
    disagree with its profile, or a jump the mesh puts between other nodes), Newton's
    correction follows a nearly singular Jacobian (drift-dominated cells couple their nodes
    by factors e^d) and the line search fails; the shift bounds the correction by the
    residual (in volts) and relaxes towards the steady state.

    Returns:
        (mu (eV), Phi (V), iterations) near the solution (then given to :func:`newton`).

    Raises:
        ConvergenceError: tau grows beyond 1e6 or the budget runs out
            (``solver.max_newton_iterations`` caps it too).
    """
    cap = problem.config.solver.max_newton_iterations
    max_iterations = min(max_iterations, cap) if cap else max_iterations
    tau, it, previous, first = 1.0, 0, None, None
    best = (np.inf, 0)  # the lowest merit (V) and its iteration
    for it in range(1, max_iterations + 1):
        step, d_phi, diag, m0, _ = _step(problem, mu, phi, current, shift=tau)
        first = m0 if first is None else first
        if patience and it > patience and best[0] > _PTC_PROGRESS * first:
            break  # stalled (docstring)
        if previous is not None:  # SER: tau follows the merit, each at its own scaling
            tau = min(tau * m0 / max(previous, 1e-300), 1e3)
            if tau < 1e-6:
                return mu, phi, it
            step, d_phi, diag, m0, _ = _step(problem, mu, phi, current, shift=tau)
        size = problem._max(step)
        lam = min(1.0, _MAX_STEP_EV / size) if size > 0 else 1.0
        trial_mu, trial_phi = mu + lam * step, phi + lam * d_phi
        m1 = _merit(problem, trial_mu, trial_phi, diag, current)[0]
        if not np.isfinite(m1) or m1 > 10.0 * m0 or (current is not None and trial_phi <= 0):
            tau *= 10.0
            previous = None
            if tau > 1e6:
                break
            continue
        mu, phi, previous = trial_mu, trial_phi, m0
        if m0 < 0.99 * best[0]:
            best = (m0, it)
        elif it - best[1] >= 20 and best[0] <= _NOISE_KT * problem.kT:
            log.debug("EAFE PTC: no progress below %.3g V: the round-off floor", best[0])
            return mu, phi, it
        if it % 25 == 0:  # Newton may already converge from here
            try:
                return (*newton(problem, mu, phi, current, max_iterations=8,
                                natural=natural)[:2], it)
            except ConvergenceError:
                pass
        log.debug("EAFE PTC %d: tau %.3g, step %.3g eV, merit %.3g V", it, tau, size, m0)
    raise ConvergenceError("EAFE pseudo-transient continuation stalled",
                           Diagnosis(iterations=it, tau=tau, merit_V=previous))


#: iterations of :func:`kirchhoff_newton` (more than Newton's default 60: it is the last
#: strategy tried, from a start the others could not converge from)
KIRCHHOFF_ITERATIONS = 200


def kirchhoff_newton(problem: EafeProblem, mu: np.ndarray, phi: float, current: float | None,
                     natural: bool = False) -> tuple[np.ndarray, float, int]:
    """:func:`newton` with its steps in the Kirchhoff variable (:func:`kirchhoff_update`) and
    :data:`KIRCHHOFF_ITERATIONS`: the last resort of the 1D and the 2D strategies
    (``natural``: the natural monotonicity test, 2D)."""
    return newton(problem, mu, phi, current, max_iterations=KIRCHHOFF_ITERATIONS,
                  natural=natural, kirchhoff=True)


def continuation_then_newton(problem: EafeProblem, start: np.ndarray, phi: float, current):
    """The pseudo-transient continuation from ``start`` then Newton; when that fails, Newton
    with its steps in the Kirchhoff variable (:func:`kirchhoff_update`) from where the
    continuation stopped, or from ``start`` when it stalled. Why: stack 141 of
    bench/stress1d.py (seed 16) reaches a merit of 2e-8 V after the continuation on its first
    refinement, where Newton's plain steps (0.06 eV at the plateau nodes, whose cells carry
    far less current than round-off) fail the line search; on stack 51 of seed 17 the
    continuation itself stalls."""
    try:
        mu, phi_p, ptc = pseudo_transient(problem, start, phi, current, patience=_PTC_PATIENCE)
    except ConvergenceError as exc:
        log.info("EAFE pseudo-transient continuation failed (%s): Newton in the Kirchhoff "
                 "variable from the start", exc)
        return kirchhoff_newton(problem, start, phi, current)
    try:
        mu_n, phi_n, iterations = newton(problem, mu, phi_p, current)
    except ConvergenceError as exc:
        log.info("EAFE Newton after the pseudo-transient continuation failed (%s): Newton "
                 "in the Kirchhoff variable", exc)
        mu_n, phi_n, iterations = kirchhoff_newton(problem, mu, phi_p, current)
    return mu_n, phi_n, iterations + ptc
