"""The output folder of a run: summary.json, profile.csv/.png (1D), fields, fronts and the
mechanics files (2D), the restart files, and the folder of a failed solve (the last good state
and its diagnosis). Written atomically (:func:`fem_sse.io.outputs.output_directory`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fem_sse.app.case_outputs import CaseOutputs
from fem_sse.app.dimension import run_for
from fem_sse.app.results import RunInfo, files_summary
from fem_sse.app.rows import fem_rows
from fem_sse.io.checkpoint import write_checkpoint
from fem_sse.io.outputs import (
    MAP_CELL_CAP,
    output_directory,
    plot_mu_map,
    plot_profile,
    write_fields,
    write_fronts,
    write_json,
    write_profile_csv,
)
from fem_sse.progress import activity
from fem_sse.spec.config import Config
from fem_sse.transport.results import TransportResult

__all__ = ["write_failed_profile", "write_line_run", "write_not_converged", "write_plane_run",
           "write_run"]


def write_run(config: Config, outdir: str | Path, comm, summary: dict, outputs: CaseOutputs,
              png: bool = True, overwrite: bool = True) -> dict:
    """Write a solved run to ``outdir`` (replaced atomically); adds ``files`` (and the notes
    of a figure not drawn) to ``summary``, which it returns."""
    run = run_for(config)
    saved = run.saved_state(config, outputs, comm)
    with output_directory(outdir, comm, overwrite) as folder, activity(f"writing {outdir}"):
        if write_checkpoint(folder / "checkpoint", config, saved,
                            RunInfo.from_summary(summary).solver,
                            TransportResult.from_summary(summary), comm):
            summary["checkpoint"] = "checkpoint"  # restart files: fem-sse mechanics OUTDIR
        run.write(folder, config, summary, outputs, png, comm)
    return summary


def write_line_run(folder: Path, config: Config, summary: dict, outputs: CaseOutputs,
                   png: bool, comm) -> None:
    """1D outputs: fields, then (rank 0) profile.csv, profile.png (``png``), summary.json."""
    files = ["summary.json", "profile.csv"] + (["profile.png"] if png else [])
    if outputs.problem is not None:
        files += write_fields(folder, outputs.problem)
    summary.update(files_summary(files))
    if comm.rank == 0:
        _write_1d(folder, config, summary, outputs.rows, png, files)


def _write_1d(folder: Path, config: Config, summary: dict, rows: dict, png: bool,
              files: list[str]) -> None:
    """1D outputs of rank 0: profile.csv, profile.png (``png``), summary.json (``files``: its
    list of the files written)."""
    write_profile_csv(folder / "profile.csv", rows)
    if png:
        order = np.argsort(rows["x_m"], kind="stable")
        result = TransportResult.from_summary(summary)
        note = plot_profile(folder / "profile.png", config, rows["x_m"][order],
                            rows["mu_Li0_eV"][order], [j.x_m for j in result.jumps],
                            f"{config.name}: t_Li = {result.t_li:.6f} "
                            f"({RunInfo.from_summary(summary).solver})")
        if note is not None:  # a figure never costs the results: noted, not raised
            files.remove("profile.png")
            summary["profile_png"] = note
    write_json(folder / "summary.json", summary)


def write_plane_run(folder: Path, summary: dict, outputs: CaseOutputs,
                    png: bool = True) -> None:
    """2D outputs: fields (VTX/XDMF), fronts (JSON/CSV), mu_map.png (``png``), summary.json;
    with mechanics also mechanics.bp/.xdmf, tractions.csv and mechanics.png (``png``)."""
    problem = outputs.problem
    files = ["summary.json"] + write_fields(folder, problem)
    info, result = RunInfo.from_summary(summary), TransportResult.from_summary(summary)
    title = f"{info.case}: t_Li = {result.t_li:.6f}, {result.cells} cells, {info.ranks} rank(s)"
    note = "skipped: png = False" if not png else plot_mu_map(
        folder / "mu_map.png", outputs.state, outputs.front_lines, title)
    if note is None:
        files.append("mu_map.png")
    else:  # skipped or failed to draw (a warning): the results stand without the PNG
        summary["mu_map_png"] = note
    if outputs.elastic is not None:
        from fem_sse.mechanics import write_mechanics

        mech_png = png and result.cells <= MAP_CELL_CAP
        files += write_mechanics(folder, outputs.elastic, png=mech_png)
        if not png:
            summary["mechanics_png"] = "skipped: png = False"
        elif not mech_png:
            summary["mechanics_png"] = f"skipped: more than {MAP_CELL_CAP} cells"
        elif "mechanics.png" not in files:
            summary["mechanics_png"] = "failed: the warning in the log says why"
    if problem.comm.rank == 0:
        files += write_fronts(folder, outputs.front_lines)
        summary.update(files_summary(files))
        write_json(folder / "summary.json", summary)


def write_not_converged(config: Config, outdir: str | Path, comm, problem, summary: dict,
                        overwrite: bool = True) -> None:
    """Write ``outdir`` (atomically) for a failed solve: ``summary`` (the failed run's keys,
    :func:`fem_sse.app.results.failed_summary`) and, when there is a last good state
    (``problem``, else None), its fields (and in 1D profile.csv)."""
    with output_directory(outdir, comm, overwrite) as folder:
        files = ["summary.json"]
        if problem is not None:
            files += write_fields(folder, problem)
            files += run_for(config).failed_files(folder, config, problem, comm)
        summary.update(files_summary(files))
        if comm.rank == 0:
            write_json(folder / "summary.json", summary)


def write_failed_profile(folder: Path, config: Config, problem, comm) -> list[str]:
    """profile.csv of the last good 1D state ``problem`` (collective; written on rank 0)."""
    from fem_sse.transport.adapt import gather_profile

    profile = gather_profile(problem)
    if comm.rank == 0:
        write_profile_csv(folder / "profile.csv", fem_rows(config, profile, problem.phi_V))
    return ["profile.csv"]
