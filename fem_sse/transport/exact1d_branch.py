"""Closed-form trajectory of one segment of the 1D stack (the paper's Eq. 17, re-derived).

In a segment of constant properties the Li0 potential obeys the autonomous ODE::

    dmu/dx = -j_i / sigma_i + j_e / sigma_eh(mu),     sigma_eh = 2 A cosh(y),  y = (mu - B)/kT

(mu in eV, x in m, currents in A/m^2). Separating variables with ``a = (j_i / j_e) (2 A /
sigma_i)`` and ``K = 2 A kT / j_e`` (m)::

    x - x0 = K [F(y) - F(y0)],      F(y) = int cosh(y) / (1 - a cosh(y)) dy.

For a < 1 the ODE has fixed points at y = +-y*, cosh(y*) = 1/a (the plateaus of the profile):
between them mu rises (the "jump"), outside it falls (ohmic drop, bottlenecks). With
s = exp(y), 1 - a cosh(y) = -(a/2) e^{-y} (s - e^{y*}) (s - e^{-y*}), and partial fractions
give::

    F(y) = y a / (k (1 + k)) - [ln|1 - e^{y - y*}| - ln|1 - e^{-y - y*}|] / (a k),
    k = sqrt(1 - a^2),

which is free of the cancellation of the textbook form (G(y) - y)/a when a is tiny (a ~ 1e-10 is
typical). For a >= 1 there is no fixed point (mu always falls)::

    F(y) = (G(y) - y) / a,  G(y) = -2 / sqrt(a^2 - 1) * atan(tanh(y/2) sqrt((a + 1)/(a - 1))).

:meth:`Branch.advance` and :meth:`Branch.retreat` invert F by a bracketed root search in a
variable that keeps full precision next to the fixed points (the log-distance to y*).
:mod:`fem_sse.transport.exact1d` chains the segments. NumPy/SciPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq

from fem_sse.spec.config import Segment

__all__ = ["Branch", "bracketed_root", "log_abs_one_minus_exp", "segment_branch"]


def log_abs_one_minus_exp(z: float) -> float:
    """ln|1 - e^z| to full precision for every z (Maechler's log1mexp, both signs)."""
    if z > 0.0:
        return z + log_abs_one_minus_exp(-z)
    if z < -0.6931471805599453:
        return math.log1p(-math.exp(z))
    if z < 0.0:
        return math.log(-math.expm1(z))
    return -math.inf


@dataclass(frozen=True)
class Branch:
    """Closed-form trajectory data of one segment for given currents."""

    a: float  # (j_i / j_e) (2 A / sigma_i)
    K: float  # 2 A kT / j_e (m)  # noqa: N815
    ystar: float  # fixed point (inf when a >= 1)
    k: float  # sqrt(1 - a^2) (0 when a >= 1)

    @classmethod
    def make(cls, log_a: float, A: float, kT: float, j_e: float) -> Branch:  # noqa: N803
        a = math.exp(log_a)
        if a < 1.0:
            k = math.sqrt((1.0 - a) * (1.0 + a))
            return cls(a, 2.0 * A * kT / j_e, math.log1p(k) - log_a, k)
        a = max(a, 1.0 + 1e-12)  # a = 1 exactly is the a -> 1+ limit to round-off
        return cls(a, 2.0 * A * kT / j_e, math.inf, 0.0)

    # -- antiderivative ---------------------------------------------------------------------
    def F(self, y: float, z1: float | None = None, z2: float | None = None) -> float:  # noqa: N802
        """F(y); z1 = y - y* and z2 = -y - y* may be passed when known more accurately."""
        a = self.a
        if self.k == 0.0:
            c = math.sqrt((a + 1.0) / (a - 1.0))
            g = -2.0 / math.sqrt((a - 1.0) * (a + 1.0)) * math.atan(math.tanh(0.5 * y) * c)
            return (g - y) / a
        k = self.k
        z1 = y - self.ystar if z1 is None else z1
        z2 = -y - self.ystar if z2 is None else z2
        return y * a / (k * (1.0 + k)) - (
            log_abs_one_minus_exp(z1) - log_abs_one_minus_exp(z2)) / (a * k)

    def x_of(self, y: float, y0: float) -> float:
        """Distance (m) from the point y0 to the point y along the trajectory."""
        return self.K * (self.F(y) - self.F(y0))

    # -- inversion ---------------------------------------------------------------------------
    def advance(self, y0: float, dx: float) -> float:
        """The y reached a distance dx (m) downstream of y0."""
        if dx <= 0.0:
            return y0
        target = self.F(y0) + dx / self.K
        ys = self.ystar
        if self.k == 0.0 or y0 < -ys:  # falling without bound: |dy| <= a dx / K
            if self.k == 0.0:
                lo = y0 - self.a * dx / self.K - 1e-9 * (1.0 + abs(y0))
                return bracketed_root(lambda y: self.F(y) - target, lo, y0)
            # below the lower fixed point: y = -y* - e^q, q increasing downstream
            def res(q):
                d = math.exp(q)
                return self.F(-ys - d, z1=-(2.0 * ys + d), z2=d) - target
            q0 = math.log(-ys - y0)
            q1 = math.log(-ys - y0 + self.a * dx / self.K + 1e-9)
            return -ys - math.exp(bracketed_root(res, q0, q1))
        if y0 > ys:  # above the upper fixed point: decays onto it, y = y* + e^p
            def res(p):
                d = math.exp(p)
                return self.F(ys + d, z1=d, z2=-(2.0 * ys + d)) - target
            p0 = math.log(y0 - ys)
            if res(-740.0) < 0.0:
                return ys
            return ys + math.exp(bracketed_root(res, -740.0, p0))
        if y0 == ys or y0 == -ys:
            return y0
        # between the fixed points: rises towards y*
        if self.F(0.0) >= target:  # ends below y = 0: y = -y* + e^q
            def res(q):
                d = math.exp(q)
                return self.F(-ys + d, z1=-(2.0 * ys - d), z2=-d) - target
            return -ys + math.exp(bracketed_root(res, math.log(y0 + ys), math.log(ys)))

        def res(p):  # ends above y = 0: y = y* - e^p, p decreasing downstream
            d = math.exp(p)
            return self.F(ys - d, z1=-d, z2=-(2.0 * ys - d)) - target
        if res(-740.0) < 0.0:
            return ys
        return ys - math.exp(bracketed_root(res, -740.0, math.log(ys - max(y0, 0.0))))


    def retreat(self, y1: float, dx: float) -> float:
        """The y a distance dx (m) upstream of y1 (the inverse of :meth:`advance`)."""
        if dx <= 0.0:
            return y1
        target = self.F(y1) - dx / self.K
        ys = self.ystar
        reach = self.a * dx / self.K + 1e-9  # |dy| <= a dx / K where mu falls
        if self.k == 0.0:  # falling everywhere: it came from above
            return bracketed_root(lambda y: self.F(y) - target, y1, y1 + reach * (1.0 + abs(y1)))
        if y1 == ys or y1 == -ys:
            return y1
        if y1 < -ys:  # below the lower fixed point, falling away from it: y = -y* - e^q
            def res(q):
                d = math.exp(q)
                return self.F(-ys - d, z1=-(2.0 * ys + d), z2=d) - target
            return -ys - math.exp(bracketed_root(res, -740.0, math.log(-ys - y1)))
        if y1 > ys:  # above the upper fixed point, falling onto it: y = y* + e^p
            def res(p):
                d = math.exp(p)
                return self.F(ys + d, z1=d, z2=-(2.0 * ys + d)) - target
            return ys + math.exp(bracketed_root(res, math.log(y1 - ys), math.log(y1 - ys + reach)))

        def res(q):  # between the fixed points, rising from near -y*: y = -y* + e^q
            d = math.exp(q)
            return self.F(-ys + d, z1=-(2.0 * ys - d), z2=-d) - target
        return -ys + math.exp(bracketed_root(res, -740.0, math.log(y1 + ys)))

    def log_slope(self, y: float) -> float:
        """ln|F'(y)| = ln cosh(y) - ln|1 - a cosh(y)|: a change dy0 at a segment's start
        becomes dy0 F'(y0)/F'(y1) at its end."""
        log_cosh = abs(y) + math.log1p(math.exp(-2.0 * abs(y))) - math.log(2.0)
        return log_cosh - log_abs_one_minus_exp(math.log(self.a) + log_cosh)


def bracketed_root(fun, lo: float, hi: float) -> float:
    """Bracketed root of a monotone function; a bracket end when round-off hides the sign change."""
    f_lo, f_hi = fun(lo), fun(hi)
    if f_lo == 0.0 or f_hi == 0.0 or (f_lo > 0) == (f_hi > 0):
        return lo if abs(f_lo) <= abs(f_hi) else hi
    return brentq(fun, lo, hi, xtol=1e-15, rtol=8.9e-16, maxiter=200)


def segment_branch(seg: Segment, log_ratio: float, j_e: float, kT: float) -> Branch:  # noqa: N803
    """Closed-form data of ``seg`` for ln(j_e / j_i) = ``log_ratio``, j_e (A/m^2), kT (eV)."""
    m = seg.material
    log_a = -log_ratio + math.log(2.0 * m.A / m.sigma_li)
    return Branch.make(log_a, m.A, kT, j_e)

