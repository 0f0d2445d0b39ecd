"""Whether a 2D stack is within the precision of the W formulation, from its averaged 1D stack.

The electronic current j_eh = grad W + sigma_eh u is the difference of a diffusion and a drift
part; next to an electrode, in a layer whose B lies far inside the electrode window, each part
is up to 1e20 times the current, and their difference is lost to double-precision round-off
(:func:`fem_sse.transport.start1d.cancellation_ratio`, measured on the exact 1D state). A 2D
geometry has the same layers at the same electrodes as its laterally averaged stack
(:meth:`Config.stack_1d`), so the ratio of that stack's exact state is the 2D run's too, up to
the local concentration of current (partial contact, pores).

Measured (cancellation ratio of the averaged stack's exact state): on bench/stress2d.py (seed 0,
50 configurations) no 2D configuration above 1e6 converged (10 of 10 failed or timed out, most
at refinement step 0; none of the 8 above 1e9), while below 1e5 3 of 40 failed at step 0 (two
converge with the merged code of session 5); in 1D (bench/stress1d.py, docs/robustness.md) 3
of 17 stacks converged between 1e6 and 1e9 and 0 of 17 between 1e9 and 1e12. 2D meshes are
coarser than 1D ones, so the discretisation error of the two cancelling terms is larger still.
So a 2D run

* above :data:`CANCELLATION_LIMIT_2D` (1e9) is refused before meshing (exit 3, the ratio and
  a hint in the message; 1D refuses above 1e12, ``transport_init.CANCELLATION_LIMIT``),
  instead of failing after minutes of continuation;
* that fails above :data:`PRECISION_SUSPECT` (1e6) names the ratio as the likely cause in its
  message; every failed 2D run records the ratio in its diagnosis
  (``exact_cancellation_ratio``).
"""

from __future__ import annotations

from fem_sse.failures import Diagnosis
from fem_sse.spec.config import Config
from fem_sse.transport.start1d import cancellation_ratio

__all__ = ["CANCELLATION_LIMIT_2D", "PRECISION_SUSPECT", "averaged_ratio", "check_precision_2d",
           "explain_failure_2d"]

#: Above this cancellation ratio no 2D run of bench/stress2d.py converged (seed 0, 0 of 10).
PRECISION_SUSPECT = 1e6
#: Above this ratio a 2D run is refused before the solve (module docstring).
CANCELLATION_LIMIT_2D = 1e9


def averaged_ratio(config: Config) -> float | None:
    """The cancellation ratio (-) of the exact state of the laterally averaged stack, or None
    when that stack has no steady state (the 2D geometry may still have one)."""
    from fem_sse.transport.exact1d import SolveError, solve_exact

    try:
        return cancellation_ratio(solve_exact(config.stack_1d()))
    except SolveError:
        return None


def _hint(ratio: float, certain: bool) -> str:
    verdict = ("their difference is lost to round-off and discretisation error"
               if certain else "the likely cause: their difference is near round-off")
    return (f"the laterally averaged stack's exact state has electronic drift and diffusion "
            f"currents up to {ratio:.2g} times the total current (a layer with B far inside "
            f"the electrode window next to an electrode); {verdict} for the FEM's W "
            "formulation; the averaged stack is solved exactly with [geometry] dim = 1 and "
            "--solver exact")


def check_precision_2d(config: Config) -> None:
    """Refuse (ConvergenceError, exit 3) a 2D stack whose averaged ratio exceeds
    :data:`CANCELLATION_LIMIT_2D`, before meshing (module docstring)."""
    from fem_sse.errors import ConvergenceError

    ratio = averaged_ratio(config)
    if ratio is None or ratio <= CANCELLATION_LIMIT_2D:
        return
    hint = _hint(ratio, certain=True)
    raise ConvergenceError(f"the FEM cannot resolve this stack: {hint}", Diagnosis(
        stage="precision check against the averaged stack's exact state (before the solve)",
        exact_cancellation_ratio=ratio, good_state=False, hint=hint))


def explain_failure_2d(exc, config: Config) -> None:
    """Add the averaged stack's cancellation ratio to a failed 2D solve's diagnosis and, above
    :data:`PRECISION_SUSPECT`, name it in the message (every rank computes the same)."""
    if exc.diagnosis.hint is not None:
        return
    ratio = averaged_ratio(config)
    if ratio is None:
        return
    exc.diagnosis.exact_cancellation_ratio = ratio
    if ratio > PRECISION_SUSPECT:
        exc.diagnosis.hint = _hint(ratio, certain=False)
        exc.args = (f"{exc.args[0]}: {exc.diagnosis.hint}",) + exc.args[1:]
