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
from fem_sse.transport.certificate import ExactCheck
from fem_sse.transport.results import TransportResult

__all__ = ["beyond", "compare", "exact_check", "tolerances"]


def compare(fem: TransportResult, exact: TransportResult, length: float) -> dict:
    """Differences of a FEM result from the exact one (``length``: L in m):
    ``rel_err_one_minus_t`` and ``rel_err_t`` (-), ``jump_err_over_L`` (None when the jump
    lists differ in count, layer or direction), ``mu_interface_err_eV`` and both jump counts."""
    jf, je = fem.jumps, exact.jumps
    same = len(jf) == len(je) and all(
        a.layer == b.layer and a.direction == b.direction for a, b in zip(jf, je))
    jump = (max((abs(a.x_m - b.x_m) for a, b in zip(jf, je)), default=0.0) / length
            if same else None)
    mu = max((abs(a.mu_eV - b.mu_eV) for a, b in zip(fem.mu_interfaces, exact.mu_interfaces)),
             default=0.0)
    rel = abs(fem.one_minus_t_li / exact.one_minus_t_li - 1.0)
    rel_t = abs(fem.t_li / exact.t_li - 1.0)
    return {"rel_err_one_minus_t": rel, "rel_err_t": rel_t, "jump_err_over_L": jump,
            "mu_interface_err_eV": mu, "jump_count_fem": len(jf), "jump_count_exact": len(je)}


def tolerances(tolerance: float) -> dict:
    """The check's tolerances for ``solver.tolerance`` (see the module docstring)."""
    return {"rel_err_one_minus_t": 10.0 * tolerance, "rel_err_t": 10.0 * tolerance,
            "jump_err_over_L": 10.0 * tolerance, "mu_interface_err_eV": 10.0 * tolerance}


def beyond(diff: dict, limits: dict) -> list[str]:
    """The keys of ``limits`` whose difference in ``diff`` exceeds it (or is None)."""
    return [key for key, limit in limits.items() if diff[key] is None or not diff[key] <= limit]


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
    failed = beyond(diff, limits)
    check = ExactCheck({"one_minus_t_li_exact": exact.one_minus_t_li,
                        "t_li_exact": exact.t_li, **diff, "tolerances": limits,
                        "passed": not failed})
    if failed:
        what = ", ".join(f"{key} = {diff[key]:.3g} > {limits[key]:.3g}" if diff[key] is not None
                         else "the jump lists differ" for key in failed)
        raise ConvergenceError(
            f"the FEM result differs from the exact 1D solution: {what} (1 - t_Li FEM "
            f"{fem.one_minus_t_li:.6g}, exact {exact.one_minus_t_li:.6g}; jumps FEM "
            f"{diff['jump_count_fem']}, exact {diff['jump_count_exact']})",
            {"stage": "check against the exact solution", **check.to_summary(),
             "good_state": True})
    return check
