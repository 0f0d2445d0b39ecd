"""Design maps: every metric on an n x n grid of two varied keys (exact solver)."""

from __future__ import annotations

import time

import numpy as np

from fem_sse.app.design.metrics import METRICS
from fem_sse.app.design.space import Evaluator

__all__ = ["design_map"]


def design_map(evaluator: Evaluator, n: int = 50) -> dict:
    """Evaluate the n x n grid of the evaluator's two variables.

    The grid is walked in a snake (boustrophedon) order so that every solve is warm-started
    from a neighbouring design.

    Returns:
        dict: ``x``, ``y`` (the values of the first and second key), ``metrics`` (name ->
        (n_y, n_x) array, NaN where a design failed), ``status`` ((n_y, n_x) strings),
        ``records`` (row-major list), ``wall_time_s``.
    """
    if len(evaluator.variables) != 2:
        raise ValueError("a design map needs exactly two varied keys")
    vx, vy = evaluator.variables
    xs, ys = vx.grid(n), vy.grid(n)
    start = time.perf_counter()
    grid: list[list[dict | None]] = [[None] * n for _ in range(n)]
    for j, y in enumerate(ys):
        order = range(n) if j % 2 == 0 else range(n - 1, -1, -1)
        for i in order:
            grid[j][i] = evaluator([xs[i], y])
    elapsed = time.perf_counter() - start
    records = [grid[j][i] for j in range(n) for i in range(n)]
    metrics = {name: np.array([[float(grid[j][i][name]) for i in range(n)] for j in range(n)])
               for name in METRICS}
    status = np.array([[grid[j][i]["status"] for i in range(n)] for j in range(n)])
    return {"x": np.array(xs), "y": np.array(ys), "keys": (vx.key, vy.key),
            "log": (vx.log, vy.log), "metrics": metrics, "status": status, "records": records,
            "wall_time_s": elapsed}
