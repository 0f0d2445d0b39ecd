"""Global optimisation of a design (seeded differential evolution) and its Pareto front.

The first objective is minimised (or maximised) by :func:`scipy.optimize.differential_evolution`
subject to the constraints (a penalty far above any feasible value, growing with the relative
violation, so the search is pulled back into the feasible set). Designs without a steady state
get a larger constant. With several objectives the Pareto front is the non-dominated subset of
every feasible design evaluated during the search (non-dominated sorting).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from scipy.optimize import differential_evolution

from fem_sse.app.design.space import Constraint, Evaluator, Objective

__all__ = ["feasible", "non_dominated", "optimize", "pareto_front"]

PENALTY = 1e12  # added to infeasible designs (objective values must stay well below)
FAILED = 1e15  # designs without a steady state


def feasible(record: dict, constraints: Sequence[Constraint]) -> bool:
    """Solved and every constraint satisfied."""
    return record["status"] == "ok" and all(c.violation(record) == 0.0 for c in constraints)


def _scalar(record: dict, objective: Objective, constraints: Sequence[Constraint]) -> float:
    if record["status"] != "ok":
        return FAILED
    value = objective.sense * record[objective.name]
    if not math.isfinite(value):
        return FAILED
    violation = sum(c.violation(record) / max(abs(c.value), 1e-12) for c in constraints)
    return value if violation == 0.0 else PENALTY * (1.0 + min(violation, 1e3))


def optimize(evaluator: Evaluator, objectives: Sequence[Objective],
             constraints: Sequence[Constraint] = (), seed: int = 1, popsize: int = 15,
             maxiter: int = 100, tol: float = 1e-3, polish: bool = True) -> dict:
    """Minimise the first objective over the evaluator's variables.

    Args:
        evaluator: the design space and solver (every evaluation is kept in its records).
        objectives: the first is optimised; the others only enter the Pareto front.
        constraints: metric bounds.
        seed: random seed (same seed, same result).
        popsize, maxiter, tol, polish: differential_evolution settings (population per variable,
            generations, relative convergence tolerance, final L-BFGS-B polish).

    Returns:
        dict: ``best`` (the record), ``feasible`` (bool), ``nfev``, ``nit``, ``message``,
        ``wall_time_s``.
    """
    variables = evaluator.variables
    objective = objectives[0]

    def fun(u):
        values = [v.value(x) for v, x in zip(variables, u, strict=True)]
        return _scalar(evaluator(values), objective, constraints)

    start = time.perf_counter()
    result = differential_evolution(fun, [v.bounds for v in variables], seed=seed,
                                    popsize=popsize, maxiter=maxiter, tol=tol, polish=polish,
                                    init="latinhypercube", updating="immediate")
    values = [v.value(x) for v, x in zip(variables, result.x, strict=True)]
    best = evaluator(values, keep=False)
    return {"best": best, "feasible": feasible(best, constraints),
            "objective_value": best.get(objective.name), "nfev": int(result.nfev),
            "nit": int(result.nit), "message": str(result.message),
            "wall_time_s": time.perf_counter() - start}


def non_dominated(costs: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``costs`` (n, m; all minimised) that no other row dominates."""
    n = len(costs)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(costs <= costs[i], axis=1) & np.any(costs < costs[i], axis=1)
        if dominated.any():
            keep[i] = False
    return keep


def pareto_front(records: Sequence[dict], objectives: Sequence[Objective],
                 constraints: Sequence[Constraint] = ()) -> list[dict]:
    """Non-dominated feasible records (duplicates removed), sorted by the first objective."""
    pool = [r for r in records if feasible(r, constraints)]
    if not pool:
        return []
    costs = np.array([[o.sense * r[o.name] for o in objectives] for r in pool])
    finite = np.all(np.isfinite(costs), axis=1)
    pool, costs = [r for r, f in zip(pool, finite, strict=True) if f], costs[finite]
    # designs equal to 1e-9 (relative) count once
    scale = np.maximum(np.abs(costs).max(axis=0), 1e-300)
    _, index = np.unique(np.round(costs / scale, 9), axis=0, return_index=True)
    costs = costs[index]
    mask = non_dominated(costs)
    front = [pool[i] for i in index[mask]]
    return sorted(front, key=lambda r: objectives[0].sense * r[objectives[0].name])
