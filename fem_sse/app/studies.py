"""Parameter studies: a base case plus overrides in, one run folder per point and a results
table out (docs/commands/sweep.md). No physics here: every point is an ordinary ``run_case``.

A sweep is

* planned (:mod:`fem_sse.app.sweep_plan`): ``KEY=V1,V2,...`` or ``KEY=LO:HI:N[:log]`` axes,
  combined as a grid (product) or a list (zipped, equal lengths); every point's config is
  validated before anything runs;
* resumable: a point whose folder holds a ``summary.json`` of the same point is read, not
  recomputed; ``sweep.json`` pins the base case and solver so a changed case is not mixed in;
* parallel: the ranks split into groups of ``ranks_per_run``; each group solves its own points
  on its sub-communicator (``comm.Split``) and writes its folders collectively;
* tabulated (:mod:`fem_sse.app.sweep_table`): ``results.jsonl`` and ``results.csv`` and
  summary plots ``plot_*.png`` at the end (after an interruption, the same command rebuilds
  them from the finished folders).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fem_sse.app.logs import set_leader
from fem_sse.app.sweep_plan import (
    MAX_FOLDER_NAME,
    Axis,
    SweepPlan,
    expand,
    parse_axis,
    plan_sweep,
    short_key,
)
from fem_sse.app.sweep_table import plot_results, table_row, write_tables
from fem_sse.io.outdir import open_resumable
from fem_sse.io.outputs import write_json
from fem_sse.progress import Progress
from fem_sse.spec.config import ConfigError
from fem_sse.transport.results import TransportResult

#: planning (:mod:`fem_sse.app.sweep_plan`) and tables (:mod:`fem_sse.app.sweep_table`) are
#: re-exported: ``fem_sse.app.studies`` is the one import path of the sweep API
__all__ = ["MAX_FOLDER_NAME", "Axis", "SweepPlan", "expand", "parse_axis", "plan_sweep",
           "plot_results", "run_sweep", "write_tables"]

log = logging.getLogger(__name__)


def _cached(folder: Path, point: dict) -> dict | None:
    """The summary of a finished run of ``point`` in ``folder``, else None."""
    path = folder / "summary.json"
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    stored = summary.get("sweep_point")
    return summary if stored == json.loads(json.dumps(point)) else None


def _check_fingerprint(outdir: Path, plan: SweepPlan, solver: str | None) -> None:
    stamp = outdir / "sweep.json"
    mine = plan.fingerprint(solver)
    if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") != mine:
        raise ConfigError("-o", f"{outdir} holds a sweep of another base case or solver; "
                          "choose a new output folder, or add --overwrite to start again")
    write_json(stamp, {"fingerprint": mine, "solver": solver, "mode": plan.mode,
                       "axes": {a.key: list(a.values) for a in plan.axes},
                       "points": len(plan.points)})


def _solve_point(plan: SweepPlan, i: int, outdir: Path, group, solver, png: bool) -> dict:
    """Run point ``i`` on the group's communicator; a failed solve becomes a 'failed' row (its
    folder is not written) so the rest of the sweep still runs."""
    from fem_sse.app.run import run_case

    point = plan.points[i]
    try:
        summary = run_case(plan.configs[i], outdir / plan.names[i], group, solver=solver,
                           png=png, extra={"sweep_point": point})
    except Exception as exc:  # noqa: BLE001 - recorded in the table, the sweep goes on
        log.warning("sweep point %s failed: %s", point, exc)
        return table_row(point, None, "failed", f"{type(exc).__name__}: {exc}"[:300])
    return table_row(point, summary, "done")


#: what a sweep writes into its folder (besides the run folders, which carry their own marker)
SWEEP_FILES = ("sweep.json", "results.jsonl", "results.csv", "plot_*.png", "*.tmp",
               ".*.tmp")


def run_sweep(plan: SweepPlan, outdir: str | Path, comm, solver: str | None = None,
              ranks_per_run: int = 1, png: bool = False, plots: bool = True,
              show_progress: bool = True, overwrite: bool = False) -> list[dict]:
    """Run every point not finished yet; write the tables (and plots) on rank 0.

    Args:
        comm: all ranks of the sweep; split into ``comm.size // ranks_per_run`` groups.
        ranks_per_run: ranks that solve one point together (must divide ``comm.size``).
        png: also write each run's profile.png / mu_map.png.
        overwrite: start again in an earlier fem-sse folder (default: resume a sweep there);
            a folder fem-sse did not create is never used (:mod:`fem_sse.io.outdir`).

    Returns:
        The table rows in plan order (on every rank).
    """
    if ranks_per_run < 1 or comm.size % ranks_per_run:
        raise ConfigError("--ranks-per-run", f"must divide the {comm.size} MPI ranks, got "
                          f"{ranks_per_run}")
    kinds = {solver or c.solver.kind for c in plan.configs
             if not c.shape.exact_solver}
    if kinds & {"exact", "fem-eafe"}:
        raise ConfigError("--solver", f"the {'exact' if 'exact' in kinds else 'fem-eafe'} "
                          "solver is 1D; a point of this sweep is 2D: use --solver fem")
    outdir = Path(outdir)
    rows = None
    if comm.rank == 0:  # the folder is checked once; its verdict (or error) goes to every rank
        try:
            open_resumable(outdir, kind="sweep", overwrite=overwrite, patterns=SWEEP_FILES)
            _check_fingerprint(outdir, plan, solver)
            rows = [(table_row(p, s, "cached") if (s := _cached(outdir / n, p)) else None)
                    for p, n in zip(plan.points, plan.names, strict=True)]
        except ConfigError as exc:
            rows = exc
    rows = comm.bcast(rows, root=0)
    if isinstance(rows, ConfigError):
        raise rows
    todo = [i for i, row in enumerate(rows) if row is None]
    groups, g = comm.size // ranks_per_run, comm.rank // ranks_per_run
    group = comm.Split(color=g, key=comm.rank)
    leader = group.rank == 0
    set_leader(leader)  # a point's warnings are printed by its group's rank 0
    # static round robin and no synchronisation between groups until the end: a group never
    # waits for another one's slow point; rank 0 sees the others' progress as their folders
    # appear (each is renamed into place when complete)
    mine = todo[g::groups]
    pending = {i for i in todo if i not in mine}
    done: dict[int, dict] = {}
    with Progress("sweep", len(rows), len(rows) - len(todo), comm=comm,
                  mode=None if show_progress else "off") as watch:
        try:
            for i in mine:
                watch.note(f"running {_where(plan.points[i])}")
                done[i] = _solve_point(plan, i, outdir, group, solver, png)
                if watch.mode != "off":
                    found = {j for j in pending
                             if (outdir / plan.names[j] / "summary.json").exists()}
                    pending -= found
                    watch.update(1 + len(found), _note(plan.points[i], done[i]))
        finally:
            group.Free()
            set_leader(comm.rank == 0)
        gathered = comm.gather(done if leader else {}, root=0)
        if comm.rank == 0:
            for part in gathered:
                for i, row in part.items():
                    rows[i] = row
            write_tables(outdir, rows)
            if plots:  # a failure to draw is a warning (fem_sse.io.outputs.draw_png)
                from fem_sse.io.outputs import draw_png

                draw_png(outdir / "plot_*.png", lambda _: plot_results(outdir, rows, plan.axes,
                                                                      plan.mode))
            if watch.done < watch.total:
                watch.update(watch.total - watch.done, "all groups finished")
    return comm.bcast(rows, root=0)


def _where(point: dict) -> str:
    return ", ".join(f"{short_key(k)}={v}" for k, v in point.items())


def _note(point: dict, row: dict) -> str:
    where = _where(point)
    if row["status"] == "failed":
        return f"{where}: FAILED ({row['error'][:60]})"
    t_li = TransportResult.from_summary(row).t_li  # a row holds the summary's table keys
    return f"{where}: t_Li = {t_li:.6f} [{row['solver']}]"
