"""What a case's transport step hands to the mechanics step and the writers beside its summary.

:func:`fem_sse.app.run.solve_case` returns (summary, :class:`CaseOutputs`): the summary is
what summary.json says; the outputs are the objects the files and the mechanics are made of
(the profile rows, the solved problem, the fronts, the elastic result). A field a solver does
not produce stays None.
"""

from __future__ import annotations

from dataclasses import dataclass

from fem_sse.records import MappingRecord

__all__ = ["CaseOutputs"]


@dataclass(eq=False)
class CaseOutputs(MappingRecord):
    """The writer and mechanics inputs of a solved case (it also reads as a mapping of its
    fields, for scripts written against the earlier dict).

    Attributes:
        rows: 1D: the profile rows (profile.csv; rank 0, None on the other ranks).
        profile: 1D FEM or EAFE: the gathered profile (the held-faces samples come from it).
        exact: 1D exact solver: its :class:`~fem_sse.transport.exact1d.ExactSolution`.
        result: 1D: the run's :class:`~fem_sse.transport.results.TransportResult` (the exact
            check compares it); exact_result: the exact solver's.
        problem: the solved problem (W-FEM or EAFE; the field files are written from it).
        view: 2D EAFE: the state as the metrics see it (W in the W-FEM's DG layout).
        front_lines: 2D: the front polylines (fronts.json).
        held_samples: 1D: the samples of the film with held faces (set by the mechanics step
            or the restart files, saved so that a restart integrates the same state).
        elastic: 2D: the :class:`~fem_sse.mechanics.solve.MechanicsResult` (set by the
            mechanics step).
    """

    rows: dict | None = None
    profile: object = None
    exact: object = None
    result: object = None
    exact_result: object = None
    problem: object = None
    view: object = None
    front_lines: list | None = None
    held_samples: list | None = None
    elastic: object = None

    @property
    def state(self):
        """The state the 2D writers and the mechanics read: the EAFE view, else the problem."""
        return self.view if self.view is not None else self.problem
