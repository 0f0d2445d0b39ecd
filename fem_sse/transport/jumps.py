"""The one definition of a jump in a discrete solution (1D and 2D, W-FEM and EAFE).

A jump of mu_Li0 is where mu_Li0 passes B of its material, i.e. a zero crossing of the
Kirchhoff variable W of that material (docs/model.md, "Jumps"). Between two nodes of one
material W is taken linear (exact for P1 and inside a DG1 cell), so a crossing is a change of
side of zero between the nodal values and its position is found by linear interpolation in W.
:mod:`fem_sse.transport.metrics1d` (nodes along the line) and
:mod:`fem_sse.transport.metrics2d` (edges of triangles, electrode facets) use these three rules;
the exact solver finds its crossings on the closed form (``ExactSolution.crossings``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["crosses", "opposite_sides", "touches", "zero_point"]


def crosses(a, b):
    """W changes side of zero between the node values ``a`` and ``b`` (A/m), zero counted on
    the positive side: every triangle a level line cuts has exactly two such edges."""
    return (np.asarray(a) >= 0.0) != (np.asarray(b) >= 0.0)


def touches(a, b):
    """W leaves zero towards positive values or reaches zero from them between ``a`` and ``b``
    (the exact solver's rule: mu = B at a segment start counts when mu then leaves B); with
    :func:`crosses`, every 1D crossing."""
    a, b = np.asarray(a), np.asarray(b)
    return ((a == 0.0) & (b > 0.0)) | ((a > 0.0) & (b == 0.0))


def opposite_sides(a, b):
    """``a`` and ``b`` strictly on opposite sides of zero (an electrode's W and a cell's node:
    the crossing lies in a boundary layer between them)."""
    return np.sign(a) * np.sign(b) < 0.0


def zero_point(xa, xb, a, b):
    """The point (m) where W, linear from ``a`` at ``xa`` to ``b`` at ``xb``, is zero."""
    return xa + (xb - xa) * (a / (a - b))
