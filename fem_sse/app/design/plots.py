"""Figures of the design assistant: heat maps with the design rules' regions, Pareto plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fem_sse.app.design.metrics import METRICS

__all__ = ["plot_map", "plot_pareto"]

#: Metrics drawn on a log colour scale (they span decades).
LOG_METRICS = ("max_jump_distance_over_L", "max_jump_distance_m", "one_minus_t_li",
               "leakage_A_per_m2", "ionic_resistance_ohm_m2")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def label(name: str) -> str:
    """Axis label of a metric or key with its unit."""
    if name in METRICS:
        unit = METRICS[name][0]
        return name if unit in ("-", "0/1") else f"{name} ({unit})"
    units = {"B": "eV", "mu_anode": "eV", "mu_cathode": "eV", "A": "S/m", "sigma_li": "S/m",
             "thickness": "m", "fraction": "-", "temperature": "K", "current_density": "A/m^2"}
    unit = units.get(name.rsplit(".", 1)[-1])
    return f"{name} ({unit})" if unit else name


def _panel(fig, ax, result: dict, name: str, edge_zone: float, marks: dict) -> None:
    x, y = result["x"], result["y"]
    values = result["metrics"][name]
    shown = np.ma.masked_invalid(values)
    norm = None
    if name in LOG_METRICS:
        from matplotlib.colors import LogNorm

        positive = values[np.isfinite(values) & (values > 0)]
        if positive.size:
            shown = np.ma.masked_where(~np.isfinite(values) | (values <= 0), values)
            norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-12), vmax=positive.max())
    mesh = ax.pcolormesh(x, y, shown, shading="nearest", cmap="viridis", norm=norm)
    fig.colorbar(mesh, ax=ax, label=label(name))
    failed = result["status"] != "ok"
    if failed.any():  # grey cross-hatched: no steady state / invalid design
        ax.contourf(x, y, failed.astype(float), levels=[0.5, 1.5], colors="0.75",
                    hatches=["xx"], alpha=0.9)
    distance = result["metrics"]["max_jump_distance_over_L"]
    if np.nanmin(distance, initial=np.inf) <= edge_zone <= np.nanmax(distance, initial=-np.inf):
        ax.contour(x, y, distance, levels=[edge_zone], colors="w", linewidths=1.6)
    margin = result["metrics"]["b_window_margin_eV"]
    if np.nanmin(margin, initial=np.inf) < 0.0:  # some layer's B outside the electrode window
        ax.contourf(x, y, np.nan_to_num(margin, nan=1.0), levels=[-1e9, 0.0], colors="none",
                    hatches=["//"])
        ax.contour(x, y, margin, levels=[0.0], colors="tab:red", linewidths=1.2,
                   linestyles="--")
    inside = result["metrics"]["bottlenecks_in_open_zone"]
    if np.nanmax(inside, initial=0.0) > 0.0:
        ax.contour(x, y, np.nan_to_num(inside), levels=[0.5], colors="tab:orange",
                   linewidths=1.2, linestyles=":")
    for key, style in (("base", dict(marker="o", mfc="w", mec="k")),
                       ("best", dict(marker="*", mfc="tab:red", mec="k", ms=13))):
        if key in marks:
            ax.plot(*marks[key], ls="none", ms=style.pop("ms", 8), **style)
    if result["log"][0]:
        ax.set_xscale("log")
    if result["log"][1]:
        ax.set_yscale("log")
    ax.set_xlabel(label(result["keys"][0]), fontsize=8)
    ax.set_ylabel(label(result["keys"][1]), fontsize=8)
    ax.set_title(name, fontsize=9)


def plot_map(path: Path, result: dict, names: Sequence[str], edge_zone: float,
             marks: dict | None = None, title: str = "") -> None:
    """Heat maps of ``names`` over the two keys, with the design rules drawn on each panel.

    White line: a GEB jump is edge_zone * L from its nearest electrode (inside: all jumps at
    the edges). Red dashed line and hatching: some layer's B outside the electrode window.
    Orange dotted line: a bottleneck strip enters the zone open to over/undershoot. Grey
    cross-hatching: no steady state with 0 < t_Li < 1 (an electronic short: the electronic
    current would exceed the applied one) or an invalid stack. Circle: the base case; star: the
    optimum (``marks``: name -> (x, y)).
    """
    plt = _pyplot()
    cols = min(2, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), dpi=90,
                             squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        _panel(fig, ax, result, name, edge_zone, dict(marks or {}))
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(title + f"\nwhite: jump at {edge_zone:g} L from an electrode; red dashed/hatched:"
                 " a B outside the window;\norange dotted: bottleneck in the open zone; grey:"
                 " no steady state (electronic short) or invalid stack", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_pareto(path: Path, records: Sequence[dict], front: Sequence[dict], objectives,
                best: dict | None = None, title: str = "") -> None:
    """Every evaluated feasible design (grey), the Pareto front (red) and the optimum (star),
    for the first two objectives."""
    plt = _pyplot()
    a, b = objectives[0].name, objectives[1].name
    pts = np.array([[r[a], r[b]] for r in records if r["status"] == "ok"])
    fig, ax = plt.subplots(figsize=(5.6, 4.3), dpi=110)
    if len(pts):
        ax.scatter(pts[:, 0], pts[:, 1], s=4, color="0.7", label="evaluated designs")
    if front:
        f = np.array([[r[a], r[b]] for r in front])
        ax.plot(f[:, 0], f[:, 1], "o-", color="tab:red", ms=3, lw=1, label="Pareto front")
    if best is not None and best["status"] == "ok":
        ax.plot(best[a], best[b], "*", ms=13, mfc="tab:red", mec="k", label="optimum")
    for axis, name in ((ax.xaxis, a), (ax.yaxis, b)):
        values = pts[:, 0 if name == a else 1] if len(pts) else np.array([])
        values = values[np.isfinite(values)]
        if name in LOG_METRICS and values.size and values.min() > 0:
            (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
    ax.set_xlabel(f"{objectives[0].label} ({METRICS[a][0]})")
    ax.set_ylabel(f"{objectives[1].label} ({METRICS[b][0]})")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
