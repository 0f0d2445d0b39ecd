"""What differs between a 1D and a 2D run, in one object per dimension (issue 15: :mod:`.run`,
:mod:`.run_output` and :mod:`.restart` ask a :class:`LineRun` or a :class:`PlaneRun`
instead of branching on the dimension):

=================  =====================================  ====================================
step               LineRun                                PlaneRun
=================  =====================================  ====================================
fem                W-FEM checked against the exact        W-FEM with its certificate; EAFE
                   solution; EAFE when it fails           when it fails (eafe_case)
fem-eafe           EAFE checked against the exact         EAFE in 2D (eafe_case)
                   solution
mechanics          film stresses (closed form) added to   elastic solve on the converged mesh
                   the profile rows                       (fronts refined and fitted)
restart files      the profile rows and held samples      the mesh, its tags and W
output folder      profile.csv, profile.png, fields       fields, fronts, mu_map.png,
                                                          mechanics files
failed run         fields and profile.csv                 fields
fem-sse mechanics  profile.csv with the stress columns    the mechanics files
=================  =====================================  ====================================

The steps themselves live in their modules (imported inside the methods: those modules
import this one).
"""

from __future__ import annotations

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.app.results import Fallback

__all__ = ["LineRun", "PlaneRun", "run_for"]


class LineRun:
    """A 1D case: a profile through the layer stack."""

    @staticmethod
    def solve(config, comm, solver: str, progress,
              keep=None) -> tuple[dict, CaseOutputs, str]:
        """(summary keys, writer inputs, the solver that produced them) of ``solver``
        ("fem" or "fem-eafe"); ``keep``: where a failed W solve leaves its last good state."""
        from fem_sse.app import transport_case as case

        if solver == "fem-eafe":
            return (*case.solve_eafe_1d(config, comm, progress), solver)
        summary, outputs = case.solve_fem_1d(config, comm, progress, keep)
        return summary, outputs, Fallback.solver_of(summary, solver)

    @staticmethod
    def mechanics(config, outputs: CaseOutputs, comm):
        """The film stresses (a :class:`~fem_sse.mechanics.results.FilmSummary`)."""
        from fem_sse.app.mechanics_step import film_mechanics

        return film_mechanics(config, outputs, comm)

    @staticmethod
    def saved_state(config, outputs: CaseOutputs, comm):
        """The restart payload (:class:`~fem_sse.io.checkpoint.ProfileState`); the held-faces
        samples are computed here (rank 0) so that the restart integrates the same state."""
        from fem_sse.app.mechanics_step import held_samples
        from fem_sse.io.checkpoint import ProfileState

        if comm.rank == 0 and outputs.rows is not None:
            held_samples(config, outputs)
        return ProfileState(outputs.rows, outputs.held_samples)

    @staticmethod
    def write(folder, config, summary: dict, outputs: CaseOutputs, png: bool, comm) -> None:
        """profile.csv, profile.png, fields and summary.json (:mod:`.run_output`)."""
        from fem_sse.app.run_output import write_line_run

        write_line_run(folder, config, summary, outputs, png, comm)

    @staticmethod
    def failed_files(folder, config, problem, comm) -> list[str]:
        """profile.csv of a failed run's last good state ``problem``."""
        from fem_sse.app.run_output import write_failed_profile

        return write_failed_profile(folder, config, problem, comm)

    @staticmethod
    def restart(config, run_folder, state, comm, say,
                start: float) -> tuple[dict, CaseOutputs]:
        """The mechanics of a saved 1D run: (summary keys, data for :meth:`restart_files`);
        ``say``: progress lines, ``start``: the restart's perf_counter start (s)."""
        from fem_sse.app.mechanics_step import film_mechanics
        from fem_sse.io.checkpoint import load_profile

        rows, samples = load_profile(run_folder) if comm.rank == 0 else (None, None)
        data = CaseOutputs(rows=rows, held_samples=samples)
        return film_mechanics(config, data, comm).run_keys(), data

    @staticmethod
    def restart_files(folder, summary: dict, data: CaseOutputs, png: bool,
                      comm) -> list[str]:
        """profile.csv with the stress columns (rank 0)."""
        from fem_sse.io.outputs import write_profile_csv

        if comm.rank == 0:
            write_profile_csv(folder / "profile.csv", data.rows)
        return ["profile.csv"]


class PlaneRun:
    """A 2D case: fields on a triangle mesh."""

    @staticmethod
    def solve(config, comm, solver: str, progress,
              keep=None) -> tuple[dict, CaseOutputs, str]:
        """(summary keys, writer inputs, the solver that produced them) of ``solver``."""
        from fem_sse.app.eafe_case import solve_eafe_case_2d, solve_fem_2d_with_fallback

        if solver == "fem-eafe":
            return (*solve_eafe_case_2d(config, comm, progress), solver)
        summary, outputs = solve_fem_2d_with_fallback(config, comm, progress, keep)
        return summary, outputs, Fallback.solver_of(summary, solver)

    @staticmethod
    def mechanics(config, outputs: CaseOutputs, comm):
        """The plane elastic solve (a :class:`~fem_sse.mechanics.results.PlaneSummary`)."""
        from fem_sse.app.mechanics_step import plane_mechanics
        from fem_sse.progress import activity

        with activity("mechanics (front refinement, elastic solve)"):
            return plane_mechanics(config, outputs, comm)

    @staticmethod
    def saved_state(config, outputs: CaseOutputs, comm):
        """The restart payload (:class:`~fem_sse.io.checkpoint.FieldState`); an EAFE state is
        saved through its W view (the W-FEM's DG layout)."""
        from fem_sse.io.checkpoint import FieldState

        return FieldState(outputs.state)

    @staticmethod
    def write(folder, config, summary: dict, outputs: CaseOutputs, png: bool, comm) -> None:
        """Fields, fronts, mu_map.png, the mechanics files and summary.json."""
        from fem_sse.app.run_output import write_plane_run

        write_plane_run(folder, summary, outputs, png)

    @staticmethod
    def failed_files(folder, config, problem, comm) -> list[str]:
        """Nothing besides the fields."""
        return []

    @staticmethod
    def restart(config, run_folder, state, comm, say,
                start: float) -> tuple[dict, CaseOutputs]:
        """The mechanics of a saved 2D run (``state``: its
        :class:`~fem_sse.io.checkpoint.SavedRun`) on its reloaded mesh and W."""
        import time

        from fem_sse.app.mechanics_step import plane_mechanics
        from fem_sse.io.checkpoint import load_transport

        saved = load_transport(run_folder, state, config, comm)
        say(f"loaded {state.cells} cells of {run_folder} (written on {state.ranks} "
            f"rank(s)) in {time.perf_counter() - start:.1f} s; solving the mechanics")
        data = CaseOutputs(problem=saved)
        keys = plane_mechanics(config, data, comm).run_keys()
        keys["cells"] = data.elastic.record.cells
        return keys, data

    @staticmethod
    def restart_files(folder, summary: dict, data: CaseOutputs, png: bool,
                      comm) -> list[str]:
        """The mechanics files (mechanics.png up to the map's cell cap)."""
        from fem_sse.io.outputs import MAP_CELL_CAP
        from fem_sse.mechanics import write_mechanics

        draw = png and data.elastic.record.cells <= MAP_CELL_CAP
        return write_mechanics(folder, data.elastic, png=draw)


_BY_DIMENSION = {1: LineRun, 2: PlaneRun}


def run_for(config) -> LineRun | PlaneRun:
    """The run of ``config`` (its ``geometry.dim``)."""
    return _BY_DIMENSION[config.dim]()
