"""Design assistant (issue 9): metrics, maps, optimisation and drift tolerance of 1D stacks.

Built on the exact 1D solver (milliseconds per design); ``fem-sse design`` is the command
(docs/design.md).

* :func:`design_metrics` / :class:`DesignOptions`: jumps vs the edges, zones open to
  over/undershoot, t_Li, ionic resistance, film stresses (:data:`METRICS`).
* :class:`Evaluator`, :class:`Variable`: the design space (dotted keys, thickness fractions).
* :func:`design_map`, :func:`optimize`, :func:`pareto_front`, :func:`drift_margins`.
"""

from fem_sse.app.design.maps import design_map
from fem_sse.app.design.metrics import METRICS, DesignOptions, design_metrics
from fem_sse.app.design.optimize import optimize, pareto_front
from fem_sse.app.design.space import (
    Constraint,
    Evaluator,
    Objective,
    Variable,
    parse_constraint,
    parse_objective,
    parse_vary,
)
from fem_sse.app.design.tolerance import drift_margins

__all__ = ["METRICS", "Constraint", "DesignOptions", "Evaluator", "Objective", "Variable",
           "design_map", "design_metrics", "drift_margins", "optimize", "pareto_front",
           "parse_constraint", "parse_objective", "parse_vary"]
