"""Exact steady state of the 1D stack (the paper's closed form, Eqs. 12-17, re-derived).

In every segment of constant properties the Li0 potential obeys the autonomous ODE::

    dmu/dx = -j_i / sigma_i + j_e / sigma_eh(mu),     sigma_eh = 2 A cosh(y),  y = (mu - B)/kT

(mu in eV, x in m, currents in A/m^2; "V" and "eV" are interchangeable after dividing by e).
j_i and j_e are the ionic and electronic current densities, both constant through the stack.
Separating variables with ``a = (j_i / j_e) (2 A / sigma_i)`` and ``K = 2 A kT / j_e`` (m)::

    x - x0 = K [F(y) - F(y0)],      F(y) = int cosh(y) / (1 - a cosh(y)) dy.

For a < 1 the ODE has fixed points at y = +-y*, cosh(y*) = 1/a (the plateaus of the profile):
between them mu rises (the "jump"), outside it falls (ohmic drop, bottlenecks). With
s = exp(y), 1 - a cosh(y) = -(a/2) e^{-y} (s - e^{y*}) (s - e^{-y*}), and partial fractions give::

    F(y) = y a / (k (1 + k)) - [ln|1 - e^{y - y*}| - ln|1 - e^{-y - y*}|] / (a k),  k = sqrt(1 - a^2),

which is free of the cancellation of the textbook form (G(y) - y)/a when a is tiny (a ~ 1e-10 is
typical). For a >= 1 there is no fixed point (mu always falls)::

    F(y) = (G(y) - y) / a,  G(y) = -2 / sqrt(a^2 - 1) * atan(tanh(y/2) sqrt((a + 1)/(a - 1))).

Segments are chained with mu continuous; the single unknown ``l = ln(j_e / j_i)`` is found by
bracketing (mu(L) increases monotonically with l) so that the chain ends at mu_anode. Each
segment end is found by a bracketed root search in a variable that keeps full precision next to
the fixed points (the log-distance to y*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from fem_sse.spec.config import Config, ConfigError, Segment

__all__ = ["ExactSolution", "SolveError", "solve_exact"]

_LOG_A_LIMIT = 650.0  # keep exp(+-log a) finite


class SolveError(RuntimeError):
    """No steady state could be found (with a one-line diagnosis)."""


def _log_abs_one_minus_exp(z: float) -> float:
    """ln|1 - e^z| to full precision for every z (Maechler's log1mexp, both signs)."""
    if z > 0.0:
        return z + _log_abs_one_minus_exp(-z)
    if z < -0.6931471805599453:
        return math.log1p(-math.exp(z))
    if z < 0.0:
        return math.log(-math.expm1(z))
    return -math.inf


@dataclass(frozen=True)
class _Branch:
    """Closed-form trajectory data of one segment for given currents."""

    a: float  # (j_i / j_e) (2 A / sigma_i)
    K: float  # 2 A kT / j_e (m)  # noqa: N815
    ystar: float  # fixed point (inf when a >= 1)
    k: float  # sqrt(1 - a^2) (0 when a >= 1)

    @classmethod
    def make(cls, log_a: float, A: float, kT: float, j_e: float) -> _Branch:  # noqa: N803
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
            _log_abs_one_minus_exp(z1) - _log_abs_one_minus_exp(z2)) / (a * k)

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
                return _root(lambda y: self.F(y) - target, lo, y0)
            # below the lower fixed point: y = -y* - e^q, q increasing downstream
            def res(q):
                d = math.exp(q)
                return self.F(-ys - d, z1=-(2.0 * ys + d), z2=d) - target
            q0 = math.log(-ys - y0)
            q1 = math.log(-ys - y0 + self.a * dx / self.K + 1e-9)
            return -ys - math.exp(_root(res, q0, q1))
        if y0 > ys:  # above the upper fixed point: decays onto it, y = y* + e^p
            def res(p):
                d = math.exp(p)
                return self.F(ys + d, z1=d, z2=-(2.0 * ys + d)) - target
            p0 = math.log(y0 - ys)
            if res(-740.0) < 0.0:
                return ys
            return ys + math.exp(_root(res, -740.0, p0))
        if y0 == ys or y0 == -ys:
            return y0
        # between the fixed points: rises towards y*
        if self.F(0.0) >= target:  # ends below y = 0: y = -y* + e^q
            def res(q):
                d = math.exp(q)
                return self.F(-ys + d, z1=-(2.0 * ys - d), z2=-d) - target
            return -ys + math.exp(_root(res, math.log(y0 + ys), math.log(ys)))

        def res(p):  # ends above y = 0: y = y* - e^p, p decreasing downstream
            d = math.exp(p)
            return self.F(ys - d, z1=-d, z2=-(2.0 * ys - d)) - target
        if res(-740.0) < 0.0:
            return ys
        return ys - math.exp(_root(res, -740.0, math.log(ys - max(y0, 0.0))))


    def retreat(self, y1: float, dx: float) -> float:
        """The y a distance dx (m) upstream of y1 (the inverse of :meth:`advance`)."""
        if dx <= 0.0:
            return y1
        target = self.F(y1) - dx / self.K
        ys = self.ystar
        reach = self.a * dx / self.K + 1e-9  # |dy| <= a dx / K where mu falls
        if self.k == 0.0:  # falling everywhere: it came from above
            return _root(lambda y: self.F(y) - target, y1, y1 + reach * (1.0 + abs(y1)))
        if y1 == ys or y1 == -ys:
            return y1
        if y1 < -ys:  # below the lower fixed point, falling away from it: y = -y* - e^q
            def res(q):
                d = math.exp(q)
                return self.F(-ys - d, z1=-(2.0 * ys + d), z2=d) - target
            return -ys - math.exp(_root(res, -740.0, math.log(-ys - y1)))
        if y1 > ys:  # above the upper fixed point, falling onto it: y = y* + e^p
            def res(p):
                d = math.exp(p)
                return self.F(ys + d, z1=d, z2=-(2.0 * ys + d)) - target
            return ys + math.exp(_root(res, math.log(y1 - ys), math.log(y1 - ys + reach)))

        def res(q):  # between the fixed points, rising from near -y*: y = -y* + e^q
            d = math.exp(q)
            return self.F(-ys + d, z1=-(2.0 * ys - d), z2=-d) - target
        return -ys + math.exp(_root(res, -740.0, math.log(y1 + ys)))

    def log_slope(self, y: float) -> float:
        """ln|F'(y)| = ln cosh(y) - ln|1 - a cosh(y)|: a change dy0 at a segment's start
        becomes dy0 F'(y0)/F'(y1) at its end."""
        log_cosh = abs(y) + math.log1p(math.exp(-2.0 * abs(y))) - math.log(2.0)
        return log_cosh - _log_abs_one_minus_exp(math.log(self.a) + log_cosh)


def _root(fun, lo: float, hi: float) -> float:
    """Bracketed root of a monotone function; a bracket end when round-off hides the sign change."""
    f_lo, f_hi = fun(lo), fun(hi)
    if f_lo == 0.0 or f_hi == 0.0 or (f_lo > 0) == (f_hi > 0):
        return lo if abs(f_lo) <= abs(f_hi) else hi
    return brentq(fun, lo, hi, xtol=1e-15, rtol=8.9e-16, maxiter=200)


# ----------------------------------------------------------------------------------------------
# The chained solution
# ----------------------------------------------------------------------------------------------


@dataclass
class ExactSolution:
    """The exact 1D steady state.

    Attributes:
        config: the configuration solved.
        log_ratio: ln(j_e / j_i) (-).
        j_ionic: Li+ current density (A/m^2).
        j_electronic: electron/hole current density (A/m^2).
        ionic_potential_drop: (eta_i(0) - eta_i(L))/e (V).
        segments: the stack's segments.
        mu_edges: mu_Li0 at the segment end points 0 = x_0 < ... < x_n = L (eV).
    """

    config: Config
    log_ratio: float
    j_ionic: float
    j_electronic: float
    ionic_potential_drop: float
    segments: list[Segment]
    mu_edges: list[float]
    evaluations: int = 0

    @property
    def t_li(self) -> float:
        """Ionic transference number t_Li = j_i / (j_i + j_e) (-)."""
        return float(expit(-self.log_ratio))

    @property
    def one_minus_t_li(self) -> float:
        """1 - t_Li (-), without the round-off of forming it from t_Li."""
        return float(expit(self.log_ratio))

    @property
    def kT(self) -> float:  # noqa: N802
        """Thermal energy (eV)."""
        return self.config.cell.kT

    def branch(self, index: int) -> _Branch:
        """Closed-form data of segment ``index``."""
        seg = self.segments[index]
        return _branch(seg, self.log_ratio, self.j_electronic, self.kT)

    def y_edges(self, index: int) -> tuple[float, float]:
        """Scaled potentials (mu - B)/kT at both ends of segment ``index``."""
        B = self.segments[index].material.B  # noqa: N806
        return ((self.mu_edges[index] - B) / self.kT, (self.mu_edges[index + 1] - B) / self.kT)

    # -- fields ------------------------------------------------------------------------------
    def mu(self, x) -> np.ndarray:
        """mu_Li0 (eV) at the points ``x`` (m)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        out = np.empty_like(x)
        edges = self.x_edges()
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(self.segments) - 1)
        for i, xi in enumerate(x):
            seg = self.segments[index[i]]
            y0, _ = self.y_edges(index[i])
            y = self.branch(index[i]).advance(y0, xi - seg.x0)
            out[i] = seg.material.B + self.kT * y
        return out

    def eta_i(self, x) -> np.ndarray:
        """Li+ electrochemical potential eta_i / e (V), gauge eta_i(L) = 0."""
        return self.ionic_potential_drop - self.j_ionic * self.config.ionic_resistance(x)

    def x_edges(self) -> np.ndarray:
        """Segment end points (m)."""
        return np.array([s.x0 for s in self.segments] + [self.segments[-1].x1])

    def profile(self, n_uniform: int = 400, n_per_segment: int = 120):
        """Sample points (m) and mu_Li0 (eV): a uniform grid plus points dense in mu.

        The mu-dense points come straight from the closed form x(mu) (no root search), so the
        jumps are drawn sharply whatever their width.
        """
        xs = [np.linspace(0.0, self.config.thickness, n_uniform)]
        mus = [self.mu(xs[0])]
        for i, seg in enumerate(self.segments):
            y0, y1 = self.y_edges(i)
            br = self.branch(i)
            ys = np.linspace(y0, y1, n_per_segment)[1:-1]
            xs.append(np.array([seg.x0 + br.x_of(y, y0) for y in ys]))
            mus.append(seg.material.B + self.kT * ys)
        x = np.concatenate(xs)
        mu = np.concatenate(mus)
        keep = np.isfinite(x)
        order = np.argsort(x[keep], kind="stable")
        return x[keep][order], mu[keep][order]

    def crossings(self, level_of_segment) -> list[tuple[float, int, int]]:
        """Points where mu crosses a level inside segments, as (x (m), segment, direction +-1).

        Args:
            level_of_segment: callable segment -> level (eV).
        """
        found = []
        for i, seg in enumerate(self.segments):
            level = level_of_segment(seg)
            mu0, mu1 = self.mu_edges[i], self.mu_edges[i + 1]
            if (mu0 - level) * (mu1 - level) >= 0.0 and not (mu0 == level and mu1 != level):
                continue
            y0, _ = self.y_edges(i)
            y_level = (level - seg.material.B) / self.kT
            x = seg.x0 + self.branch(i).x_of(y_level, y0)
            found.append((min(max(x, seg.x0), seg.x1), i, 1 if mu1 > mu0 else -1))
        return found

    def intervals_where(self, above: float | None = None,
                        below: float | None = None) -> list[tuple[float, float]]:
        """x intervals (m) where mu > ``above`` or mu < ``below`` (one of them), per segment."""
        level = above if above is not None else below
        sign = 1.0 if above is not None else -1.0
        found = []
        cuts = {i: x for x, i, _ in self.crossings(lambda seg: level)}
        for i, seg in enumerate(self.segments):
            inside0 = sign * (self.mu_edges[i] - level) > 0
            inside1 = sign * (self.mu_edges[i + 1] - level) > 0
            if inside0 and inside1:
                found.append((seg.x0, seg.x1))
            elif inside0 != inside1 and i in cuts:
                found.append((seg.x0, cuts[i]) if inside0 else (cuts[i], seg.x1))
        return found

    def length_where(self, above: float | None = None, below: float | None = None) -> float:
        """Total length (m) where mu > ``above`` or mu < ``below`` (one of them)."""
        return math.fsum(x1 - x0 for x0, x1 in self.intervals_where(above, below))


def _branch(seg: Segment, log_ratio: float, j_e: float, kT: float) -> _Branch:  # noqa: N803
    m = seg.material
    log_a = -log_ratio + math.log(2.0 * m.A / m.sigma_li)
    return _Branch.make(log_a, m.A, kT, j_e)


def _currents(config: Config, log_ratio: float) -> tuple[float, float]:
    """(j_i, j_e) in A/m^2 for a given ln(j_e/j_i)."""
    cell = config.cell
    if cell.galvanostatic:
        j = cell.current_density
        return j * float(expit(-log_ratio)), j * float(expit(log_ratio))
    j_i = cell.ionic_potential_drop / _ionic_resistance(config.segments())
    return j_i, j_i * math.exp(log_ratio)


def _ionic_resistance(segments: list[Segment]) -> float:
    """Area-specific ionic resistance sum(L_k / sigma_k) (Ohm m^2)."""
    return math.fsum(s.length / s.material.sigma_li for s in segments)


def _march(segments: list[Segment], log_ratio: float, j_e: float, kT: float,  # noqa: N803
           mu_start: float) -> list[float]:
    """mu at every segment end, marching from x = 0."""
    mu = [mu_start]
    for seg in segments:
        br = _branch(seg, log_ratio, j_e, kT)
        y = br.advance((mu[-1] - seg.material.B) / kT, seg.length)
        mu.append(seg.material.B + kT * y)
    return mu


def _march_back(segments: list[Segment], log_ratio: float, j_e: float, kT: float,  # noqa: N803
                mu_end: float) -> list[float]:
    """mu at every segment end, marching from x = L back to x = 0."""
    mu = [mu_end]
    for seg in reversed(segments):
        br = _branch(seg, log_ratio, j_e, kT)
        y = br.retreat((mu[0] - seg.material.B) / kT, seg.length)
        mu.insert(0, seg.material.B + kT * y)
    return mu


def _best_edges(segments: list[Segment], log_ratio: float, j_e: float, kT: float,  # noqa: N803
                forward: list[float], backward: list[float]) -> list[float]:
    """Each segment end from the march that amplifies round-off least on the way there.

    Marching against the flow of a segment (into a jump that rises over a short distance)
    multiplies an error by F'(y0)/F'(y1), up to 1e6 and more per segment: on such stacks mu at
    an interface from the cathode side alone can be off by 0.1 meV, and by 0.3 eV at the anode.
    The same trajectory marched from the anode divides by that factor instead.
    """
    n = len(segments)
    growth_f, growth_b = [0.0] * (n + 1), [0.0] * (n + 1)  # ln of the amplification
    for i, seg in enumerate(segments):
        br = _branch(seg, log_ratio, j_e, kT)
        y0, y1 = ((forward[i] - seg.material.B) / kT, (forward[i + 1] - seg.material.B) / kT)
        growth_f[i + 1] = growth_f[i] + max(br.log_slope(y0) - br.log_slope(y1), 0.0)
    for i in reversed(range(n)):
        seg = segments[i]
        br = _branch(seg, log_ratio, j_e, kT)
        y0, y1 = ((backward[i] - seg.material.B) / kT, (backward[i + 1] - seg.material.B) / kT)
        growth_b[i] = growth_b[i + 1] + max(br.log_slope(y1) - br.log_slope(y0), 0.0)
    return [f if gf <= gb else b
            for f, b, gf, gb in zip(forward, backward, growth_f, growth_b)]


def _bracket(residual, guess: float, lo: float, hi: float) -> tuple[float, float]:
    """A sub-interval of [lo, hi] around ``guess`` on which the increasing ``residual`` changes
    sign (steps doubling outwards from 0.25); [lo, hi] itself when none is found first."""
    step = 0.25
    if residual(guess) < 0.0:
        left = guess
        while guess + step < hi:
            if residual(guess + step) >= 0.0:
                return left, guess + step
            left, step = guess + step, 2.0 * step
        return left, hi
    right = guess
    while guess - step > lo:
        if residual(guess - step) <= 0.0:
            return guess - step, right
        right, step = guess - step, 2.0 * step
    return lo, right


def solve_exact(config: Config, guess: float | None = None) -> ExactSolution:
    """Solve the 1D problem exactly (up to round-off and root-finding tolerance).

    Args:
        config: a 1D configuration.
        guess: optional ln(j_e / j_i) (-) near the answer, e.g. the ``log_ratio`` of a
            neighbouring design; the root is then bracketed outwards from it (same answer,
            about half the evaluations).

    Raises:
        ConfigError: if the configuration is not 1D.
        SolveError: if no electronic current in (0, inf) connects the boundary potentials.
    """
    if config.dim != 1:
        raise ConfigError("geometry.dim", "the exact solver is 1D only")
    segments = config.segments()
    kT = config.cell.kT  # noqa: N806
    log_2a_sigma = [math.log(2.0 * s.material.A / s.material.sigma_li) for s in segments]
    lo = max(log_2a_sigma) - _LOG_A_LIMIT
    hi = min(log_2a_sigma) + _LOG_A_LIMIT
    counter = [0]

    known: dict[float, float] = {}

    def residual(log_ratio: float) -> float:
        if log_ratio not in known:
            counter[0] += 1
            _, j_e = _currents(config, log_ratio)
            known[log_ratio] = (_march(segments, log_ratio, j_e, kT, config.cell.mu_cathode)[-1]
                                - config.cell.mu_anode)
        return known[log_ratio]

    r_lo, r_hi = residual(lo), residual(hi)
    if r_hi < 0.0 and config.cell.galvanostatic:
        cell = config.cell
        sigma_max = max(s.material.sigma_eh(mu, kT) for s in segments
                        for mu in (cell.mu_cathode, cell.mu_anode))
        close = " (equal to round-off)" if -r_hi <= 1e-12 * (1.0 + abs(cell.mu_anode)) else ""
        raise SolveError(
            "no steady state found: even with all of the applied current electronic, mu_Li0 "
            f"reaches at most {r_hi + cell.mu_anode:.12g} eV at x = L, below mu_anode = "
            f"{cell.mu_anode:.12g} eV{close}: the separator is an electronic short for this "
            f"window (sigma_eh up to {sigma_max:.3g} S/m at the electrodes); lower A, narrow "
            "the window or raise the current")
    if r_lo > 0.0 or r_hi < 0.0:
        raise SolveError(
            f"no steady state with 0 < t_Li < 1: mu(L) spans [{r_lo + config.cell.mu_anode:.4g}, "
            f"{r_hi + config.cell.mu_anode:.4g}] eV over all electronic currents, but mu_anode = "
            f"{config.cell.mu_anode:g} eV")
    if guess is not None and lo < guess < hi:
        lo, hi = _bracket(residual, guess, lo, hi)
    log_ratio = brentq(residual, lo, hi, xtol=1e-13, rtol=8.9e-16, maxiter=500)
    j_i, j_e = _currents(config, log_ratio)
    forward = _march(segments, log_ratio, j_e, kT, config.cell.mu_cathode)
    forward[-1] = config.cell.mu_anode  # the root's residual is round-off
    try:
        backward = _march_back(segments, log_ratio, j_e, kT, config.cell.mu_anode)
        mu_edges = _best_edges(segments, log_ratio, j_e, kT, forward, backward)
    except (ValueError, OverflowError, ZeroDivisionError):  # the forward march is kept
        mu_edges = forward
    mu_edges[0], mu_edges[-1] = config.cell.mu_cathode, config.cell.mu_anode
    return ExactSolution(config, log_ratio, j_i, j_e, j_i * _ionic_resistance(segments), segments,
                         mu_edges, counter[0])
