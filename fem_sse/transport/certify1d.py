"""Every 1D FEM result checked against the exact solution (issue 16: never silently wrong).

The closed form of :mod:`fem_sse.transport.exact1d` costs milliseconds, so each 1D FEM run is
compared with it: 1 - t_Li and t_Li (both relative: whichever is small carries the
information, so a t_Li of 1e-10 is checked in its own digits, not as 1 - t_Li = 1), the jump
list (the same count, layers and directions; positions / L) and the mu_Li0 at the layer
interfaces (eV). The differences go into ``summary.json`` as ``exact_check``; beyond the
tolerances the run is not converged (ConvergenceError, exit 3, with the differences as the
diagnosis).

Tolerances, from ``solver.tolerance`` (tol, default 1e-5: the change between two meshes that
stops the adaptive loop; the error is up to ~10 times that change):
|1 - t_FEM| / |1 - t_exact| - 1 <= 10 tol, |t_FEM / t_exact - 1| <= 10 tol, jump positions
within 10 tol L, interface potentials within 10 tol eV (1e-4, 1e-4 L and 0.1 meV by default).
"""

from __future__ import annotations

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport.certificate import ExactCheck, ExactDifferences
from fem_sse.transport.results import TransportResult

__all__ = ["compare", "exact_check", "tolerances"]


def compare(fem: TransportResult, exact: TransportResult, length: float) -> ExactDifferences:
    """Differences of a FEM result from the exact one (``length``: L in m): 1 - t_Li and t_Li
    (relative, -), the largest jump shift (/L; None when the jump lists differ in count, layer
    or direction), the largest interface potential difference (eV) and both jump counts."""
    jf, je = fem.jumps, exact.jumps
    same = len(jf) == len(je) and all(
        a.layer == b.layer and a.direction == b.direction for a, b in zip(jf, je))
    jump = (max((abs(a.x_m - b.x_m) for a, b in zip(jf, je)), default=0.0) / length
            if same else None)
    mu = max((abs(a.mu_eV - b.mu_eV) for a, b in zip(fem.mu_interfaces, exact.mu_interfaces)),
             default=0.0)
    rel = abs(fem.one_minus_t_li / exact.one_minus_t_li - 1.0)
    rel_t = abs(fem.t_li / exact.t_li - 1.0)
    return ExactDifferences(rel, rel_t, jump, mu, len(jf), len(je))


def tolerances(tolerance: float) -> ExactDifferences:
    """The check's tolerances for ``solver.tolerance`` (see the module docstring)."""
    return ExactDifferences(*(4 * (10.0 * tolerance,)))


def exact_check(fem: TransportResult, exact: TransportResult, length: float,
                tolerance: float) -> ExactCheck:
    """The ``exact_check`` summary block: exact 1 - t_Li, the differences, the tolerances and
    ``passed``.

    Raises:
        ConvergenceError: when a difference exceeds its tolerance (the block is the diagnosis,
            under ``exact_check``, with stage "check against the exact solution").
    """
    diff = compare(fem, exact, length)
    limits = tolerances(tolerance)
    failed = diff.beyond(limits)
    check = ExactCheck(exact.one_minus_t_li, exact.t_li, diff, limits, not failed)
    if failed:
        what = ", ".join(f"{key} = {diff[key]:.3g} > {limits[key]:.3g}" if diff[key] is not None
                         else "the jump lists differ" for key in failed)
        raise ConvergenceError(
            f"the FEM result differs from the exact 1D solution: {what} (1 - t_Li FEM "
            f"{fem.one_minus_t_li:.6g}, exact {exact.one_minus_t_li:.6g}; jumps FEM "
            f"{diff.jump_count_fem}, exact {diff.jump_count_exact})",
            Diagnosis(stage="check against the exact solution", exact_check=check, good_state=True))
    return check
