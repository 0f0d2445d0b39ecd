"""Mechanics files: VTX and XDMF fields for ParaView (collective) and pyvista PNG maps (rank 0).

Files written by :func:`write_mechanics_fields` (array names carry their unit):

* ``mechanics.bp`` (VTX/ADIOS2): every field in the discontinuous space of the stresses
  (DG of the displacement degree): displacement [m], mu_Li0 [eV], eigenstrain [-],
  von_mises [Pa], max_principal [Pa], sigma_1/sigma_2 [Pa] (in-plane principal), sigma_zz [Pa],
  hydrostatic [Pa], crack_risk [-], principal_direction [-] (2D), stress [Pa] (sxx, syy, sxy, szz).
* ``mechanics.xdmf`` (+ ``.h5``): the mesh, its region tags, the displacement [m] (P1) and cell
  values (DG0) of the scalar fields, for readers without ADIOS2 (ParaView's XDMF reader).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from dolfinx import fem

__all__ = ["plot_mechanics", "write_mechanics_fields"]


def _same_space(result) -> list[fem.Function]:
    """Displacement in the (vector) DG space of the stress fields, then the other fields."""
    msh = result.smesh.mesh
    degree = result.spec.degree
    u = fem.Function(fem.functionspace(msh, ("DG", degree, (msh.geometry.dim,))),
                     name="displacement [m]")
    u.interpolate(result.displacement)
    return [u, *result.fields.values()]


def write_mechanics_fields(folder, result) -> list[str]:
    """Write ``mechanics.bp`` and ``mechanics.xdmf`` into ``folder`` (collective).

    Args:
        folder: existing output folder.
        result: a :class:`~fem_sse.mechanics.solve.MechanicsResult`.

    Returns:
        The names of the files written.
    """
    import dolfinx.io

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
    return ["mechanics.bp", "mechanics.xdmf", "mechanics.h5"]


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


def plot_mechanics(path, result, deformed: bool = False, scale: float | None = None) -> None:
    """PNG: mu_Li0 (eV) and von Mises (Pa) side by side (collective; rank 0 renders).

    Args:
        path: output PNG.
        result: a :class:`~fem_sse.mechanics.solve.MechanicsResult` (2D).
        deformed: draw on the deformed shape (displacement magnified by ``scale``).
        scale: magnification; default makes the largest displacement 5 % of the thickness.

    Rendering runs in a subprocess under ``xvfb-run -a`` when there is no display (pyvista on
    Debian trixie needs an X server off-screen).
    """
    comm = result.smesh.mesh.comm
    names = ["mu_Li0 [eV]", "von_mises [Pa]"]
    coords, data = _vertex_samples(result, names)
    gathered = comm.gather((coords, data), root=0)
    if comm.rank != 0:
        return
    import pyvista

    coords = np.concatenate([c for c, _ in gathered])
    n_cells, n_v = coords.shape[:2]
    cell_type = pyvista.CellType.TRIANGLE if n_v == 3 else pyvista.CellType.LINE
    connectivity = np.column_stack([np.full(n_cells, n_v), np.arange(n_cells * n_v)
                                    .reshape(n_cells, n_v)]).ravel()
    grid = pyvista.UnstructuredGrid(connectivity, np.full(n_cells, cell_type),
                                    coords.reshape(-1, 3))
    for name in [*names, "displacement [m]"]:
        grid.point_data[name] = np.concatenate([d[name] for _, d in gathered])
    if grid.point_data["displacement [m]"].shape[1] == 2:
        u = grid.point_data["displacement [m]"]
        grid.point_data["displacement [m]"] = np.column_stack([u, np.zeros(len(u))])
    if deformed:
        u_max = float(np.abs(grid.point_data["displacement [m]"]).max()) or 1.0
        extent = float(np.ptp(grid.points[:, 0])) or 1.0
        scale = scale if scale is not None else 0.05 * extent / u_max
    else:
        scale = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        vtu = Path(tmp) / "mechanics.vtu"
        grid.save(vtu)
        command = [sys.executable, "-m", "fem_sse.mechanics.render", str(vtu), str(path),
                   repr(scale)]
        if not os.environ.get("DISPLAY"):
            command = ["xvfb-run", "-a", *command]
        # without the launcher's variables: under mpirun the child would import MPI as "rank 0
        # of N" and wait forever in MPI_Init for ranks that never come
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OMPI_", "PMIX_", "PRTE_"))}
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"rendering {path} failed: {done.stderr.strip()[-500:]}")
