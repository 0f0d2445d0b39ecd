"""Checks of a converged 2D transport state that do not trust the solver (issue 16, item 2).

* Current balance: the ionic and electronic currents entering at the cathode and leaving at
  the anode, from the schemes' own conservative fluxes (P1 ionic field: the variational flux
  a(w, chi_electrode); DG: the Nitsche flux; electrons: the Nitsche flux of W). In a steady
  state they agree; the difference is what the Newton iteration left over.
* The final Newton residual, absolute (scaled W equation) and relative to the total current
  in the same units.
* For a laterally uniform stack, the exact 1D solution of that stack and the differences.

:func:`verdict` turns these into the reasons a state is *not* converged: t_Li outside [0, 1]
(an electronic current against its driving force: impossible in any geometry), a broken
balance, and for laterally uniform stacks a 1 - t_Li off the exact value.
"""

from __future__ import annotations

import numpy as np

from fem_sse.transport.certificate import (
    Certificate,
    CurrentBalance,
    ExactComparison,
    residual_summary,
)

__all__ = ["BALANCE_TOLERANCE", "ELECTRONIC_BALANCE_TOLERANCE", "balance_problems", "certificate",
           "current_balance", "exact_comparison", "verdict"]

#: largest relative imbalance (|I_cathode - I_anode| / I) of a converged state
BALANCE_TOLERANCE = 1e-6
#: largest relative imbalance of the electronic current alone: 1 - t_Li is made of it, and where
#: it is a small part of I (1 - t_Li = 5e-5 on stress2d config 0) a state within
#: BALANCE_TOLERANCE of I can still have it 5 % apart at cathode and anode (a Newton iteration
#: stopped on the round-off floor of the W formulation); every converged state of the stress
#: benchmark had <= 2e-7 (bench/results/stress2d_s0.json)
ELECTRONIC_BALANCE_TOLERANCE = 1e-4
#: largest relative error of 1 - t_Li vs the exact 1D value of a laterally uniform stack
EXACT_TOLERANCE = 1e-3

_CATHODE, _ANODE = 1, 2


def _assemble(problem, name: str, form) -> float:
    """A scalar form summed over the ranks (compiled once per run: the problem's cache)."""
    return problem.integral(name, form)


def _ionic_entering(problem, tag: int, value: float) -> float:
    """Ionic current entering the separator at electrode ``tag`` per volt of Phi (A/V per
    unit depth; negative at the anode, where it leaves)."""
    from fem_sse.transport.ionic import entering_current

    return entering_current(problem.w, problem.fields["sigma_li"], problem.smesh, tag, value,
                            problem.ionic_dg, problem.integral)


def current_balance(problem) -> CurrentBalance:
    """Currents (A/m^2 per cathode length) entering at the cathode and leaving at the anode,
    ionic and electronic, and the relative imbalance of their sums."""
    phi = problem.phi_V
    area = problem.area
    ion_c = phi * _ionic_entering(problem, _CATHODE, 1.0)
    ion_a = -phi * _ionic_entering(problem, _ANODE, 0.0)
    el_c = -problem.w_scale * _assemble(problem, "check_electronic_cathode",
                                        problem.electrode_flux(_CATHODE))
    el_a = problem.w_scale * _assemble(problem, "check_electronic_anode",
                                       problem.electrode_flux(_ANODE))
    total_c, total_a = ion_c + el_c, ion_a + el_a
    scale = max(abs(total_c), abs(total_a), 1e-300)
    cell = problem.config.cell
    applied = (abs(total_a / area / cell.current_density - 1.0) if cell.galvanostatic
               else None)
    return CurrentBalance(
        ionic_cathode_A_per_m2=ion_c / area, ionic_anode_A_per_m2=ion_a / area,
        electronic_cathode_A_per_m2=el_c / area, electronic_anode_A_per_m2=el_a / area,
        relative_imbalance=abs(total_c - total_a) / scale,
        electronic_relative_imbalance=abs(el_c - el_a) / max(abs(el_c), abs(el_a), 1e-300),
        applied_current_error=applied)


def newton_residual(problem, balance: CurrentBalance) -> dict:
    """Final residual norm of the scaled W equation, absolute and relative to the total current
    in the same units (W / w_scale)."""
    norm = float(problem.residual_norm())
    total = balance.anode_total_A_per_m2 * problem.area
    return residual_summary(norm, relative=norm / max(abs(total) / problem.w_scale, 1e-300))


def exact_comparison(config, one_minus_t: float, jumps) -> ExactComparison | None:
    """The exact 1D solution of a laterally uniform stack and the FEM's differences from it
    (None for other geometries: their laterally averaged stack is not their solution)."""
    from fem_sse.transport.exact1d import SolveError, solve_exact
    from fem_sse.geometry.stacked import is_laterally_uniform

    if not is_laterally_uniform(config):
        return None
    try:
        sol = solve_exact(config.stack_1d())
    except SolveError as exc:
        return ExactComparison(status="no steady state", reason=str(exc))
    exact_x = sorted(x for x, _, _ in sol.crossings(lambda seg: seg.material.B))
    fem_x = sorted(j.x_m for j in jumps if j.resolved)  # fragments: no crossing of their own
    same = len(exact_x) == len(fem_x)
    shift = (max((abs(a - b) for a, b in zip(fem_x, exact_x)), default=0.0) / config.thickness
             if same else None)
    return ExactComparison(status="ok", t_li=sol.t_li, one_minus_t_li=sol.one_minus_t_li,
                           jumps_m=exact_x,
                           rel_diff_one_minus_t_li=one_minus_t / sol.one_minus_t_li - 1.0,
                           same_jump_count=same, max_jump_diff_over_L=shift)


def balance_problems(t_li: float, balance: CurrentBalance) -> list[str]:
    """Why a state is no steady state by itself (empty when none): t_Li outside [0, 1], the
    total current or the electronic current unbalanced between cathode and anode."""
    reasons = []
    if not (np.isfinite(t_li) and 0.0 <= t_li <= 1.0):
        reasons.append(f"t_Li = {t_li:.6g} outside [0, 1]: an electronic or ionic current "
                       "against its driving force")
    if not balance.relative_imbalance <= BALANCE_TOLERANCE:
        reasons.append(f"current balance broken: cathode vs anode differ by "
                       f"{balance.relative_imbalance:.3g} (> {BALANCE_TOLERANCE:g})")
    electronic = balance.electronic_relative_imbalance
    if not electronic <= ELECTRONIC_BALANCE_TOLERANCE:
        reasons.append(f"electronic current balance broken: cathode vs anode differ by "
                       f"{electronic:.3g} of it (> {ELECTRONIC_BALANCE_TOLERANCE:g})")
    return reasons


def verdict(t_li: float, balance: CurrentBalance, exact: ExactComparison | None) -> list[str]:
    """Reasons the state is not a converged solution (empty when it is)."""
    reasons = balance_problems(t_li, balance)
    if exact is not None and exact.no_steady_state:
        reasons.append("the exact 1D solver finds no steady state for this laterally uniform "
                       f"stack ({exact.reason})")
    if exact is not None and exact.ok:
        rel = abs(exact.rel_diff_one_minus_t_li)
        if not rel <= EXACT_TOLERANCE:
            reasons.append(f"1 - t_Li differs from the exact 1D value of this laterally "
                           f"uniform stack by {rel:.3g} relative (> {EXACT_TOLERANCE:g})")
    return reasons


def certificate(problem, result, jumps) -> Certificate:
    """The current balance, the Newton residual, the exact 1D comparison (laterally uniform
    stacks), the :func:`verdict` with the error left at singular junctions
    (:func:`fem_sse.transport.junction_error.junction_problems`) and the fronts' coverage of a
    solve (``jumps``: its
    :class:`~fem_sse.transport.results.Jump` records)."""
    from fem_sse.transport.junction_error import junction_problems

    balance = current_balance(problem)
    exact = exact_comparison(problem.config, result.one_minus_t_li, jumps)
    reasons = verdict(result.t_li, balance, exact) + junction_problems(
        problem.smesh, problem.config.solver.tolerance)
    return Certificate(balance, newton_residual(problem, balance), exact, reasons,
                       [j.coverage for j in jumps])
