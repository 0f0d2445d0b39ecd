"""Newton, galvanostatic Phi, certification and adaptive refinement of the 2D EAFE scheme
(:mod:`fem_sse.transport.eafe2d`).

The Newton iteration, its bordered (mu, Phi) step and the pseudo-transient continuation are
the 1D ones (:mod:`fem_sse.transport.eafe_solve`): they only see node residuals, a current
functional and the ionic conductance, all per unit depth here. The first mesh starts from the
exact 1D state of the laterally averaged stack mapped column by column; a refined mesh starts
from the previous state (P1 interpolation), and from the column start again if that fails.

The adaptive loop uses the W-FEM's rules (:mod:`fem_sse.transport.adapt`: Doerfler marking with
theta = 0.7 capped at (max_cells - cells)/6 cells, Plaza refinement carrying the tags
(:mod:`fem_sse.geometry.refine2d`) of three indicators (the cells where both carriers carry
current under an ionic drop, :func:`indicators_2d`; the electronic current's spreading,
:mod:`fem_sse.transport.eafe2d_current_error`; the ionic field while its estimate is above the
tolerance), stop when 1 - t_Li, the mean front positions and the PB
potentials change by less than ``solver.tolerance`` twice in a row, else ``converged: false``
with the cap named). After every solve the current balance is checked
(:func:`fem_sse.transport.certify2d.balance_problems`); a state that fails it is no solution.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport.diagnosis import eafe_residual_peak
from fem_sse.transport.eafe2d import EafeProblem2D, EafeView
from fem_sse.transport.eafe_relax import relax_outliers
from fem_sse.transport.eafe_newton import kirchhoff_newton, newton, pseudo_transient
from fem_sse.transport.certificate import (
    Certificate,
    CurrentBalance,
    residual_summary,
    unbalanced,
)
from fem_sse.transport.eafe2d_gb import conductance_continuation, start_state
from fem_sse.transport.results import FailedStep, TransportResult, TransportSolve

__all__ = ["certificate_2d", "current_balance_2d", "indicators_2d", "solve_2d", "solve_balanced",
           "solve_adaptive_eafe_2d", "solve_transferred", "transfer_state"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EafeState:
    """What the 2D adaptive loop hands over besides its solve: the final state's current
    balance (A/m^2 per cathode length, for its certificate) and its W view (the mechanics and
    the field files)."""

    balance: CurrentBalance
    view: EafeView


def _phi_continuation(problem: EafeProblem2D, mu: np.ndarray, phi: float):
    """mu (eV) at the ionic drop ``phi`` (V), potentiostatic, by continuation from Phi = 0.

    At Phi = 0 every edge current is the Kirchhoff difference W_j - W_i (d = 0): the problem
    is a monotone Laplace problem in W, and Newton converges from the start. Phi then grows
    to ``phi`` in steps that grow on success and halve on failure, each started from the last
    state with its eta_e kept (mu + dPhi w).

    Raises:
        ConvergenceError: a step below 1e-4 of ``phi`` fails.
    """
    w = problem.w.x.array
    mu = newton(problem, mu - phi * w, 0.0, None, relax=True, natural=True)[0]
    done, step, iterations = 0.0, 0.1, 0
    while done < 1.0:
        trial = min(1.0, done + step)
        try:
            mu_t, _, its = newton(problem, mu + (trial - done) * phi * w, trial * phi, None,
                                  max_iterations=30, relax=True, natural=True)
        except ConvergenceError:
            step *= 0.5
            if step < 1e-4:
                raise ConvergenceError("EAFE continuation in Phi stalled",
                                       Diagnosis(fraction_reached=done)) from None
            continue
        mu, done, step, iterations = mu_t, trial, step * 1.5, iterations + its
    return mu, iterations


#: iterations of the early Newton in the Kirchhoff variable (:func:`_newton_or_ptc`)
_EARLY_KIRCHHOFF = 30


def _newton_or_ptc(problem: EafeProblem2D, mu: np.ndarray, phi: float, current):
    """Newton from (mu, Phi); when it fails, :data:`_EARLY_KIRCHHOFF` iterations of Newton
    with its steps taken in the Kirchhoff variable
    (:func:`fem_sse.transport.eafe_newton.kirchhoff_update`), the continuation in Phi from 0
    (:func:`_phi_continuation`) then Newton, then the pseudo-transient continuation, all from
    (mu, Phi) with the nodes far from their own balance relaxed first
    (:func:`fem_sse.transport.eafe_relax.relax_outliers`); last Newton in the Kirchhoff
    variable again, with its full iterations (the shipped cases/2d/rough_stack.toml, whose
    front nodes in the middle layer got Newton corrections of 7e5 eV, failed every other
    way)."""
    mu = relax_outliers(problem, mu, phi)
    problem.freeze_weights(mu, phi)
    try:
        return newton(problem, mu, phi, current, relax=True, natural=True)
    except ConvergenceError as exc:
        log.info("EAFE 2D Newton failed (%s): Newton in the Kirchhoff variable", exc)
    start = mu
    problem.freeze_weights(start, phi)
    try:
        # a few nodes coupled to each other far more than to the rest (beside a partial
        # contact's end) take Newton corrections of 60 eV from a state within 0.03 V of its
        # balance, which cut the whole step to 1e-3; steps in W stay bounded there
        return newton(problem, start, phi, current, max_iterations=_EARLY_KIRCHHOFF,
                      natural=True, kirchhoff=True)
    except ConvergenceError as exc:
        log.info("EAFE 2D Newton in the Kirchhoff variable failed (%s): continuation in Phi "
                 "from 0", exc)
    try:
        mu, extra = _phi_continuation(problem, start, phi)
        problem.freeze_weights(mu, phi)
        mu, phi, iterations = newton(problem, mu, phi, current, relax=True, natural=True)
        return mu, phi, iterations + extra
    except ConvergenceError as exc:
        log.info("EAFE 2D continuation in Phi failed (%s): pseudo-transient continuation", exc)
    problem.freeze_weights(start, phi)
    try:
        mu_p, phi_p, ptc = pseudo_transient(problem, start, phi, current, natural=True)
        mu_p, phi_p, iterations = newton(problem, mu_p, phi_p, current, relax=True,
                                         natural=True)
        return mu_p, phi_p, iterations + ptc
    except ConvergenceError as exc:
        log.info("EAFE 2D pseudo-transient continuation failed (%s): Newton in the "
                 "Kirchhoff variable", exc)
    problem.freeze_weights(start, phi)
    return kirchhoff_newton(problem, start, phi, current, natural=True)


def solve_2d(problem: EafeProblem2D, sol, start: np.ndarray | None = None,
             phi: float | None = None) -> TransportSolve:
    """Solve on ``problem``'s mesh from ``start`` (mu (eV) at the local nodes; default the
    column-mapped exact state ``sol``) and ``phi`` (V). Returns t_Li, currents (A/m^2 per
    cathode length), Phi (V) and Newton iterations."""
    cell = problem.config.cell
    current = problem.applied_current() if cell.galvanostatic else None

    def solve_from(mu0, phi0):
        return _newton_or_ptc(problem, mu0, phi0, current)

    if start is None or phi is None:
        start, phi = start_state(problem, sol, start, phi)
    try:
        mu, phi, iterations = solve_from(start, phi)
    except ConvergenceError as exc:
        if problem.w_dg is None:
            raise
        log.info("EAFE 2D with GB interfaces failed (%s): continuation in their conductance",
                 exc)
        mu, phi, iterations = conductance_continuation(problem, sol, current, solve_from)
    problem.mu.x.array[:] = mu
    problem.phi = phi
    i_ion = phi * problem.conductance
    i_e = problem.electronic_current(mu, phi)
    area = problem.area
    return TransportSolve(i_ion / (i_ion + i_e), i_e / (i_ion + i_e), i_ion / area,
                          i_e / area, phi, iterations)


#: a measurement of the electronic current counts when its round-off bound is below this
#: share of the current
_RESOLVED = 1e-6


def current_balance_2d(problem: EafeProblem2D) -> CurrentBalance:
    """The keys of :func:`fem_sse.transport.certify2d.current_balance` (A/m^2 per cathode
    length) for an EAFE state.

    The electronic current is measured at the cathode and the anode (the electrode nodes'
    reactions), through 32 cuts x = const and through the cut function of t_Li
    (:meth:`EafeProblem2D.electronic_current`), each with its round-off bound. Next to an
    electrode in a layer whose B lies far inside the window the electronic drift and diffusion
    currents are up to the cancellation ratio times the current, so the reactions there are
    round-off (in any scheme, in double precision): the imbalance is the spread of the
    measurements whose bound is below 1e-6 of the current (``electronic_resolved``: how many),
    and the total's imbalance adds it to the ionic one."""
    mu, phi, area = problem.mu.x.array, problem.phi, problem.area
    g_c, g_a = problem.ionic_currents()
    ion_c, ion_a = phi * g_c, phi * g_a
    react = problem.reactions(mu, phi)
    cuts = problem.cut_currents(mu, phi)
    i_e = problem.electronic_current(mu, phi)
    values = np.concatenate([[react["cathode"], react["anode"], i_e], cuts["current"]])
    bounds = np.concatenate([[react["cathode_roundoff"], react["anode_roundoff"],
                              problem.chi_roundoff(mu, phi)], cuts["roundoff"]])
    scale = max(abs(i_e), 1e-300)
    resolved = bounds <= _RESOLVED * scale
    spread = float(np.ptp(values[resolved])) if resolved.any() else float("inf")
    total = max(abs(ion_a + i_e), 1e-300)
    applied = (abs((phi * problem.conductance + i_e) / problem.applied_current() - 1.0)
               if problem.config.cell.galvanostatic else None)
    return CurrentBalance(
        ionic_cathode_A_per_m2=ion_c / area, ionic_anode_A_per_m2=ion_a / area,
        electronic_cathode_A_per_m2=react["cathode"] / area,
        electronic_anode_A_per_m2=react["anode"] / area,
        electronic_cathode_roundoff_A_per_m2=react["cathode_roundoff"] / area,
        electronic_anode_roundoff_A_per_m2=react["anode_roundoff"] / area,
        electronic_cut_A_per_m2=i_e / area,
        electronic_resolved=f"{int(resolved.sum())} of {len(values)} measurements "
        "(cathode, anode, the t_Li cut, 32 cuts x = const)",
        relative_imbalance=(abs(ion_c - ion_a) + spread) / total,
        electronic_relative_imbalance=spread / scale, applied_current_error=applied)


def _final_residual(problem: EafeProblem2D) -> float:
    """2-norm of the row-scaled node residuals (V) at the state."""
    res, diag, _, _ = problem.residual(problem.mu.x.array, problem.phi, jacobian=True)
    return problem._norm(res / diag)


def certificate_2d(problem: EafeProblem2D, result, jumps,
                   balance: CurrentBalance | None = None) -> Certificate:
    """The :class:`~fem_sse.transport.certificate.Certificate` of an EAFE state, as
    :func:`fem_sse.transport.certify2d.certificate` (``jumps``: its Jump records) with the
    row-scaled residual (V) and the obtuse edges."""
    from fem_sse.transport.certify2d import exact_comparison, verdict
    from fem_sse.transport.junction_error import junction_problems

    balance = balance or current_balance_2d(problem)
    exact = exact_comparison(problem.config, result.one_minus_t_li, jumps)
    reasons = verdict(result.t_li, balance, exact) + junction_problems(
        problem.smesh, problem.config.solver.tolerance)
    if exact is not None and exact.ok:
        if not exact.same_jump_count:
            reasons.append("the jumps differ in number from the exact 1D solution of this "
                           "laterally uniform stack")
        elif exact.max_jump_diff_over_L > 1e-3:
            reasons.append(f"a jump lies {exact.max_jump_diff_over_L:.3g} L from the exact "
                           "1D one of this laterally uniform stack (> 0.001)")
    residual = residual_summary(_final_residual(problem), units="V (row-scaled node residuals)")
    return Certificate(balance, residual, exact, reasons, [j.coverage for j in jumps],
                       problem.obtuse())


def indicators_2d(problem: EafeProblem2D) -> np.ndarray:
    """Error indicator per owned cell, squared: sum over its edges of (|d| |tanh y_j - tanh
    y_i|)^2, the change of the carriers' shares along the edge times its ionic drop (kT). The
    scheme is exact where one carrier carries the current or d = 0, so this marks the cells
    where mu crosses B (the jumps) under an ionic drop."""
    y_i, y_j = problem.edge_y(problem.mu.x.array, problem.phi)
    d = problem.phi * problem.dw / problem.kT
    eta = np.abs(d) * np.abs(np.tanh(y_j) - np.tanh(y_i))
    return np.bincount(problem.edge_cell, weights=eta**2, minlength=len(problem.cell_tag))


def transfer_state(old: EafeProblem2D, old_view: EafeView, new: EafeProblem2D) -> np.ndarray:
    """The old state on the new mesh's nodes (eV), electrode values kept: W (DG1, nearly
    linear across a plateau and through a jump) interpolated and mapped to mu by each new
    cell's material (mu itself, interpolated linearly across a jump cell, is eV off); on
    nodes between materials (where a DG value at the node may come from the other material's
    cell) the P1 mu interpolated."""
    from dolfinx import fem

    from fem_sse import compat
    from fem_sse.materials.conductivity import mu_from_kirchhoff

    w_new = fem.Function(fem.functionspace(new.mesh, ("DG", 1)))
    compat.interpolate_nonmatching(w_new, old_view.omega)
    compat.interpolate_nonmatching(new.mu, old.mu)
    num = len(new.cell_tag)
    dg = w_new.function_space.dofmap.list[:num]
    mu_cells = mu_from_kirchhoff(w_new.x.array[dg], new.cell_A[:, None], new.cell_B[:, None],
                                 new.kT) - old.phi * new.cell_off  # the nodal unknown
    key = new.cell_B + np.log(new.cell_A)  # one value per material
    sums = []
    for values in (mu_cells, np.ones_like(mu_cells), key[:, None] + 0 * mu_cells,
                   key[:, None] ** 2 + 0 * mu_cells):
        acc = np.zeros(new.n_local)
        np.add.at(acc, new.cell_dofs.ravel(), values.ravel())
        sums.append(new._reverse(acc))
    total, count, k1, k2 = sums
    count = np.maximum(count, 1.0)
    mixed = k2 / count - (k1 / count) ** 2 > 1e-12 * np.maximum(k2 / count, 1.0)
    mu = np.where(mixed, new.mu.x.array, total / count)
    return np.where(new.fixed, new.mu_fixed, mu)


def solve_balanced(problem: EafeProblem2D, sol, start=None, phi=None) -> tuple:
    """:func:`solve_2d`, then the balance check: (result, balance)."""
    from fem_sse.transport.certify2d import balance_problems

    result = solve_2d(problem, sol, start, phi)
    balance = current_balance_2d(problem)
    problems = balance_problems(result.t_li, balance)
    if problems:
        raise unbalanced("the EAFE solver", problems, balance)
    return result, balance


def solve_transferred(old: EafeProblem2D, old_view: EafeView, new: EafeProblem2D,
                      sol) -> tuple:
    """:func:`solve_balanced` on ``new`` from ``old``'s state (:func:`transfer_state`, its
    Phi), and from the column-mapped exact state ``sol`` when that fails: (result, balance).
    A refinement step of the loop, and the refined-mesh check."""
    try:
        return solve_balanced(new, sol, transfer_state(old, old_view, new), old.phi)
    except ConvergenceError:
        log.info("EAFE 2D: retrying from the column-mapped exact state")
        return solve_balanced(new, sol)


def _add_start_peak(diagnosis: Diagnosis, problem: EafeProblem2D, sol) -> None:
    """Add where the residual of the solve's start state concentrates (not where that state
    itself could not be formed)."""
    try:
        diagnosis.residual_peak = eafe_residual_peak(problem, *start_state(problem, sol))
    except ConvergenceError:
        pass


def solve_adaptive_eafe_2d(config, comm, sol, progress=None, smesh=None):
    """The adaptive loop (module docstring). ``sol``: the exact state of the laterally
    averaged stack (None: none exists); ``smesh``: the first mesh (built here when None, crack
    lines cut open). Returns an
    :class:`fem_sse.transport.adapt.AdaptiveResult` (profile None) whose ``eafe_state`` holds
    the final state's balance and view (:class:`EafeState`); ``metrics``: those of
    :func:`fem_sse.transport.metrics2d.fem_metrics_2d`."""
    from fem_sse.transport.adapt import (AdaptiveResult, Marking, _finish, _stop_reason,
                                         marking_of, record_step)
    from fem_sse.transport.discretisation import Plane2D
    from fem_sse.transport.eafe2d_current_error import SPREAD_FLOOR, electronic_indicators
    from fem_sse.transport.ionic_error import ionic_indicators
    from fem_sse.transport.metrics2d import fem_metrics_2d

    opts = config.solver
    plane = Plane2D()
    # a crack's two lips get their own nodes (an uncut crack would conduct)
    smesh = smesh or plane.first_mesh(config, comm, sol, check=False, cut_cracks=True)
    history, total, previous, last, old = [], 0, None, None, None
    marking = Marking.none()
    for step in range(opts.max_refinements + 1):
        start = time.perf_counter()
        problem = EafeProblem2D(config, smesh)
        try:
            result, balance = (solve_balanced(problem, sol) if old is None
                               else solve_transferred(old, last[4].view, problem, sol))
        except ConvergenceError as exc:
            if last is None:
                exc.diagnosis.update(refinement_step=step, dofs=problem.imap.size_global,
                                     good_state=False)
                _add_start_peak(exc.diagnosis, problem, sol)
                if not exc.diagnosis.stage:  # the stage of the solve that failed, if it named one
                    exc.diagnosis.stage = "EAFE 2D Newton from the column-mapped start"
                problem.destroy()
                raise
            log.warning("EAFE refinement step %d did not converge (%s); keeping step %d",
                        step, exc, step - 1)
            history.append(FailedStep(step, str(exc)))
            problem.destroy()  # the previous mesh's problem (``last``) is the result
            return _finish(AdaptiveResult(*last[:4], history, total, "refinement failed",
                                          last[4]), comm, opts.tolerance)
        total += result.newton_iterations
        view = EafeView(problem)
        metrics = fem_metrics_2d(view)
        current = TransportResult.of(result, metrics)
        cells = problem.mesh.topology.index_map(2).size_global
        done = record_step(history, progress, opts, step=step, cells=cells,
                           dofs=problem.imap.size_global, result=result, current=current,
                           previous=previous, length=config.thickness, start=start,
                           capped=marking.capped)
        eta2 = indicators_2d(problem)
        ionic2, history[-1].ionic_rel_error_estimate = ionic_indicators(problem)
        ionic_ok = history[-1].ionic_rel_error_estimate <= opts.tolerance
        last = (problem, result, metrics, None, EafeState(balance, view))
        reason = _stop_reason(opts, done, step, cells)
        if reason is None and len(history) > 1 and history[-2].cells == cells:
            reason = "no refinement"
        electronic2, spread = electronic_indicators(problem)
        electronic = spread > SPREAD_FLOOR
        transport = comm.allreduce(float(eta2.sum()), op=MPI.SUM) > 0.0
        if reason is None and not (transport or electronic) and ionic_ok:
            reason = "tolerance"  # one carrier, a uniform current, the ionic field resolved
        if reason is not None:
            if old is not None:
                old.destroy()
            return _finish(AdaptiveResult(*last[:4], history, total, reason, last[4]), comm,
                           opts.tolerance)
        previous = current
        # the electronic current's spreading too (partial contact, pores, cracks): the
        # transport indicator does not see it (5:38 stopped 4.7e-4 off without it)
        sets = [e for e, needed in ((eta2, transport), (ionic2, not ionic_ok),
                                    (electronic2, electronic)) if needed]
        marking = marking_of(sets, comm, plane.mark_cap(opts, cells))
        smesh = plane.refine(problem.smesh, config, marking.cells)
        if old is not None:
            old.destroy()
        old = problem
    raise AssertionError("unreachable")
