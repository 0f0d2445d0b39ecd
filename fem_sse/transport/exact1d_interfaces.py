"""Exact 1D steady state of a stack with zero-thickness GB interfaces across the current.

A verification reference for the 2D schemes' GB interfaces (bench/gb_transverse.py,
tests/test_gb_transverse.py): a GB of conductance g (S/m^2) at x_k carries the ionic current
through a jump [eta_i] = -j_i / g, while eta_e is continuous, so mu_Li0 = eta_i + eta_e jumps by
-j_i / g (eV) there. Between interfaces every segment follows the closed form of
:mod:`fem_sse.transport.exact1d`; the single unknown ln(j_e / j_i) is found by bracketing, as
there (mu(L) still increases monotonically with it: a larger electronic share lowers j_i and so
every interface's drop).

A thin strip of width d and conductivity g d is NOT this limit where mu crosses B inside the
strip: the strip's electronic resistance d / (2 A) then stays comparable to the layers' until
d ~ L exp(-|[mu]| / kT) (a 1 V jump at 298 K: d below 1e-22 m), which the strip model of the
exact solver cannot reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scipy.optimize import brentq
from scipy.special import expit

from fem_sse.errors import ConfigError, SolveError
from fem_sse.spec.config import Config
from fem_sse.transport.exact1d import _LOG_A_LIMIT, _currents
from fem_sse.transport.exact1d_branch import segment_branch

__all__ = ["InterfaceSolution", "solve_exact_interfaces"]

@dataclass(frozen=True)
class InterfaceSolution:
    """The exact state with GB interfaces.

    Attributes:
        log_ratio: ln(j_e / j_i) (-).
        j_ionic, j_electronic: current densities (A/m^2).
        interfaces: (x (m), g (S/m^2)) of every GB interface.
        mu_left, mu_right: mu_Li0 (eV) on the cathode and anode side of every interface.
    """

    log_ratio: float
    j_ionic: float
    j_electronic: float
    interfaces: tuple[tuple[float, float], ...]
    mu_left: tuple[float, ...]
    mu_right: tuple[float, ...]

    @property
    def one_minus_t_li(self) -> float:
        """1 - t_Li (-)."""
        return float(expit(self.log_ratio))


def _split(segments, xs):
    out = []
    for seg in segments:
        cuts = [seg.x0, *sorted(x for x in xs if seg.x0 < x < seg.x1), seg.x1]
        out += [replace(seg, x0=a, x1=b) for a, b in zip(cuts[:-1], cuts[1:])]
    return out


def solve_exact_interfaces(config: Config,
                           interfaces: list[tuple[float, float]]) -> InterfaceSolution:
    """The exact galvanostatic state of the 1D ``config`` with GB interfaces.

    Args:
        config: a 1D, galvanostatic configuration.
        interfaces: (x (m), g (S/m^2)) pairs, 0 < x < L, g > 0.

    Raises:
        ConfigError: a potentiostatic config, or an interface outside (0, L) or with g <= 0.
        SolveError: no electronic current in (0, inf) connects the electrode potentials.
    """
    cell = config.cell
    if not cell.galvanostatic:
        raise ConfigError("cell.current_density", "the interface reference is galvanostatic")
    for x, g in interfaces:
        if not (0.0 < x < config.thickness and g > 0.0):
            raise ConfigError("interfaces", f"need 0 < x < {config.thickness:g} m and g > 0 "
                              f"S/m^2, got ({x:g}, {g:g})")
    at = {x: g for x, g in interfaces}
    segments = _split(config.segments(), list(at))
    kT = cell.kT  # noqa: N806

    def march(log_ratio: float):
        j_i, j_e = _currents(config, log_ratio)
        mu, left, right = cell.mu_cathode, [], []
        for seg in segments:
            branch = segment_branch(seg, log_ratio, j_e, kT)
            mu = seg.material.B + kT * branch.advance((mu - seg.material.B) / kT, seg.length)
            if seg.x1 in at:
                left.append(mu)
                mu -= j_i / at[seg.x1]
                right.append(mu)
        return mu - cell.mu_anode, left, right

    logs = [math.log(2.0 * s.material.A / s.material.sigma_li) for s in segments]
    lo, hi = max(logs) - _LOG_A_LIMIT, min(logs) + _LOG_A_LIMIT
    if march(lo)[0] > 0.0 or march(hi)[0] < 0.0:
        raise SolveError("no steady state with 0 < t_Li < 1 for these interfaces")
    log_ratio = brentq(lambda v: march(v)[0], lo, hi, xtol=1e-13, rtol=8.9e-16, maxiter=500)
    _, left, right = march(log_ratio)
    order = sorted(at)
    return InterfaceSolution(log_ratio, *_currents(config, log_ratio),
                             tuple((x, at[x]) for x in order),
                             tuple(left), tuple(right))
