"""Whether a 2D stack is within the precision of the W formulation, from its averaged 1D stack.

The electronic current j_eh = grad W + sigma_eh u is the difference of a diffusion and a drift
part; next to an electrode, in a layer whose B lies far inside the electrode window, each part
is up to 1e20 times the current, and their difference is lost to double-precision round-off
(:func:`fem_sse.transport_init.cancellation_ratio`, measured on the exact 1D state). A 2D
geometry has the same layers at the same electrodes as its laterally averaged stack
(:meth:`Config.stack_1d`), so the ratio of that stack's exact state is the 2D run's too, up to
the local concentration of current (partial contact, pores).

Measured on bench/stress2d.py (seed 0, 50 configurations): no configuration above a ratio of
1e6 converged (10 of 10 failed or timed out, most at refinement step 0), none below 1e5
failed at step 0. So a 2D run

* above :data:`~fem_sse.transport_init.CANCELLATION_LIMIT` (1e12, the 1D limit) is refused
  before the solve, as in 1D (exit 3, the ratio and a hint in the message);
* that fails above :data:`PRECISION_SUSPECT` says in its message that the ratio is the likely
  cause; every failed 2D run records the ratio in its diagnosis.
"""

from __future__ import annotations

from fem_sse.config import Config
from fem_sse.transport_init import CANCELLATION_LIMIT, cancellation_ratio

__all__ = ["PRECISION_SUSPECT", "averaged_ratio", "check_precision_2d", "explain_failure_2d"]

#: Above this cancellation ratio no 2D run of bench/stress2d.py converged (seed 0).
PRECISION_SUSPECT = 1e6


def averaged_ratio(config: Config) -> float | None:
    """The cancellation ratio (-) of the exact state of the laterally averaged stack, or None
    when that stack has no steady state (the 2D geometry may still have one)."""
    from fem_sse.exact1d import SolveError, solve_exact

    try:
        return cancellation_ratio(solve_exact(config.stack_1d()))
    except SolveError:
        return None


def _hint(ratio: float, certain: bool) -> str:
    verdict = ("their difference is below double-precision round-off"
               if certain else "the likely cause: their difference is near round-off")
    return (f"the laterally averaged stack's exact state has electronic drift and diffusion "
            f"currents up to {ratio:.2g} times the total current (a layer with B far inside "
            f"the electrode window next to an electrode); {verdict} for the FEM's W "
            "formulation; the averaged stack is solved exactly with [geometry] dim = 1 and "
            "--solver exact")


def check_precision_2d(config: Config) -> None:
    """Refuse (ConvergenceError, exit 3) a 2D stack whose averaged ratio exceeds
    :data:`~fem_sse.transport_init.CANCELLATION_LIMIT`, before meshing (module docstring)."""
    from fem_sse.errors import ConvergenceError

    ratio = averaged_ratio(config)
    if ratio is None or ratio <= CANCELLATION_LIMIT:
        return
    hint = _hint(ratio, certain=True)
    raise ConvergenceError(f"the FEM cannot resolve this stack: {hint}", {
        "stage": "precision check against the averaged stack's exact state (before the solve)",
        "exact_cancellation_ratio": ratio, "good_state": False, "hint": hint})


def explain_failure_2d(exc, config: Config) -> None:
    """Add the averaged stack's cancellation ratio to a failed 2D solve's diagnosis and, above
    :data:`PRECISION_SUSPECT`, name it in the message (every rank computes the same)."""
    if "hint" in exc.diagnosis:
        return
    ratio = averaged_ratio(config)
    if ratio is None:
        return
    exc.diagnosis["exact_cancellation_ratio"] = ratio
    if ratio > PRECISION_SUSPECT:
        exc.diagnosis["hint"] = _hint(ratio, certain=False)
        exc.args = (f"{exc.args[0]}: {exc.diagnosis['hint']}",) + exc.args[1:]
