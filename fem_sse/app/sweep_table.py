"""The results of a sweep (rank 0): one table row per point, ``results.jsonl`` /
``results.csv`` and the summary plots ``plot_*.png`` (docs/commands/sweep.md).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fem_sse.app.results import RunInfo
from fem_sse.app.sweep_plan import Axis, short_key
from fem_sse.mechanics.results import crack_risk_x_of, principal_peak_of, table_peaks
from fem_sse.transport.results import TransportResult

__all__ = ["PLOTS", "Tally", "plot_results", "table_row", "tally_rows", "write_tables"]


def table_row(point: dict, summary: dict | None, state: str, error: str | None = None) -> dict:
    """The row of ``point``: its overrides, ``state`` and the table columns of its summary:
    the solver, the transport result's scalar keys (:meth:`TransportResult.table_keys`), the
    mechanics peaks, the ranks, the jumps (count, x / L) and the crack-risk peak's x / L (the
    summary keys each record names, those the summary holds)."""
    row = {**point, "status": state}
    if summary is None:
        return {**row, "solver": None, "error": error}
    info, result = RunInfo.from_summary(summary), TransportResult.from_summary(summary)
    row["solver"] = info.solver
    row.update({k: summary[k] for k in result.table_keys() if k in summary})
    row.update(table_peaks(summary))
    row.update({k: summary[k] for k in info.table_keys() if k in summary})
    length = info.thickness_m or 1.0
    row["jump_count"] = len(result.jumps)
    row["jumps_x_over_L"] = [j.x_m / length for j in result.jumps]
    if crack_risk_x_of(summary) is not None:
        row["crack_risk_x_over_L"] = crack_risk_x_of(summary) / length
    return row


@dataclass(frozen=True)
class Tally:
    """How the points of a sweep ended: failed and cached counts, the solvers that ran."""

    failed: int
    cached: int
    solvers: list


def tally_rows(rows: list[dict]) -> Tally:
    """The :class:`Tally` of a sweep's table rows."""
    return Tally(sum(r["status"] == "failed" for r in rows),
                 sum(r["status"] == "cached" for r in rows),
                 sorted({r["solver"] for r in rows if r["solver"]}))


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


#: (file, y label, row -> y values or None, log y); a row holds the summary's table keys
PLOTS = (
    ("plot_one_minus_t_li.png", "1 - t_Li (electronic leakage)",
     lambda r: [TransportResult.from_summary(r).one_minus_t_li], True),
    ("plot_jumps.png", "jump position x / L", lambda r: r["jumps_x_over_L"], False),
    ("plot_overshoot.png", "overshoot fraction of L",
     lambda r: [TransportResult.from_summary(r).overshoot_fraction], False),
    ("plot_peak_stress.png", "peak max principal stress (MPa)",
     lambda r: None if principal_peak_of(r) is None else [principal_peak_of(r) / 1e6], False),
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
            tag = ", ".join(f"{short_key(k)}={v}"
                            for k, v in zip(others, combo, strict=True)) or None
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
