"""Tolerance of a design to drifting electrode potentials (the paper's Fig. 5 question).

For each electrode and each direction, the margin (eV) is the smallest drift of that electrode's
mu_Li0 at which a GEB jump leaves the edge zone (or the stack has no steady state): the drift is
scanned outwards in steps (bracketing) and the crossing refined with Brent's method on

    g(d) = max_jump_distance_over_L(mu + d) - edge_zone      (> 0: jumps not all at the edges)

with a failed solve counted as g = 1. A design already outside the rule has margin 0.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from fem_sse.app.design.metrics import DesignOptions
from fem_sse.app.design.space import Evaluator, Variable

__all__ = ["drift_margins"]

_KEYS = {"anode": "cell.mu_anode", "cathode": "cell.mu_cathode"}


def _margin(g, max_drift: float, step: float, xtol: float) -> tuple[float, bool]:
    """(margin, bounded): the first d in (0, max_drift] with g(d) > 0, or max_drift."""
    if g(0.0) > 0.0:
        return 0.0, True
    n = max(1, math.ceil(max_drift / step - 1e-9))
    previous = 0.0
    for k in range(1, n + 1):
        d = min(k * step, max_drift)
        if g(d) > 0.0:
            return brentq(g, previous, d, xtol=xtol), True
        previous = d
    return max_drift, False


def drift_margins(data: dict, options: DesignOptions | None = None,
                  electrodes: tuple[str, ...] = ("anode", "cathode"), max_drift: float = 0.3,
                  step: float = 0.025, xtol: float = 1e-4) -> dict:
    """Margins (eV) of a design (its case dict) for upward and downward drifts.

    Args:
        data: the case as a dict.
        options: the edge zone (fraction of L) and susceptibility margin.
        electrodes: which electrode potentials drift.
        max_drift: the largest drift looked at (eV); margins are capped there.
        step: bracketing step (eV).
        xtol: accuracy of the margin (eV).

    Returns:
        {electrode: {"up_eV", "down_eV", "up_bounded", "down_bounded", "nominal_eV",
        "within_rule": bool}}; ``*_bounded`` is False when the rule held up to max_drift.
    """
    options = options or DesignOptions()
    out = {}
    for electrode in electrodes:
        key = _KEYS[electrode]
        nominal = float(data["cell"][key.split(".")[1]])
        evaluator = Evaluator(data, [Variable(key, nominal - 1.0, nominal + 1.0)], options)
        entry = {"nominal_eV": nominal}
        for name, sign in (("up", 1.0), ("down", -1.0)):
            def g(d, sign=sign, evaluator=evaluator, nominal=nominal):
                rec = evaluator([nominal + sign * d], keep=False)
                if rec["status"] != "ok":
                    return 1.0
                return rec["max_jump_distance_over_L"] - options.edge_zone
            margin, bounded = _margin(g, max_drift, step, xtol)
            entry[f"{name}_eV"], entry[f"{name}_bounded"] = margin, bounded
        entry["within_rule"] = evaluator([nominal], keep=False)["jumps_at_edges"] == 1
        out[electrode] = entry
    return out
