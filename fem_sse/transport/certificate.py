"""The certificates of a transport run as records, and the one place their summary keys are
spelled: the 1D check against the exact solution (:mod:`fem_sse.transport.certify1d`) and the
2D certificate of the W-FEM (:mod:`fem_sse.transport.certify2d`) and of the EAFE scheme
(:func:`fem_sse.transport.eafe2d_solve.certificate_2d`). The checks themselves stay in those
modules; NumPy only, no DOLFINx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from fem_sse.errors import ConvergenceError

__all__ = ["Certificate", "ExactCheck", "residual_summary", "unbalanced"]


@dataclass(frozen=True)
class ExactCheck:
    """The ``exact_check`` block of a 1D FEM or EAFE run (:func:`fem_sse.transport.certify1d.
    exact_check`): exact 1 - t_Li, the differences, the tolerances and whether they passed."""

    block: dict

    def to_summary(self) -> dict:
        """The summary key (and the diagnosis key of a check that failed)."""
        return {"exact_check": self.block}


def residual_summary(norm: float, relative: float | None = None,
                     units: str | None = None) -> dict:
    """The final Newton residual keys of a 2D certificate: the norm, and either its value
    relative to the total current (W-FEM, -) or its units (EAFE)."""
    out = {"newton_residual": norm}
    if relative is not None:
        out["newton_residual_relative"] = relative
    if units is not None:
        out["newton_residual_units"] = units
    return out


@dataclass(frozen=True)
class Certificate:
    """What the 2D checks found about a final state.

    Attributes:
        balance: currents entering and leaving (A/m^2) and their relative imbalance (-).
        residual: the Newton residual keys (:func:`residual_summary`).
        exact_1d: the exact 1D comparison of a laterally uniform stack (None: not one).
        reasons: why the state is not converged (empty: certified).
        front_coverage: each front's length over the cathode length (-).
        obtuse_edges: EAFE: edges with a negative cotangent weight (None: W-FEM).
    """

    balance: dict
    residual: dict
    exact_1d: dict | None
    reasons: list
    front_coverage: list
    obtuse_edges: int | None = None
    scheme_check: dict | None = None

    @property
    def certified(self) -> bool:
        """True when no check found a reason against the state."""
        return not self.reasons

    def to_summary(self) -> dict:
        """The certificate's summary keys, in order."""
        obtuse = {} if self.obtuse_edges is None else {"obtuse_edges": self.obtuse_edges}
        check = {} if self.scheme_check is None else {"scheme_check": self.scheme_check}
        return {"current_balance": self.balance, **self.residual, "exact_1d": self.exact_1d,
                **obtuse, "not_converged_because": self.reasons,
                "front_coverage": self.front_coverage, **check}

    def with_check(self, check) -> Certificate:
        """This certificate with the second-scheme check ``check`` (a
        :class:`fem_sse.transport.crosscheck.SchemeCheck`): its block in the summary, and its
        reason against the state when the two schemes disagree."""
        reasons = [*self.reasons, check.reason()] if check.disagrees else list(self.reasons)
        return replace(self, reasons=reasons, scheme_check=check.to_summary())

    @staticmethod
    def reasons_in(summary: Mapping) -> list:
        """The reasons a transport step's summary keys give against its state (empty: none,
        or no certificate)."""
        return summary.get("not_converged_because") or []


def unbalanced(what: str, problems: list[str], balance: dict) -> ConvergenceError:
    """The error of a solve that stopped on a state that is no solution (``problems``: the
    broken balances, :func:`fem_sse.transport.certify2d.balance_problems`)."""
    return ConvergenceError(
        f"{what} stopped on a state that is no solution: " + "; ".join(problems),
        {"stage": "current balance check", "current_balance": balance, "good_state": False})
