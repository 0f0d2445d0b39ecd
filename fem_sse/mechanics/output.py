"""Mechanics files: VTX and XDMF fields for ParaView (collective), VTU for pyvista and
meshio, and PNG maps (rank 0, matplotlib).

Files written by :func:`write_mechanics_fields` (array names carry their unit):

* ``mechanics.bp`` (VTX/ADIOS2): every field in the discontinuous space of the stresses
  (DG of the displacement degree): displacement [m], mu_Li0 [eV], eigenstrain [-],
  von_mises [Pa], max_principal [Pa], sigma_1/sigma_2 [Pa] (in-plane principal), sigma_zz [Pa],
  hydrostatic [Pa], crack_risk [-] (cell max principal / strength), crack_risk_flaw_average [-]
  (the summary's crack_risk_index is its peak), principal_direction [-] (2D), stress [Pa]
  (sxx, syy, sxy, szz).
* ``mechanics.xdmf`` (+ ``.h5``): the mesh, its region tags, the displacement [m] (P1) and cell
  values (DG0) of the scalar fields, for readers without ADIOS2 (ParaView's XDMF3 reader).
* ``mechanics.vtu``: every field at the vertices of each cell (:mod:`fem_sse.io.vtu`), for
  pyvista and meshio (and ParaView's XML reader).

:func:`write_traction_table` writes ``tractions.csv``: the normal and shear traction on every
grain- and phase-boundary facet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dolfinx import fem

from fem_sse.io.vtu import write_vtu
from fem_sse.mechanics.post import facet_traction_table, traction_groups
from fem_sse.io.outputs import MAP_CELL_CAP

__all__ = ["plot_mechanics", "write_mechanics_fields", "write_traction_table"]


def _same_space(result) -> list[fem.Function]:
    """Displacement in the (vector) DG space of the stress fields, then the other fields."""
    msh = result.smesh.mesh
    degree = result.spec.degree
    u = fem.Function(fem.functionspace(msh, ("DG", degree, (msh.geometry.dim,))),
                     name="displacement [m]")
    u.interpolate(result.displacement)
    return [u, *result.fields.values()]


def write_mechanics_fields(folder, result) -> list[str]:
    """Write ``mechanics.bp``, ``mechanics.xdmf`` and ``mechanics.vtu`` into ``folder``
    (collective).

    Args:
        folder: existing output folder.
        result: a :class:`~fem_sse.mechanics.solve.MechanicsResult`.

    Returns:
        The names of the files written.
    """
    import dolfinx.io

    from fem_sse.io.xdmf import fix_xinclude_namespace

    folder = Path(folder)
    msh = result.smesh.mesh
    comm = msh.comm
    with dolfinx.io.VTXWriter(comm, str(folder / "mechanics.bp"), _same_space(result),
                              engine="BP4") as vtx:
        vtx.write(0.0)
    Q0 = fem.functionspace(msh, ("DG", 0))
    P1 = fem.functionspace(msh, ("Lagrange", 1, (msh.geometry.dim,)))
    u1 = fem.Function(P1, name="displacement [m]")
    u1.interpolate(result.displacement)
    with dolfinx.io.XDMFFile(comm, str(folder / "mechanics.xdmf"), "w") as xdmf:
        xdmf.write_mesh(msh)
        tags = result.smesh.cell_tags
        tags.name = "regions"
        xdmf.write_meshtags(tags, msh.geometry)
        xdmf.write_function(u1, 0.0)
        for name, f in result.fields.items():
            if f.function_space.num_sub_spaces:
                continue
            cellwise = fem.Function(Q0, name=name)
            cellwise.interpolate(f)
            xdmf.write_function(cellwise, 0.0)
    fix_xinclude_namespace(folder / "mechanics.xdmf", comm)  # else pyvista.read segfaults
    fields = {"displacement [m]": result.displacement, **result.fields}
    return ["mechanics.bp", "mechanics.xdmf", "mechanics.h5",
            *write_vtu(folder / "mechanics.vtu", msh, fields, MAP_CELL_CAP)]


def write_traction_table(folder, result) -> list[str]:
    """``tractions.csv`` (collective, rank 0 writes): one row per facet of every
    :func:`traction_groups` group, columns group, x_m, y_m (facet midpoint), length_m,
    normal_Pa (tension positive), shear_Pa (|t_s|), both Simpson means over the facet."""
    smesh = result.smesh
    rows = []
    for group in traction_groups(smesh.facet_groups):
        table = facet_traction_table(smesh.mesh, smesh.facet_tags, smesh.facet_groups[group],
                                     result.fields["stress [Pa]"])
        if table is not None:
            rows += [(group, *row) for row in table]
    if smesh.mesh.comm.rank == 0:
        path = Path(folder) / "tractions.csv"
        lines = ["group,x_m,y_m,length_m,normal_Pa,shear_Pa"]
        lines += [f"{g},{x:.10g},{y:.10g},{h:.10g},{tn:.8g},{ts:.8g}"
                  for g, x, y, h, tn, ts in rows]
        path.write_text("\n".join(lines) + "\n")
    return ["tractions.csv"]


def _vertex_samples(result, names: list[str]):
    """Per owned cell: vertex coordinates and the named fields (and u) evaluated there."""
    import dolfinx.mesh

    msh = result.smesh.mesh
    tdim = msh.topology.dim
    cells = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
    nodes = dolfinx.mesh.entities_to_geometry(msh, tdim, cells, False)
    coords = msh.geometry.x[nodes][:, : tdim + 1]
    n_v = coords.shape[1]
    points = coords.reshape(-1, 3)
    which = np.repeat(cells, n_v)
    data = {name: result.fields[name].eval(points, which).ravel() for name in names}
    data["displacement [m]"] = result.displacement.eval(points, which)
    return coords, data


def plot_mechanics(path, result, deformed: bool = False, scale: float | None = None) -> str | None:
    """PNG: mu_Li0 (eV) and von Mises (MPa) side by side (collective; rank 0 draws with
    matplotlib's Agg backend, so no X server is needed).

    Args:
        path: output PNG.
        result: a :class:`~fem_sse.mechanics.solve.MechanicsResult` (2D).
        deformed: draw on the deformed shape (displacement magnified by ``scale``) over the
            outline of the undeformed one.
        scale: magnification; default makes the largest displacement 5 % of the width.

    Returns:
        None when drawn; otherwise (rank 0) why not, e.g. ``"failed: ..."``
        (:func:`fem_sse.io.outputs.draw_png`: a failure to draw is a warning, never a lost run).
    """
    from fem_sse.io.outputs import draw_png

    comm = result.smesh.mesh.comm
    names = ["mu_Li0 [eV]", "von_mises [Pa]"]
    coords, data = _vertex_samples(result, names)
    gathered = comm.gather((coords, data), root=0)
    if comm.rank != 0:
        return None
    coords = np.concatenate([c for c, _ in gathered])[..., :2].reshape(-1, 2)
    values = {name: np.concatenate([d[name] for _, d in gathered]) for name in
              [*names, "displacement [m]"]}
    return draw_png(path, _draw_mechanics, coords, values, deformed, scale)


def _draw_mechanics(path, x, values, deformed, scale) -> None:
    """The two panels (rank 0): ``x`` (3 n, 2) vertex coordinates (m) of n triangles."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    triangles = np.arange(len(x)).reshape(-1, 3)
    shown = x
    if deformed:
        u = values["displacement [m]"][:, :2]
        u_max = float(np.abs(u).max()) or 1.0
        scale = scale if scale is not None else 0.05 * (float(np.ptp(x[:, 0])) or 1.0) / u_max
        shown = x + scale * u
    extent = np.ptp(shown, axis=0)
    aspect = extent[1] / max(extent[0], 1e-30)
    fig, axes = plt.subplots(1, 2, figsize=(12.0, max(2.5, 5.0 * aspect + 1.2)), dpi=130)
    panels = (("mu_Li0 [eV]", 1.0, "coolwarm", r"$\mu_{Li^0}$ (eV)"),
              ("von_mises [Pa]", 1e-6, "inferno", "von Mises (MPa)"))
    for ax, (name, factor, cmap, label) in zip(axes, panels, strict=True):
        art = ax.tripcolor(shown[:, 0] * 1e6, shown[:, 1] * 1e6, triangles,
                           values[name].ravel() * factor, shading="gouraud", cmap=cmap)
        if deformed:
            ax.add_collection(LineCollection(_outline(x) * 1e6, colors="0.5", linewidths=0.6))
            ax.set_title(f"deformed x{scale:.3g} over the undeformed outline", fontsize=8)
        fig.colorbar(art, ax=ax, label=label, orientation="horizontal", pad=0.18)
        ax.set_aspect("equal")
        ax.set_xlabel("x (um), cathode at 0")
        ax.set_ylabel("y (um)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _outline(x: np.ndarray) -> np.ndarray:
    """Boundary edges (k, 2, 2) of triangles given by vertex triples ``x`` (3 n, 2): the edges
    that belong to one triangle only (vertices matched by coordinates, as every cell has its
    own copies)."""
    tri = x.reshape(-1, 3, 2)
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    scale = float(np.abs(x).max()) or 1.0
    a, b = np.round(edges[:, 0] / scale, 9), np.round(edges[:, 1] / scale, 9)
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    key = np.where(swap[:, None], np.hstack([b, a]), np.hstack([a, b]))
    _, index, count = np.unique(key, axis=0, return_index=True,
                                return_counts=True)
    return edges[index[count == 1]]
