"""Exact steady state of the 1D stack (the paper's closed form, Eqs. 12-17, re-derived).

In every segment of constant properties the Li0 potential obeys the autonomous ODE::

    dmu/dx = -j_i / sigma_i + j_e / sigma_eh(mu),     sigma_eh = 2 A cosh(y),  y = (mu - B)/kT

(mu in eV, x in m, currents in A/m^2; "V" and "eV" are interchangeable after dividing by e).
j_i and j_e are the ionic and electronic current densities, both constant through the stack.
Its closed-form trajectory x(y) and the inversion y(x) are
:mod:`fem_sse.transport.exact1d_branch`.

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

from fem_sse.errors import ConfigError, ConvergenceError, SolveError
from fem_sse.failures import Diagnosis
from fem_sse.spec.config import Config, Segment
from fem_sse.transport.exact1d_branch import Branch, segment_branch

__all__ = ["ExactSolution", "SolveError", "solve_exact"]

_LOG_A_LIMIT = 650.0  # keep exp(+-log a) finite
CONTINUITY_TOL_EV = 1e-9  # a segment end off its neighbour's trajectory by more: a defect (eV)


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
        evaluations: marches the root search took.
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

    def branch(self, index: int) -> Branch:
        """Closed-form data of segment ``index``."""
        seg = self.segments[index]
        return segment_branch(seg, self.log_ratio, self.j_electronic, self.kT)

    def y_edges(self, index: int) -> tuple[float, float]:
        """Scaled potentials (mu - B)/kT at both ends of segment ``index``."""
        B = self.segments[index].material.B  # noqa: N806
        return ((self.mu_edges[index] - B) / self.kT, (self.mu_edges[index + 1] - B) / self.kT)

    def pinned_at_end(self, index: int) -> bool:
        """True when segment ``index``'s trajectory is better fixed by its end value than by
        its start value. x(y) measured from an end carries that end's round-off in y
        (eps |mu| / kT) times dx/dy there, which is unbounded next to a fixed point. A segment
        that starts on a plateau (y0 = -y* to round-off) leaves it at a place its start value
        cannot tell. Stack 34 of bench/stress1d.py (seed 17) is one: x(y1) from the start
        missed the segment's end by 89 nm of 96, so the jump was drawn at the start instead
        of the end. Its end value tells where the jump is."""
        br = self.branch(index)
        if br.k == 0.0:
            return False
        ends = zip(self.y_edges(index), self.mu_edges[index:index + 2])
        error = [br.log_slope(y) + math.log(max(abs(mu), 1e-300)) for y, mu in ends]
        return error[1] < error[0]

    def x_of(self, index: int, ys) -> np.ndarray:
        """Positions (m) in segment ``index`` where mu = B + kT y, for each y of ``ys``: the
        closed form, measured from the end that fixes the trajectory (:meth:`pinned_at_end`);
        not finite for a y the trajectory does not reach."""
        seg, br = self.segments[index], self.branch(index)
        y0, y1 = self.y_edges(index)
        with np.errstate(invalid="ignore"):
            if self.pinned_at_end(index):
                return np.array([seg.x1 - br.x_of(y1, y) for y in ys], dtype=float)
            return np.array([seg.x0 + br.x_of(y, y0) for y in ys], dtype=float)

    # -- fields ------------------------------------------------------------------------------
    def mu(self, x) -> np.ndarray:
        """mu_Li0 (eV) at the points ``x`` (m)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        out = np.empty_like(x)
        edges = self.x_edges()
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(self.segments) - 1)
        for k in np.unique(index):  # each segment's branch and anchor once
            seg, br, mine = self.segments[k], self.branch(k), np.flatnonzero(index == k)
            y0, y1 = self.y_edges(k)
            if self.pinned_at_end(k):
                ys = [br.retreat(y1, seg.x1 - xi) for xi in x[mine]]
            else:
                ys = [br.advance(y0, xi - seg.x0) for xi in x[mine]]
            out[mine] = seg.material.B + self.kT * np.asarray(ys)
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
            ys = np.linspace(y0, y1, n_per_segment)[1:-1]
            xs.append(self.x_of(i, ys))  # an end on a fixed point: x = inf - inf, dropped
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
            x = float(self.x_of(i, [(level - seg.material.B) / self.kT])[0])
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
        br = segment_branch(seg, log_ratio, j_e, kT)
        y = br.advance((mu[-1] - seg.material.B) / kT, seg.length)
        mu.append(seg.material.B + kT * y)
    return mu


def _march_back(segments: list[Segment], log_ratio: float, j_e: float, kT: float,  # noqa: N803
                mu_end: float) -> list[float]:
    """mu at every segment end, marching from x = L back to x = 0."""
    mu = [mu_end]
    for seg in reversed(segments):
        br = segment_branch(seg, log_ratio, j_e, kT)
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

    Both marches are one trajectory only when mu(L) is resolved by the root in ln(j_e/j_i).
    Where mu(L) changes by 0.1 eV and more within one ulp of it (a jump that ends at a
    segment end right before a layer that is near its own lower fixed point, stacks 31 and
    122 of bench/stress1d.py seed 16), the cathode march misses mu_anode and the anode march
    misses mu_cathode: each is exact on its own side only. The per-end choice is kept when its
    segments join; otherwise the state switches once, at the end where the two marches meet.
    """
    n = len(segments)
    growth_f, growth_b = [0.0] * (n + 1), [0.0] * (n + 1)  # ln of the amplification
    for i, seg in enumerate(segments):
        br = segment_branch(seg, log_ratio, j_e, kT)
        y0, y1 = ((forward[i] - seg.material.B) / kT, (forward[i + 1] - seg.material.B) / kT)
        growth_f[i + 1] = growth_f[i] + max(br.log_slope(y0) - br.log_slope(y1), 0.0)
    for i in reversed(range(n)):
        seg = segments[i]
        br = segment_branch(seg, log_ratio, j_e, kT)
        y0, y1 = ((backward[i] - seg.material.B) / kT, (backward[i + 1] - seg.material.B) / kT)
        growth_b[i] = growth_b[i + 1] + max(br.log_slope(y1) - br.log_slope(y0), 0.0)
    picked = [f if gf <= gb else b
              for f, b, gf, gb in zip(forward, backward, growth_f, growth_b)]
    if max(_join_defects(segments, log_ratio, j_e, kT, picked)) <= CONTINUITY_TOL_EV:
        return picked
    # forward up to end m, backward from end m on: only segment m - 1 or m can fail to join
    def cost(m):
        edges = forward[:m + 1] + backward[m + 1:]
        gap = max(_join_defects(segments[max(m - 1, 0):m + 1], log_ratio, j_e, kT,
                                edges[max(m - 1, 0):m + 2]))
        return (gap, max(growth_f[m], growth_b[m]))
    best = min(range(n + 1), key=cost)
    return forward[:best + 1] + backward[best + 1:]


def _join_defects(segments: list[Segment], log_ratio: float, j_e: float, kT: float,  # noqa: N803
                  mu_edges: list[float]) -> list[float]:
    """Per segment, how far (eV) its closed-form trajectory misses its far end.

    The trajectory from either end is tried (the better is kept): advancing from the left end
    amplifies round-off where the segment leaves a lower fixed point, retreating from the right
    end where it runs onto an upper one. A segment whose ends are on no common trajectory
    (a discontinuous state) misses by far more than round-off (1e-14 eV).
    """
    out = []
    for i, seg in enumerate(segments):
        br = segment_branch(seg, log_ratio, j_e, kT)
        y0, y1 = ((mu_edges[i] - seg.material.B) / kT, (mu_edges[i + 1] - seg.material.B) / kT)
        try:
            miss = abs(br.advance(y0, seg.length) - y1)
            if miss * kT > 1e-15:
                miss = min(miss, abs(br.retreat(y1, seg.length) - y0))
        except (ValueError, OverflowError, ZeroDivisionError):
            miss = math.inf
        out.append(kT * miss if math.isfinite(miss) else math.inf)
    return out


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
        ConvergenceError: if the state found is not continuous (a segment end off its
            segment's trajectory by more than CONTINUITY_TOL_EV): a defect, never a result.
    """
    if not config.shape.exact_solver:
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
    misses = _join_defects(segments, log_ratio, j_e, kT, mu_edges)
    worst = max(range(len(misses)), key=lambda i: misses[i])
    if not misses[worst] <= CONTINUITY_TOL_EV:
        raise ConvergenceError(
            f"the exact solver's state is not continuous: segment {worst} (x = "
            f"{segments[worst].x0:.6g}..{segments[worst].x1:.6g} m) misses its end by "
            f"{misses[worst]:.3g} eV > {CONTINUITY_TOL_EV:g} eV (a defect; please report the "
            "config)", Diagnosis(stage="exact solver continuity check", segment=worst,
                                 miss_eV=misses[worst], log_ratio=log_ratio))
    return ExactSolution(config, log_ratio, j_i, j_e, j_i * _ionic_resistance(segments), segments,
                         mu_edges, counter[0])
