"""The certificates of a transport run as records, and the one place their summary keys are
spelled: the 1D check against the exact solution (:mod:`fem_sse.transport.certify1d`) and the
2D certificate of the W-FEM (:mod:`fem_sse.transport.certify2d`) and of the EAFE scheme
(:func:`fem_sse.transport.eafe2d_solve.certificate_2d`). The checks themselves stay in those
modules; NumPy only, no DOLFINx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.records import MappingRecord, SummaryRecord, optional, spliced

__all__ = ["Certificate", "CurrentBalance", "ExactCheck", "ExactComparison", "ExactDifferences",
           "residual_summary", "unbalanced"]


@dataclass(frozen=True)
class ExactDifferences(SummaryRecord, MappingRecord):
    """Differences of a 1D result from the exact one (:func:`fem_sse.transport.certify1d.
    compare`), or their tolerances: 1 - t_Li and t_Li (relative, -), the largest jump shift
    (/L, -; None when the jump lists differ in count, layer or direction), the largest
    interface potential difference (eV) and, for differences, both jump counts."""

    rel_err_one_minus_t: float
    rel_err_t: float
    jump_err_over_L: float | None  # noqa: N815
    mu_interface_err_eV: float  # noqa: N815
    jump_count_fem: int | None = optional()
    jump_count_exact: int | None = optional()

    def beyond(self, limits: ExactDifferences) -> list[str]:
        """The names of the differences that exceed their ``limits`` (or are None)."""
        return [f.name for f in fields(limits) if getattr(limits, f.name) is not None
                and (getattr(self, f.name) is None
                     or not getattr(self, f.name) <= getattr(limits, f.name))]


@dataclass(frozen=True)
class ExactCheck(SummaryRecord):
    """The ``exact_check`` block of a 1D FEM or EAFE run (:func:`fem_sse.transport.certify1d.
    exact_check`): exact 1 - t_Li and t_Li (-), the differences, the tolerances and whether
    they passed."""

    one_minus_t_li_exact: float
    t_li_exact: float
    differences: ExactDifferences = spliced("", required=True)
    tolerances: ExactDifferences
    passed: bool

    def to_summary(self) -> dict:
        """The summary key (and the diagnosis key of a check that failed)."""
        return {"exact_check": super().to_summary()}


@dataclass(frozen=True, kw_only=True)
class CurrentBalance(SummaryRecord):
    """The ``current_balance`` block of a 2D certificate (A/m^2 per cathode length): the
    ionic and electronic currents entering at the cathode and leaving at the anode, the
    relative imbalance of the totals and of the electronic current (-) and, galvanostatic,
    the relative error of the anode current against the applied one (-). The EAFE scheme
    adds the round-off bounds of its electrode reactions, the electronic current through the
    t_Li cut and how many measurements resolve it."""

    ionic_cathode_A_per_m2: float  # noqa: N815
    ionic_anode_A_per_m2: float  # noqa: N815
    electronic_cathode_A_per_m2: float  # noqa: N815
    electronic_anode_A_per_m2: float  # noqa: N815
    electronic_cathode_roundoff_A_per_m2: float | None = optional()  # noqa: N815
    electronic_anode_roundoff_A_per_m2: float | None = optional()  # noqa: N815
    electronic_cut_A_per_m2: float | None = optional()  # noqa: N815
    electronic_resolved: str | None = optional()
    relative_imbalance: float
    electronic_relative_imbalance: float
    applied_current_error: float | None = optional()

    @property
    def anode_total_A_per_m2(self) -> float:  # noqa: N802
        """The total current leaving at the anode (A/m^2 per cathode length)."""
        return self.ionic_anode_A_per_m2 + self.electronic_anode_A_per_m2


@dataclass(frozen=True, kw_only=True)
class ExactComparison(SummaryRecord):
    """The ``exact_1d`` block of a 2D certificate (laterally uniform stacks): ``status``
    "ok" with the exact t_Li and 1 - t_Li (-), the exact jump positions (m), the relative
    difference of 1 - t_Li, whether the jump counts agree and the largest jump shift (/L,
    when they do); or "no steady state" with the exact solver's ``reason``."""

    status: str
    reason: str | None = optional()
    t_li: float | None = optional()
    one_minus_t_li: float | None = optional()
    jumps_m: list | None = optional()
    rel_diff_one_minus_t_li: float | None = optional()
    same_jump_count: bool | None = optional()
    max_jump_diff_over_L: float | None = optional()  # noqa: N815

    @property
    def ok(self) -> bool:
        """True when the exact solver found the steady state the block compares with."""
        return self.status == "ok"

    @property
    def no_steady_state(self) -> bool:
        """True when the exact solver found no steady state for the stack."""
        return self.status == "no steady state"


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
        checks: the checks on a second discretisation (:class:`fem_sse.transport.crosscheck.
            SchemeCheck`: another scheme on the same mesh; :class:`fem_sse.transport.
            refined_check.RefinedCheck`: the same scheme on the refined mesh), each a block of
            the summary under its ``summary_key``.
    """

    balance: CurrentBalance
    residual: dict
    exact_1d: ExactComparison | None
    reasons: list
    front_coverage: list
    obtuse_edges: int | None = None
    checks: tuple = ()

    @property
    def certified(self) -> bool:
        """True when no check found a reason against the state."""
        return not self.reasons

    def to_summary(self) -> dict:
        """The certificate's summary keys, in order."""
        obtuse = {} if self.obtuse_edges is None else {"obtuse_edges": self.obtuse_edges}
        check = {c.summary_key: c.to_summary() for c in self.checks}
        exact = None if self.exact_1d is None else self.exact_1d.to_summary()
        return {"current_balance": self.balance.to_summary(), **self.residual, "exact_1d": exact,
                **obtuse, "not_converged_because": self.reasons,
                "front_coverage": self.front_coverage, **check}

    def with_check(self, check) -> Certificate:
        """This certificate with the check ``check`` (see ``checks``): its block in the summary,
        and its reason against the state when the two solves disagree."""
        reasons = [*self.reasons, check.reason()] if check.disagrees else list(self.reasons)
        return replace(self, reasons=reasons, checks=(*self.checks, check))

    @staticmethod
    def reasons_in(summary: Mapping) -> list:
        """The reasons a transport step's summary keys give against its state (empty: none,
        or no certificate)."""
        return summary.get("not_converged_because") or []


def unbalanced(what: str, problems: list[str], balance: CurrentBalance) -> ConvergenceError:
    """The error of a solve that stopped on a state that is no solution (``problems``: the
    broken balances, :func:`fem_sse.transport.certify2d.balance_problems`)."""
    return ConvergenceError(
        f"{what} stopped on a state that is no solution: " + "; ".join(problems),
        Diagnosis(stage="current balance check", current_balance=balance, good_state=False))
