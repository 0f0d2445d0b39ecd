"""What the grading towards singular junctions leaves of their error in 1 - t_Li (issue 16).

:func:`fem_sse.geometry.junctions.graded` halves the cells at each junction n times. The
junctions' share of the error in 1 - t_Li falls like q^k after k halvings, q = 2^(-2 alpha)
(alpha: the smallest singular exponent of the mesh's junctions). With J_0 and J_n the values of
1 - t_Li on the first mesh before and after the grading (the exponentially fitted scheme: two
small solves), J_0 - J_n = E (1 - q^n) for the share E on the ungraded mesh, and what is left is

    E q^n = |J_0 - J_n| q^n / (1 - q^n),   relative to J_n.

The adaptive loop's changes between meshes cannot see it: the junctions' cells are at the
resolvable size and are not refined again. On stress2d 2:22 (alpha = 0.108, 23 halvings) the
estimate is 8.9e-5, and the factor per halving measured over the last levels (0.84) is below
its q (0.86), so there it errs on the safe side (docs/transport2d.md). A run whose estimate
exceeds ``solver.tolerance`` is not converged (:func:`junction_problems`).
"""

from __future__ import annotations

import logging

from fem_sse.errors import ConvergenceError

__all__ = ["graded_first_mesh", "junction_problems"]

log = logging.getLogger(__name__)


def _one_minus_t(config, smesh, sol) -> float | None:
    """1 - t_Li of the EAFE state on ``smesh`` (None when the scheme cannot solve it: crack
    lines not cut open, or no converged state)."""
    from fem_sse.transport.eafe2d import EafeProblem2D, unsupported
    from fem_sse.transport.eafe2d_solve import solve_2d

    if unsupported(config, smesh):
        return None
    problem = EafeProblem2D(config, smesh)
    try:
        return solve_2d(problem, sol).one_minus_t_li
    except ConvergenceError:
        return None
    finally:
        problem.destroy()


def graded_first_mesh(config, smesh):
    """``smesh`` graded towards its singular junctions, with the estimate (module docstring)
    as ``info["singular_junctions"]["error_estimate"]`` (relative, -; None when a solve was
    not possible); ``smesh`` itself when it has no junction."""
    from fem_sse.geometry.junctions import graded
    from fem_sse.transport.eafe2d_gb import averaged_state

    fine = graded(smesh, config)
    if fine is smesh:
        return smesh
    info = fine.info["singular_junctions"]
    sol = averaged_state(config)
    before, after = _one_minus_t(config, smesh, sol), _one_minus_t(config, fine, sol)
    estimate = None
    if before is not None and after:
        q_n = 2.0 ** (-2.0 * info["smallest_exponent"] * info["levels"])
        estimate = abs(before - after) * q_n / (1.0 - q_n) / abs(after)
        log.info("singular junctions: 1 - t_Li %.6g -> %.6g over the grading, %.2g of it "
                 "estimated left", before, after, estimate)
    info["error_estimate"] = estimate
    return fine


def junction_problems(smesh, tolerance: float) -> list[str]:
    """The reason a state on (a refinement of) a graded mesh is not converged: the estimated
    error its singular junctions leave is above ``tolerance`` (relative, -)."""
    info = smesh.info.get("singular_junctions") or {}
    estimate = info.get("error_estimate")
    if estimate is None or estimate <= tolerance:
        return []
    return [f"the {info['count']} singular junction(s) of the mesh (grain boundaries or cracks "
            f"ending on a less conductive layer, exponent {info['smallest_exponent']:.3g}) "
            f"leave an estimated {estimate:.2g} relative error in 1 - t_Li after "
            f"{info['levels']} halvings (> solver.tolerance {tolerance:g}; stopped by "
            f"{info['stopped_by']})"]
