"""The typed result of a run (summary.json) and the one place its run keys are spelled.

A :class:`RunResult` is a run's summary: the run information (:class:`RunInfo`: case, solver,
mode, thickness, versions, ranks), the transport step's keys (built by
:meth:`fem_sse.transport.results.TransportResult.to_summary` with the solver's own keys) and
the mechanics step's (:class:`fem_sse.mechanics.results.MechanicsSummary`).
:meth:`RunResult.to_summary` gives them in the order of docs/outputs.md; :func:`failed_summary`
is the summary of a run that found no steady state or did not converge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fem_sse import __version__
from fem_sse.mechanics.results import MechanicsSummary
from fem_sse.transport.results import TransportResult

__all__ = ["RunInfo", "RunResult", "failed_summary"]


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

    def head(self) -> dict:
        """The keys a summary starts with."""
        return {"case": self.case, "solver": self.solver}

    def tail(self) -> dict:
        """The keys a summary ends with (``converged`` goes between mode/thickness and them)."""
        return {"mode": "galvanostatic" if self.galvanostatic else "potentiostatic",
                "thickness_m": self.thickness_m}

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
        return self.transport.get("converged", True)

    def to_summary(self) -> dict:
        """The summary.json keys of the run, in order."""
        mechanics = self.mechanics.run_keys() if self.mechanics is not None else {}
        # a solver that reports ``converged`` keeps it at its place among its keys
        return {**self.info.head(), **self.transport, **mechanics, **self.info.tail(),
                "converged": self.converged, **self.info.versions()}


def failed_summary(info: RunInfo, exc: Exception, diagnosis: dict, good_state: bool,
                   no_steady_state: bool) -> dict:
    """The summary of a run that failed: ``"converged": false``, the error, its ``diagnosis``
    (dict), null transference keys, whether the last good state was written (``good_state``)
    and, for the exact solver's verdict that none exists (``no_steady_state``),
    ``"steady_state": false``."""
    summary = {**info.head(), "converged": False, "error": str(exc), "diagnosis": diagnosis,
               **TransportResult.unknown_summary(),
               "state": "last good state (see diagnosis.stage)" if good_state else "none",
               **info.tail(), **info.versions()}
    if no_steady_state:
        summary["steady_state"] = False
    return summary
