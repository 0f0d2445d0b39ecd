"""A failed solve's diagnosis: the ``diagnosis`` block of a failed run's summary.json.

A :class:`~fem_sse.errors.ConvergenceError` or :class:`~fem_sse.errors.SolveError` carries a
:class:`Diagnosis`. The module that raises it fills the fields it knows (the stage, the last
residuals, ...); every layer the error passes through on its way to the run layer may add
what it knows (the refinement step and mesh size, the exact state's cancellation ratio, the
fallback's error). Its fields are the block's keys, spelled here only (the rule of
tests/test_architecture.py); a field that was never set is not written.

The keys are written in the order the layers set them (the raising module's first), so that
the block reads as the failure happened; an unknown field is an AttributeError. No NumPy, no
DOLFINx.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from fem_sse.records import SummaryRecord, as_summary, spliced

__all__ = ["Diagnosis"]


@dataclass(slots=True, init=False)
class Diagnosis(SummaryRecord):
    """Where and how a solve failed (every field optional; units in the names).

    Raised by the solvers:
        stage: which step failed ("Newton", "continuation in the drift strength", "budget",
            "current balance check", ...).
        parameter: the continuation parameter that failed.
        iterations: Newton iterations spent.
        fraction: fraction of the continuation reached (0..1); ``attempted`` the one tried.
        residuals: the last residual norms of a Newton loop (scaled).
        slope_A_per_V: dI/dPhi of a bordered Newton step that was not positive.
        phi_V: Phi (V) where the solve failed.
        merit_V, step_eV, tau: the EAFE Newton's last merits (V), step (eV) and the
            pseudo-transient continuation's tau (-).
        petsc_error: the PETSc error code of a failed linear solve.
        fraction_reached: fraction reached by the continuation that got furthest.
        conductance_reached_S_per_m2: the GB conductance the EAFE continuation reached.
        current_balance: the broken current balance of a rejected state.
        good_state: whether a last good state was kept (and written).
        exact_check: the failed check against the exact 1D solution (its own block).
        exact_cancellation_ratio: drift (and diffusion) current over the total current in
            the exact state (-); ``hint``: what it means for the W formulation.
        phi_bracket_V, current_residual_A: the galvanostatic root search's last bracket (V)
            and total-current residual (A).
        budget_s: the W solve's wall-time budget (s) that ran out.
        segment, miss_eV, log_ratio: the exact solver's discontinuous segment, its miss (eV)
            and the root's log(j_e/j_i ratio).
        last_residuals, attempts: the last residuals, and every strategy's diagnosis
            (a list of Diagnosis, each with its stage).
        good_state_phi_V: Phi (V) of the last converged state (the last good state).
        residual_peak: where the residual concentrates
            (:class:`fem_sse.transport.diagnosis.ResidualPeak`).
    Added by the layers above:
        mode, phi_evaluations: galvanostatic or potentiostatic, and the potentiostatic
            solves made.
        refinement_step, cells, dofs: the refinement step and mesh that failed.
        one_minus_t_li_fem: 1 - t_Li of a FEM result the exact check rejected.
        fallback: the fallback's error when it failed too (``to``, ``error``).
        reason: the exact solver's verdict that no steady state exists (the error message).
        outdir: the folder the run layer wrote the summary to (set after writing it).
    """

    stage: str | None = None
    parameter: str | None = None
    iterations: int | None = None
    fraction: float | None = None
    attempted: float | None = None
    residuals: list | None = None
    slope_A_per_V: float | None = None  # noqa: N815
    phi_V: float | None = None  # noqa: N815
    merit_V: list | None = None  # noqa: N815
    step_eV: float | None = None  # noqa: N815
    tau: float | None = None
    petsc_error: int | None = None
    fraction_reached: float | None = None
    conductance_reached_S_per_m2: float | None = None  # noqa: N815
    current_balance: object = None
    good_state: bool | None = None
    exact_check: object = spliced("")
    exact_cancellation_ratio: float | None = None
    hint: str | None = None
    phi_bracket_V: list | None = None  # noqa: N815
    current_residual_A: float | None = None  # noqa: N815
    budget_s: float | None = None
    segment: int | None = None
    miss_eV: float | None = None  # noqa: N815
    log_ratio: float | None = None
    last_residuals: list | None = None
    attempts: list | None = None
    good_state_phi_V: float | None = None  # noqa: N815
    residual_peak: object = None
    mode: str | None = None
    phi_evaluations: int | None = None
    refinement_step: int | None = None
    cells: int | None = None
    dofs: int | None = None
    one_minus_t_li_fem: float | None = None
    fallback: dict | None = None
    reason: str | None = None
    outdir: str | None = None
    _set: list = field(default_factory=list, repr=False, compare=False)

    def __init__(self, **values):
        object.__setattr__(self, "_set", [])
        for f in fields(self):
            if f.name != "_set":
                object.__setattr__(self, f.name, None)
        self.update(**values)

    def __setattr__(self, name: str, value) -> None:
        if name == "_set" or name not in self.__dataclass_fields__:
            raise AttributeError(f"a diagnosis has no field {name!r}")
        object.__setattr__(self, name, value)
        if name not in self._set:
            self._set.append(name)

    def update(self, **values) -> Diagnosis:
        """Set these fields (in this order); returns the diagnosis."""
        for name, value in values.items():
            setattr(self, name, value)
        return self

    def merged(self, source: Diagnosis) -> Diagnosis:
        """This diagnosis with the fields ``source`` set (its values win), in its order."""
        for name in source._set:
            setattr(self, name, getattr(source, name))
        return self

    def copy(self) -> Diagnosis:
        """A copy (the fields in their order)."""
        return Diagnosis().merged(self)

    def __reduce__(self):  # pickled (an error sent between processes) with its order
        return _restored, (tuple((name, getattr(self, name)) for name in self._set),)

    def to_summary(self) -> dict:
        """The block: the fields set, in the order they were set."""
        out = {}
        for name in self._set:
            value = getattr(self, name)
            if "prefix" in self.__dataclass_fields__[name].metadata:
                out.update(as_summary(value))
            else:
                out[name] = as_summary(value)
        return out

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Every key a diagnosis may have (tests/test_architecture.py)."""
        return tuple(f.name for f in fields(cls) if not f.name.startswith("_"))


def _restored(items: tuple) -> Diagnosis:
    """A pickled diagnosis (:meth:`Diagnosis.__reduce__`)."""
    return Diagnosis(**dict(items))
