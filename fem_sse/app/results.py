"""The typed result of a run (summary.json) and the one place its run keys are spelled.

A :class:`RunResult` is a run's summary: the run information (:class:`RunInfo`: case, solver,
mode, thickness, versions, ranks), the transport step's keys (built by
:meth:`fem_sse.transport.results.TransportResult.to_summary` with the solver's own keys) and
the mechanics step's (:class:`fem_sse.mechanics.results.MechanicsSummary`).
:meth:`RunResult.to_summary` gives them in the order of docs/outputs.md; :func:`failed_summary`
is the summary of a run that found no steady state or did not converge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fem_sse import __version__
from fem_sse.mechanics.results import MechanicsSummary
from fem_sse.transport.results import (
    TransportResult,
    converged_in,
    converged_summary,
    error_summary,
    transference_summary,
)

__all__ = ["Fallback", "RunInfo", "RunResult", "failed_summary", "files_summary",
           "restart_summary"]


def _dolfinx_version() -> str | None:
    try:
        import dolfinx
    except ImportError:
        return None
    return dolfinx.__version__


@dataclass(frozen=True)
class RunInfo:
    """What was run, and where.

    Attributes:
        case: the case name; solver: the solver that produced the result ("exact", "fem",
            "fem-eafe"; the fallback's when it took over).
        galvanostatic: the operation mode; thickness_m: the separator thickness (m).
        ranks: MPI ranks of the run; dolfinx_version: None without DOLFINx.
    """

    case: str
    solver: str
    galvanostatic: bool
    thickness_m: float
    ranks: int
    dolfinx_version: str | None = field(default_factory=_dolfinx_version)
    fem_sse_version: str = __version__

    @classmethod
    def of(cls, config, solver: str, comm) -> RunInfo:
        """The run information of ``config`` solved by ``solver`` on ``comm``."""
        return cls(config.name, solver, config.cell.galvanostatic, config.thickness, comm.size)

    @classmethod
    def from_summary(cls, summary: Mapping) -> RunInfo:
        """The run information a summary.json holds (a key it lacks reads as None; a
        restart summary has no mode: galvanostatic)."""
        return cls(summary.get("case"), summary.get("solver"),
                   summary.get("mode", "galvanostatic") == "galvanostatic",
                   summary.get("thickness_m"), summary.get("ranks"),
                   summary.get("dolfinx_version"), summary.get("fem_sse_version"))

    def head(self) -> dict:
        """The keys a summary starts with."""
        return {"case": self.case, "solver": self.solver}

    def tail(self) -> dict:
        """The keys a summary ends with (``converged`` goes between mode/thickness and them)."""
        return {"mode": "galvanostatic" if self.galvanostatic else "potentiostatic",
                "thickness_m": self.thickness_m}

    def table_keys(self) -> tuple[str, ...]:
        """The run information a sweep's table shows after the results: the ranks."""
        return tuple(self.versions())[-1:]

    def versions(self) -> dict:
        """The versions and the ranks (the last keys)."""
        return {"dolfinx_version": self.dolfinx_version, "fem_sse_version": self.fem_sse_version,
                "ranks": self.ranks}


@dataclass
class RunResult:
    """A solved run: its information, the transport step's summary keys and the mechanics'.

    Attributes:
        info: :class:`RunInfo`.
        transport: the transport step's keys, in order (``TransportResult.to_summary`` and the
            solver's keys: refinement history, certificate, fallback, ...); ``converged`` among
            them when the solver decides it (the exact solver always converges).
        mechanics: the mechanics step's summary, or None without a [mechanics] table.
    """

    info: RunInfo
    transport: dict
    mechanics: MechanicsSummary | None = None

    @property
    def converged(self) -> bool:
        """Whether the transport solver reached its tolerance (and certificate)."""
        return converged_in(self.transport)

    def to_summary(self) -> dict:
        """The summary.json keys of the run, in order."""
        mechanics = self.mechanics.run_keys() if self.mechanics is not None else {}
        # a solver that reports ``converged`` keeps it at its place among its keys
        return {**self.info.head(), **self.transport, **mechanics, **self.info.tail(),
                **converged_summary(self.converged), **self.info.versions()}


def failed_summary(info: RunInfo, exc: Exception, diagnosis, good_state: bool,
                   no_steady_state: bool) -> dict:
    """The summary of a run that failed: ``"converged": false``, the error, its ``diagnosis``
    (a :class:`~fem_sse.failures.Diagnosis`), null transference keys, whether the last good
    state was written (``good_state``) and, for the exact solver's verdict that none exists
    (``no_steady_state``), ``"steady_state": false``."""
    summary = {**info.head(), **converged_summary(False), **error_summary(str(exc)),
               "diagnosis": diagnosis.to_summary(),
               **TransportResult.unknown_summary(),
               "state": "last good state (see diagnosis.stage)" if good_state else "none",
               **info.tail(), **info.versions()}
    if no_steady_state:
        summary["steady_state"] = False
    return summary


#: the solver that takes over where the W formulation does not converge
FALLBACK_SOLVER = "fem-eafe"


@dataclass(frozen=True)
class Fallback:
    """The exponentially fitted scheme took over from the W formulation (``solver.fallback``):
    why (``reason``: the W formulation's error or verdict, one line), at which ``stage``, and
    the W solve's wall time before it (``from_time_s``, s; the run's ``wall_time_s``
    includes it)."""

    reason: str
    stage: str | None
    from_time_s: float | None = None

    def to_summary(self) -> dict:
        """The ``fallback`` block of the summary."""
        block = {"from": "fem", "to": FALLBACK_SOLVER, "reason": self.reason,
                 "stage": self.stage}
        if self.from_time_s is not None:
            block["from_time_s"] = self.from_time_s
        return {"fallback": block}

    @staticmethod
    def failure(error: Exception | str) -> dict:
        """The ``fallback`` block of a W failure's diagnosis (``Diagnosis.fallback``) when the
        fallback failed too."""
        return _failed(error)

    @staticmethod
    def not_taken(error: Exception | str) -> dict:
        """The ``fallback_failed`` key of a W result kept because the fallback failed."""
        return {"fallback_failed": _failed(error)}

    @staticmethod
    def solver_of(summary: dict, solver: str) -> str:
        """The solver that produced ``summary`` (the fallback's when it took over)."""
        return summary.get("fallback", {}).get("to", solver)


def _failed(error: Exception | str) -> dict:
    return {"to": FALLBACK_SOLVER, **error_summary(" ".join(str(error).split()))}


def restart_summary(case: str, run_folder, sets: dict, saved, ranks: int) -> dict:
    """The first keys of ``fem-sse mechanics``' summary: the case, the run it restarts from,
    the ``--set`` changes, the saved run's solver, t_Li and ranks (``saved``: its
    :class:`~fem_sse.io.checkpoint.SavedRun`), the ranks now and the version."""
    return {"case": case, "restart_from": str(run_folder), "set": sets,
            "solver": saved.solver, **transference_summary(saved.t_li, saved.one_minus_t_li),
            "written_on_ranks": saved.ranks, "ranks": ranks, "fem_sse_version": __version__}


def files_summary(files: list[str]) -> dict:
    """The ``files`` key of a run's (or a restart's) summary: what it wrote, relative to its
    folder."""
    return {"files": files}
