"""``fem-sse view OUTDIR``: load a result's VTU files with pyvista, list their arrays, and
optionally draw one array to a PNG (matplotlib, off-screen: no X server needed).

The same as a snippet (docs/paraview/README.md)::

    import pyvista
    grid = pyvista.read("out/case/fields.vtu")      # or mechanics.vtu; .pvtu above the cap
    print(grid.array_names, grid["mu_Li0 [eV]"].max())
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fem_sse.io.outputs import OutputError

__all__ = ["describe", "result_files", "view"]

DEFAULT_ARRAY = {"fields": "mu_Li0 [eV]", "mechanics": "von_mises [Pa]"}


def result_files(outdir: Path) -> dict[str, Path]:
    """{"fields" / "mechanics": the .vtu (or .pvtu) file} of a result folder."""
    found = {}
    for stem in ("fields", "mechanics"):
        for ext in (".vtu", ".pvtu"):
            if (outdir / f"{stem}{ext}").is_file():
                found[stem] = outdir / f"{stem}{ext}"
    if not found:
        raise OutputError("OUTDIR", f"{outdir} holds no fields.vtu or mechanics.vtu (a fem_sse "
                          "result folder written by fem-sse run; older results have .bp/.xdmf "
                          "only, open them in ParaView)")
    return found


def describe(grid) -> list[dict]:
    """Every point and cell array: name, where, components, min and max."""
    rows = []
    for where, data in (("point", grid.point_data), ("cell", grid.cell_data)):
        for name in data.keys():
            values = np.asarray(data[name])
            rows.append({"name": name, "where": where,
                         "components": 1 if values.ndim == 1 else values.shape[1],
                         "min": float(values.min()) if values.size else None,
                         "max": float(values.max()) if values.size else None})
    return rows


def view(outdir: str | Path, png: str | None = None, array: str | None = None,
         which: str | None = None) -> list[str]:
    """Load ``outdir``'s VTU files with pyvista; return the lines to print; draw ``png``."""
    import pyvista

    files = result_files(Path(outdir))
    lines, grids = [], {}
    for stem, path in files.items():
        grid = grids[stem] = pyvista.read(path)
        lines.append(f"{path.name}: {grid.n_cells} cells, {grid.n_points} points")
        lines += [f"  {r['name']:<28} {r['where']:<5} {r['components']}  "
                  f"[{r['min']:.6g}, {r['max']:.6g}]" for r in describe(grid)]
    if png:
        stem = which or next((s for s in grids if array in grids[s].array_names),
                             next(iter(grids)))
        if stem not in grids:
            raise OutputError("--file", f"{outdir} has no {stem}.vtu (has: {', '.join(grids)})")
        name = array or DEFAULT_ARRAY[stem]
        if name not in grids[stem].array_names:
            raise OutputError("--array", f"{files[stem].name} has no array {name!r} (has: "
                              f"{', '.join(grids[stem].array_names)})")
        from fem_sse.io.outputs import draw_png

        note = draw_png(png, _draw, grids[stem], name)
        lines.append(f"wrote {png}" if note is None else f"{png}: {note}")
    return lines


def _draw(path, grid, name: str) -> None:
    """2D: a coloured map of ``name`` (um axes); 1D: ``name`` along x."""
    import matplotlib.pyplot as plt

    values = np.asarray(grid[name])
    values = values if values.ndim == 1 else np.linalg.norm(values, axis=1)
    cells = grid.cells.reshape(-1, grid.cells[0] + 1)[:, 1:]
    x = grid.points[:, :2] * 1e6
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=130)
    on_points = name in grid.point_data
    if cells.shape[1] == 2:  # 1D: one segment per cell (jumps between cells stay sharp)
        from matplotlib.collections import LineCollection

        y = values[cells] if on_points else np.repeat(values[:, None], 2, axis=1)
        ax.add_collection(LineCollection(np.stack([x[cells, 0], y], axis=-1), colors="C3"))
        ax.autoscale()
        ax.set_xlabel("x (um), cathode at 0")
        ax.set_ylabel(name)
    else:
        kwargs = {"shading": "gouraud"} if on_points else {"facecolors": values}
        art = ax.tripcolor(x[:, 0], x[:, 1], cells, *([values] if on_points else []),
                           cmap="viridis", **kwargs)
        fig.colorbar(art, ax=ax, label=name)
        ax.set_aspect("equal")
        ax.set_xlabel("x (um), cathode at 0")
        ax.set_ylabel("y (um)")
    ax.set_title(name, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
