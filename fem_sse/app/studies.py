"""Parameter studies: a base case plus overrides in, one run folder per point and a results
table out (docs/commands/sweep.md). No physics here: every point is an ordinary ``run_case``.

A sweep is

* planned: ``KEY=V1,V2,...`` or ``KEY=LO:HI:N[:log]`` axes, combined as a grid (product) or a
  list (zipped, equal lengths); every point's config is validated before anything runs;
* resumable: a point whose folder holds a ``summary.json`` of the same point is read, not
  recomputed; ``sweep.json`` pins the base case and solver so a changed case is not mixed in;
* parallel: the ranks split into groups of ``ranks_per_run``; each group solves its own points
  on its sub-communicator (``comm.Split``) and writes its folders collectively;
* tabulated: ``results.jsonl`` and ``results.csv`` and summary plots ``plot_*.png`` at the end
  (after an interruption, the same command rebuilds them from the finished folders).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fem_sse.spec.config import Config, ConfigError, parse_config
from fem_sse.spec.dotted import set_dotted
from fem_sse.io.outdir import open_resumable
from fem_sse.io.outputs import write_json
from fem_sse.progress import Progress

__all__ = ["Axis", "SweepPlan", "expand", "parse_axis", "plan_sweep", "plot_results",
           "run_sweep"]

log = logging.getLogger(__name__)

MAX_POINTS = 100_000

#: summary keys copied into the results table (mechanics keys only when the case has them)
TABLE_KEYS = ("t_li", "one_minus_t_li", "j_ionic_A_per_m2", "j_electronic_A_per_m2",
              "ionic_potential_drop_V", "overshoot_fraction", "undershoot_fraction",
              "max_von_mises", "max_principal", "crack_risk_index", "dofs", "cells",
              "newton_iterations", "wall_time_s", "ranks")


@dataclass(frozen=True)
class Axis:
    """One swept key: a dotted config path (``geometry.layers[1].thickness``) and its values."""

    key: str
    values: tuple


@dataclass
class SweepPlan:
    """Validated points of a sweep: overrides, configs and folder names, in table order."""

    base: dict
    axes: tuple[Axis, ...]
    mode: str
    points: list[dict] = field(default_factory=list)
    configs: list[Config] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def fingerprint(self, solver: str | None) -> str:
        """Hash of the base case and the solver: a resumed sweep must match it."""
        text = json.dumps({"base": self.base, "solver": solver}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _value(text: str):
    """A TOML-like scalar: JSON numbers, true/false, or the bare string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def parse_axis(text: str) -> Axis:
    """``KEY=V1,V2,...`` (a list), ``KEY=LO:HI:N`` (N linearly spaced values) or
    ``KEY=LO:HI:N:log`` (N log-spaced values, LO and HI > 0).

    Raises:
        ConfigError: naming ``--set`` and the expected forms.
    """
    if "=" not in text:
        raise ConfigError("--set", f"expected KEY=V1,V2,... or KEY=LO:HI:N[:log], got {text!r}")
    key, spec = (part.strip() for part in text.split("=", 1))
    if not key or not spec:
        raise ConfigError("--set", f"expected KEY=V1,V2,... or KEY=LO:HI:N[:log], got {text!r}")
    if ":" in spec and "," not in spec:
        return Axis(key, _range(key, spec))
    return Axis(key, tuple(_value(v) for v in spec.split(",")))


def _range(key: str, spec: str) -> tuple:
    parts = spec.split(":")
    scale = parts.pop() if parts[-1] in ("lin", "log") else "lin"
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        raise ConfigError(f"--set {key}", f"expected LO:HI:N[:log], got {spec!r}") from None
    if not 1 <= n <= MAX_POINTS:
        raise ConfigError(f"--set {key}", f"N must be in [1, {MAX_POINTS}], got {n}")
    if scale == "log" and (lo <= 0 or hi <= 0):
        raise ConfigError(f"--set {key}", f"a log range needs LO, HI > 0, got {spec!r}")
    values = np.geomspace(lo, hi, n) if scale == "log" else np.linspace(lo, hi, n)
    # 12 digits: 7.5e-05, not 7.500000000000001e-05, in tables and folder names
    return tuple(float(f"{v:.12g}") for v in values)


def expand(axes: tuple[Axis, ...], mode: str = "grid") -> list[dict]:
    """The points (``{key: value}``) of a grid (every combination, last key fastest) or a list
    (the i-th value of every axis; all axes of equal length, or of length one)."""
    if not axes:
        raise ConfigError("--set", "give at least one KEY=VALUES")
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise ConfigError("--set", f"a key is given twice: {keys}")
    if mode == "list":  # single values are repeated for every point
        n = max(len(a.values) for a in axes)
        if any(len(a.values) not in (1, n) for a in axes):
            raise ConfigError("--list", "every --set needs the same number of values (or one), "
                              "got " + ", ".join(f"{a.key}: {len(a.values)}" for a in axes))
        combos = zip(*(a.values * (n // len(a.values)) for a in axes), strict=True)
    else:
        total = math.prod(len(a.values) for a in axes)
        if total > MAX_POINTS:
            raise ConfigError("--set", f"the grid has {total} points, at most {MAX_POINTS}")
        combos = itertools.product(*(a.values for a in axes))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


def _short(key: str) -> str:
    """Folder-name form of a key: the table name dropped, indices kept, so that
    ``geometry.layers[0].thickness`` and ``geometry.layers[1].thickness`` stay distinct."""
    parts = key.replace("]", "").replace("[", "").split(".")
    return ".".join(parts[1:] if len(parts) > 1 else parts)


#: longest run-folder name (file systems allow 255 bytes; the .partial/.old-PID suffixes too)
MAX_FOLDER_NAME = 120


def _folder_name(point: dict) -> str:
    text = "_".join(f"{_short(k)}={v:.10g}" if isinstance(v, float) else f"{_short(k)}={v}"
                    for k, v in point.items())
    name = "run_" + "".join(c if c.isalnum() or c in "=._-+" else "_"
                            for c in text)
    if len(name) <= MAX_FOLDER_NAME:
        return name
    # many keys: a readable start and a hash of the whole (summary.json keeps the point)
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[:MAX_FOLDER_NAME - 13]}_{digest}"


def plan_sweep(base: dict, axes: tuple[Axis, ...], mode: str = "grid",
               name: str = "case") -> SweepPlan:
    """Expand and validate every point (ConfigError before anything runs)."""
    plan = SweepPlan(base=base, axes=tuple(axes), mode=mode)
    for point in expand(plan.axes, mode):
        data = copy.deepcopy(base)
        for key, value in point.items():
            set_dotted(data, key, value, make_tables=True)
        try:
            config = parse_config(data, name=name)
        except ConfigError as exc:
            raise ConfigError(exc.key, f"{exc.message} (sweep point {point})") from None
        plan.points.append(point)
        plan.configs.append(config)
        plan.names.append(_folder_name(point))
    if len(set(plan.names)) != len(plan.names):
        raise ConfigError("--set", "two points map to the same folder name (repeated values?)")
    return plan


# ----------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------


def _row(point: dict, summary: dict | None, state: str, error: str | None = None) -> dict:
    row = {**point, "status": state}
    if summary is None:
        return {**row, "solver": None, "error": error}
    row["solver"] = summary.get("solver")
    row.update({k: summary[k] for k in TABLE_KEYS if k in summary})
    length = summary.get("thickness_m") or 1.0
    row["jump_count"] = len(summary.get("jumps", []))
    row["jumps_x_over_L"] = [j["x"] / length for j in summary.get("jumps", [])]
    if "crack_risk_location" in summary:
        row["crack_risk_x_over_L"] = summary["crack_risk_location"][0] / length
    return row


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
        return _row(point, None, "failed", f"{type(exc).__name__}: {exc}"[:300])
    return _row(point, summary, "done")


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
    kinds = {solver or c.solver.kind for c in plan.configs if c.dim != 1}
    if "exact" in kinds:
        raise ConfigError("--solver", "the exact solver is 1D (a closed form); a point of this "
                          "sweep is 2D: use --solver fem")
    outdir = Path(outdir)
    rows = None
    if comm.rank == 0:  # the folder is checked once; its verdict (or error) goes to every rank
        try:
            open_resumable(outdir, kind="sweep", overwrite=overwrite, patterns=SWEEP_FILES)
            _check_fingerprint(outdir, plan, solver)
            rows = [(_row(p, s, "cached") if (s := _cached(outdir / n, p)) else None)
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
    return ", ".join(f"{_short(k)}={v}" for k, v in point.items())


def _note(point: dict, row: dict) -> str:
    where = _where(point)
    if row["status"] == "failed":
        return f"{where}: FAILED ({row['error'][:60]})"
    return f"{where}: t_Li = {row['t_li']:.6f} [{row['solver']}]"


# ----------------------------------------------------------------------------------------------
# Tables and plots (rank 0)
# ----------------------------------------------------------------------------------------------


def write_tables(outdir: Path, rows: list[dict]) -> None:
    """``results.jsonl`` (one JSON object per point) and ``results.csv`` (lists joined by
    ';'), each written to a temporary name and renamed."""
    tmp = outdir / "results.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    os.replace(tmp, outdir / "results.jsonl")
    columns = list(dict.fromkeys(k for r in rows for k in r))
    tmp = outdir / "results.csv.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ";".join(f"{x:.10g}" for x in v) if isinstance(v, list) else v
                             for k, v in r.items()})
    os.replace(tmp, outdir / "results.csv")


#: units of the keys a sweep usually varies (the last part of the dotted key)
UNITS = {"mu_anode": "eV", "mu_cathode": "eV", "B": "eV", "A": "S/m", "sigma_li": "S/m",
         "thickness": "m", "width": "m", "center": "m", "current_density": "A/m^2",
         "ionic_potential_drop": "V", "temperature": "K", "conductance": "S/m^2",
         "sigma_li_factor": "-", "size_bulk": "m", "E": "Pa", "strength": "Pa"}


def _label(key: str) -> str:
    unit = UNITS.get(key.replace("]", "").replace("[", ".").split(".")[-1])
    return f"{key} ({unit})" if unit else key


#: (file, y label, row -> y values or None, log y)
PLOTS = (
    ("plot_one_minus_t_li.png", "1 - t_Li (electronic leakage)",
     lambda r: [r["one_minus_t_li"]], True),
    ("plot_jumps.png", "jump position x / L", lambda r: r["jumps_x_over_L"], False),
    ("plot_overshoot.png", "overshoot fraction of L", lambda r: [r["overshoot_fraction"]],
     False),
    ("plot_peak_stress.png", "peak max principal stress (MPa)",
     lambda r: [r["max_principal"] / 1e6] if "max_principal" in r else None, False),
    ("plot_peak_location.png", "crack-risk peak x / L",
     lambda r: [r["crack_risk_x_over_L"]] if "crack_risk_x_over_L" in r else None, False),
)


def plot_results(outdir: Path, rows: list[dict], axes: tuple[Axis, ...],
                 mode: str = "grid") -> list[str]:
    """One PNG per metric against the first numeric axis; in a grid, one series per value
    combination of the other varied axes (failed points left out). Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [a for a in axes if all(isinstance(v, int | float) and not isinstance(v, bool)
                                      for v in a.values)]
    good = [r for r in rows if r and r["status"] != "failed"]
    if not numeric or not good:
        return []
    x_axis = numeric[0]
    others = ([] if mode == "list" else
              [a.key for a in axes if a.key != x_axis.key and len(a.values) > 1])
    series: dict[tuple, list[dict]] = {}
    for r in good:
        series.setdefault(tuple(r[k] for k in others), []).append(r)
    xs = np.array(x_axis.values, float)
    log_x = xs.min() > 0 and xs.max() / xs.min() > 100
    written = []
    for name, label, getter, log_y in PLOTS:
        if getter(good[0]) is None:
            continue
        fig, ax = plt.subplots(figsize=(6.0, 3.8), dpi=120)
        for n, (combo, members) in enumerate(series.items()):
            pts = [(r[x_axis.key], y) for r in members for y in getter(r)]
            if not pts:
                continue
            px, py = np.array(pts, float).T
            tag = ", ".join(f"{_short(k)}={v}" for k, v in zip(others, combo, strict=True)) or None
            style = "o" if name == "plot_jumps.png" else "o-"
            ax.plot(px, py, style, ms=3, lw=1.2, label=tag if n < 12 else None)
        ax.set_xlabel(_label(x_axis.key))
        ax.set_ylabel(label)
        if log_x:
            ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        if others:
            ax.legend(fontsize=7)
        ax.set_title(f"{len(good)} runs [{good[0]['solver']}]", fontsize=9)
        fig.tight_layout()
        fig.savefig(outdir / name)
        plt.close(fig)
        written.append(name)
    return written
