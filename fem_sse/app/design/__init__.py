"""Design assistant (issue 9): metrics, maps, optimisation and drift tolerance of 1D stacks.

Built on the exact 1D solver (milliseconds per design); ``fem-sse design`` is the command
(docs/design.md).

* :func:`design_metrics` / :class:`DesignOptions`: jumps vs the edges, zones open to
  over/undershoot, t_Li, ionic resistance, film stresses (:data:`METRICS`).
* :class:`Evaluator`, :class:`Variable`: the design space (dotted keys, thickness fractions).
* :func:`design_map`, :func:`optimize`, :func:`pareto_front`, :func:`drift_margins`.

A light package: the names are imported from their submodules on first use
(:mod:`fem_sse.lazy`), so importing the package imports none of them.
"""

import sys
import types

from fem_sse.lazy import lazy_exports

__all__ = ["METRICS", "Constraint", "DesignOptions", "Evaluator", "Objective", "Variable",
           "design_map", "design_metrics", "drift_margins", "optimize", "pareto_front",
           "parse_constraint", "parse_objective", "parse_vary"]

_WHERE = {
    "design_map": "maps", "METRICS": "metrics", "DesignOptions": "metrics",
    "design_metrics": "metrics", "optimize": "optimize", "pareto_front": "optimize",
    "Constraint": "space", "Evaluator": "space", "Objective": "space", "Variable": "space",
    "parse_constraint": "space", "parse_objective": "space", "parse_vary": "space",
    "drift_margins": "tolerance"}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)


class _Package(types.ModuleType):
    """The package, whose ``optimize`` stays the function: importing the submodule of the
    same name sets the package attribute to the module, which would hide the function."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
