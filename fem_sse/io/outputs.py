"""Writers: summary JSON, profile CSV, profile PNG (rank 0) and ParaView fields (collective).

Everything lands in ``OUTDIR.partial`` first and is renamed to ``OUTDIR`` at the end
(:func:`output_directory`), so an interrupted run never leaves a half-written result folder:
``OUTDIR`` is either the complete previous result, the complete new one, or absent. Single
files go through :func:`atomic_write_text` (temporary name, then rename).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import json
import logging
import os
from pathlib import Path

import numpy as np

from fem_sse.errors import result_published
from fem_sse.spec.config import MAX_SCALED_POTENTIAL
from fem_sse.io import outdir
from fem_sse.io.outdir import OutputError

__all__ = ["OutputError", "atomic_write_text", "draw_png", "output_directory", "plot_mu_map",
           "plot_profile", "write_fields", "write_fronts", "write_json", "write_profile_csv"]

log = logging.getLogger(__name__)


MAP_CELL_CAP = 400_000  # mu_map.png gathers the field on rank 0 only below this many cells

PROFILE_COLUMNS = ("x_m", "x_over_L", "mu_Li0_eV", "eta_i_eV", "eta_e_eV", "sigma_eh_S_per_m",
                   "layer")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary sibling and a rename (calling rank only):
    a reader, or a run killed meanwhile, sees the old file or the new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _discard(partial: Path) -> None:
    """Remove the temporary folder of a failed run, unless someone put files in it (kept)."""
    try:
        outdir.remove_owned(partial)
    except (OutputError, OSError) as exc:
        log.warning("%s", exc)


def _replace_directory(partial: Path, final: Path) -> None:
    """Move ``partial`` to ``final``: the old ``final`` (owned or empty: checked before) is
    renamed aside first and deleted after, so ``final`` is never a mix of both (a kill in
    between leaves it absent)."""
    old = final.with_name(f"{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(partial, final)
    try:
        outdir.remove_owned(old)
    except OutputError as exc:  # files added to the old result during the run: kept
        log.warning("%s", exc)


def _open_partial(path, overwrite: bool, kind: str, inputs,
                  writes) -> tuple[Path, Path]:
    """Check ``path`` (:func:`fem_sse.io.outdir.plan_output`), clear what a killed run of it
    left (only what fem-sse wrote: a leftover holding anything else is refused), create and
    claim ``path.partial``; rank 0."""
    final, _ = outdir.plan_output(path, overwrite=overwrite, inputs=inputs)
    partial = final.with_name(final.name + ".partial")
    for stale in [partial, *final.parent.glob(f"{glob.escape(final.name)}.old-*")]:
        if not outdir.remove_owned(stale):
            raise OutputError("-o", f"{stale} is in the way and was not created by fem-sse: "
                              "move it, or choose another output folder")
    partial.mkdir(parents=True)
    outdir.claim(partial, kind, writes=writes)
    return final, partial


@contextlib.contextmanager
def output_directory(path: str | Path, comm, overwrite: bool = True, kind: str = "run",
                     inputs=(), extra_names=()):
    """Yield a temporary sibling folder ``path.partial``; on success it replaces ``path``.

    Only a folder fem-sse owns is replaced (:mod:`fem_sse.io.outdir`: an earlier result when
    ``overwrite``, an empty folder, or nothing); anything else raises :class:`OutputError`
    before anything is written. On an exception the temporary folder is removed and ``path``
    is left as it was. A ``.partial`` folder left by a killed run is removed by the next run of
    the same output. Collective over ``comm`` (rank 0 touches the file system).

    Args:
        kind: what the folder holds ("run", "design", ...), recorded in its marker.
        inputs: files the command reads (the output may not contain them).
        extra_names: names (fnmatch) the caller writes into the folder besides fem-sse's
            own (:data:`fem_sse.io.outdir.WRITES`); a killed run's leftover holding other
            names is not deleted by the next run.
    """
    writes = (*outdir.WRITES, *extra_names)
    final, partial = outdir.on_root(comm, lambda: _open_partial(path, overwrite, kind,
                                                                inputs, writes))
    try:
        yield partial
    except BaseException:
        # no barrier: when only some ranks fail, the others are stuck in a collective and the
        # job is aborted (fem_sse.errors); a leftover .partial is removed by the next run
        if comm.rank == 0:
            _discard(partial)
        raise
    comm.barrier()
    with result_published():  # all or nothing; a Ctrl-C from now on comes too late
        if comm.rank == 0:
            outdir.seal(partial)
            _replace_directory(partial, final)
        comm.barrier()


def write_json(path: Path, data: dict) -> None:
    """JSON with a trailing newline, written to a temporary name and renamed."""
    atomic_write_text(path, json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_profile_csv(path: Path, rows: dict) -> None:
    """Columns of :data:`PROFILE_COLUMNS`, then any extra ones (e.g. stresses), from
    equal-length arrays in ``rows``."""
    columns = PROFILE_COLUMNS + tuple(c for c in rows if c not in PROFILE_COLUMNS)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for values in zip(*(rows[c] for c in columns)):
            writer.writerow([v if isinstance(v, str) else f"{v:.10g}" for v in values])
    os.replace(tmp, path)


def draw_png(path: str | Path, draw, *args, **kwargs) -> str | None:
    """``draw(path, *args, **kwargs)`` with matplotlib's Agg backend (no X server needed), on the
    calling rank.

    A figure never costs a result: a failure to draw is logged as a warning, a partly
    written PNG is removed, and the reason is returned (``"failed: ..."``) for the summary;
    None when the PNG was written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        draw(path, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any drawing error; the results stand without it
        Path(path).unlink(missing_ok=True)
        reason = f"{type(exc).__name__}: {exc}".strip()
        log.warning("could not draw %s (%s); the other results are complete",
                    Path(path).name, reason)
        return f"failed: {reason}"
    return None


def plot_profile(path: Path, config, x: np.ndarray, mu: np.ndarray, jumps_m: list[float],
                 title: str) -> str | None:
    """mu_Li0 (eV) vs x/L (x in m) in the style of the paper: layers shaded, bottlenecks
    marked, electrode potentials dashed, and zoomed insets where a jump (``jumps_m``: their
    positions, m) sits within 5 % of an electrode. Returns None when drawn, else why not
    (:func:`draw_png`)."""
    return draw_png(path, _draw_profile, config, x, mu, jumps_m, title)


def _draw_profile(path: Path, config, x: np.ndarray, mu: np.ndarray, jumps_m: list[float],
                  title: str) -> None:
    import matplotlib.pyplot as plt

    L = config.thickness  # noqa: N806
    xi = x / L
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=130)
    colours = ["#dbe9f6", "#fbe3d6", "#e2f0d9", "#eee1f3"]
    edges = config.layer_edges()
    for i, layer in enumerate(config.layers):
        ax.axvspan(edges[i] / L, edges[i + 1] / L, color=colours[i % len(colours)], zorder=0)
        ax.text(0.5 * (edges[i] + edges[i + 1]) / L, 0.02, layer.material, ha="center",
                va="bottom", transform=ax.get_xaxis_transform(), fontsize=8, color="0.3")
    for strip in config.bottlenecks:
        ax.axvline(strip.center / L, color="0.45", lw=0.8, ls=":", zorder=1)
    for value, name in ((config.cell.mu_cathode, "cathode"), (config.cell.mu_anode, "anode")):
        ax.axhline(value, color="0.2", lw=0.8, ls="--", zorder=1)
        ax.text(1.0, value, f" {name}", va="center", fontsize=7,
                transform=ax.get_yaxis_transform())
    ax.plot(xi, mu, color="#b2182b", lw=1.6, zorder=3)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("x / L")
    ax.set_ylabel(r"$\mu_{Li^0}$ (eV)")
    ax.set_title(title, fontsize=10)
    edge_jumps = [xj / L for xj in jumps_m if xj / L < 0.05 or xj / L > 0.95]
    for k, xj in enumerate(edge_jumps[:2]):
        left = xj < 0.5
        inset = ax.inset_axes([0.08 if left else 0.62, 0.55, 0.3, 0.38])
        span = max(3.0 * min(xj, 1.0 - xj), 0.01)
        lo, hi = (0.0, span) if left else (1.0 - span, 1.0)
        sel = (xi >= lo) & (xi <= hi)
        inset.plot(xi[sel], mu[sel], color="#b2182b", lw=1.2)
        inset.set_xlim(lo, hi)
        inset.tick_params(labelsize=6)
        inset.set_title(f"jump at x/L = {xj:.4g}", fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_fields(folder: Path, problem) -> list[str]:
    """Field files (collective): VTX ``fields.bp`` with mu_Li0 (eV), eta_i (eV), eta_e (eV),
    W (A/m) and sigma_eh (S/m) in the DG space of W (2D: ``currents.bp``, j_Li and j_eh
    (A/m^2) per cell); XDMF ``regions.xdmf`` with the mesh, its region tags, the region id and
    mu_Li0 (eV) per cell; and ``fields.vtu`` with all of them for pyvista and meshio
    (:func:`fem_sse.io.vtu.write_vtu`). ``problem`` is a W-FEM state
    (:class:`fem_sse.transport.problem.TransportProblem`) or an exponentially fitted one
    (:class:`fem_sse.transport.eafe.EafeProblem`: the same files and names,
    :mod:`fem_sse.io.eafe_fields`). Returns the names of the files written."""
    from fem_sse.transport.eafe import EafeProblem

    if isinstance(problem, EafeProblem):
        from fem_sse.io.eafe_fields import eafe_fields

        point, region_id, mu_cell = eafe_fields(problem)
        currents = []
    else:
        point, currents, region_id, mu_cell = _wfem_fields(problem)
    return _write_field_files(folder, problem.comm, problem.smesh, point, currents, region_id,
                              mu_cell)


def _wfem_fields(problem) -> tuple[list, list, object, object]:
    """The W-FEM's functions: (mu, eta_i, eta_e, W, sigma_eh in its DG space; the 2D current
    densities (DG0 vectors, else none); the region id and mu_Li0 (eV) per cell (DG0))."""
    import ufl
    from dolfinx import fem

    from fem_sse import compat
    from fem_sse.transport.discretisation import discretisation_for

    V = problem.V
    mu = problem.mu_function()
    mu.name = "mu_Li0 [eV]"
    eta_i = fem.Function(V, name="eta_i [eV]")
    eta_i.interpolate(fem.Expression(problem.ionic_potential(), compat.interpolation_points(V)))
    eta_e = fem.Function(V, name="eta_e [eV]")
    eta_e.x.array[:] = mu.x.array - eta_i.x.array
    kirchhoff = problem.kirchhoff_function()
    kirchhoff.name = "W [A/m]"
    sigma = fem.Function(V, name="sigma_eh [S/m]")
    A, B = problem.fields["A"], problem.fields["B"]
    clamp = MAX_SCALED_POTENTIAL
    arg = ufl.max_value(ufl.min_value((mu - B) / problem.kT, clamp), -clamp)
    sigma.interpolate(fem.Expression(2.0 * A * ufl.cosh(arg), compat.interpolation_points(V)))
    currents = []
    if discretisation_for(problem.mesh).current_fields:  # cellwise (DG0 vectors)
        Vj = fem.functionspace(problem.mesh, ("DG", 0, (problem.mesh.geometry.dim,)))  # noqa: N806
        for name, expr in zip(("j_Li [A/m^2]", "j_eh [A/m^2]"), problem.current_densities()):
            f = fem.Function(Vj, name=name)
            f.interpolate(fem.Expression(expr, compat.interpolation_points(Vj)))
            currents.append(f)
    mu_cell = fem.Function(problem.Q, name="mu_Li0 [eV]")
    mu_cell.interpolate(mu)
    return [mu, eta_i, eta_e, kirchhoff, sigma], currents, problem.fields["region_id"], mu_cell


def _write_field_files(folder: Path, comm, smesh, point: list, currents: list, region_id,
                       mu_cell) -> list[str]:
    """fields.bp (``point``), currents.bp (``currents``, when any), regions.xdmf/.h5 and
    fields.vtu (all of them and ``region_id`` as "region_id [-]"); collective."""
    import dolfinx.io

    from fem_sse.io.vtu import write_vtu
    from fem_sse.io.xdmf import fix_xinclude_namespace

    with dolfinx.io.VTXWriter(comm, str(folder / "fields.bp"), point, engine="BP4") as vtx:
        vtx.write(0.0)
    files = ["fields.bp", "regions.xdmf", "regions.h5"]
    if currents:
        with dolfinx.io.VTXWriter(comm, str(folder / "currents.bp"), currents,
                                  engine="BP4") as vtx:
            vtx.write(0.0)
        files.append("currents.bp")
    with dolfinx.io.XDMFFile(comm, str(folder / "regions.xdmf"), "w") as xdmf:
        xdmf.write_mesh(smesh.mesh)
        smesh.cell_tags.name = "regions"
        xdmf.write_meshtags(smesh.cell_tags, smesh.mesh.geometry)
        # two cell fields: ParaView 5.13's XDMF3 reader shows a file with exactly one function
        # (one temporal grid) as an empty data set (0 cells)
        for f in (region_id, mu_cell):
            xdmf.write_function(f, 0.0)
    fix_xinclude_namespace(folder / "regions.xdmf", comm)  # else pyvista.read segfaults on it
    fields = {f.name: f for f in (*point, *currents)}
    fields["region_id [-]"] = region_id
    files.extend(write_vtu(folder / "fields.vtu", smesh.mesh, fields, MAP_CELL_CAP))
    return files


def write_fronts(folder: Path, fronts: list[dict]) -> list[str]:
    """``fronts.json`` (one polyline per front, points in m) and ``fronts.csv`` (front, material,
    B_eV, x_m, y_m), rank 0."""
    write_json(folder / "fronts.json", {"level": "mu_Li0 = B of the material", "fronts": fronts})
    tmp = folder / "fronts.csv.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("front", "material", "B_eV", "x_m", "y_m"))
        for k, front in enumerate(fronts):
            for x, y in front["points_m"]:
                writer.writerow((k, front["material"], front["B_eV"], f"{x:.10g}", f"{y:.10g}"))
    os.replace(tmp, folder / "fronts.csv")
    return ["fronts.json", "fronts.csv"]


def plot_mu_map(path: Path, problem, fronts: list[dict] | None, title: str) -> str | None:
    """mu_Li0 map with the fronts (collective; rank 0 draws). The per-cell vertex values are
    gathered on rank 0, so this is skipped above :data:`MAP_CELL_CAP` cells.

    Returns:
        None when drawn (and on ranks > 0), else why not: ``"skipped: ..."`` or
        ``"failed: ..."`` (:func:`draw_png`).
    """
    from fem_sse.parallel import gather_arrays
    from fem_sse.transport.metrics2d import cell_data

    tdim = problem.mesh.topology.dim
    if problem.mesh.topology.index_map(tdim).size_global > MAP_CELL_CAP:
        return f"skipped: more than {MAP_CELL_CAP} cells"
    data = cell_data(problem)
    rows = gather_arrays(problem.comm, data["x"], data["mu"])
    if rows is None:
        return None
    x, mu = rows[0].reshape(-1, 2) * 1e6, rows[1].ravel()
    return draw_png(path, _draw_mu_map, x, mu, problem.config.cell, fronts, title)


def _draw_mu_map(path: Path, x: np.ndarray, mu: np.ndarray, cell, fronts, title: str) -> None:
    """x (3 n, 2) vertex coordinates (um) of n triangles, mu (3 n) (eV)."""
    import matplotlib.pyplot as plt

    lo, hi = cell.mu_cathode - 0.2, cell.mu_anode + 0.2
    triangles = np.arange(len(x)).reshape(-1, 3)
    extent = np.ptp(x, axis=0)
    fig, ax = plt.subplots(figsize=(7.5, max(2.5, 7.5 * extent[1] / max(extent[0], 1e-30))),
                           dpi=130)
    art = ax.tripcolor(x[:, 0], x[:, 1], triangles, np.clip(mu, lo, hi), shading="gouraud",
                       cmap="RdYlBu_r", vmin=lo, vmax=hi)
    for front in fronts or []:
        pts = np.array(front["points_m"]) * 1e6
        ax.plot(pts[:, 0], pts[:, 1], color="k", lw=0.8)
    fig.colorbar(art, ax=ax, label=r"$\mu_{Li^0}$ (eV)")
    ax.set_aspect("equal")
    ax.set_xlabel("x (um), cathode at 0")
    ax.set_ylabel("y (um)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
