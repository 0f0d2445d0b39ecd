"""fem_sse.io.vtu: the VTU files pyvista and meshio read, exact for DG1/P1 fields, serially and
on any number of ranks (one gathered file, or per-rank pieces and a .pvtu above the cap)."""

import json
import sys

import meshio
import numpy as np
import pytest
from dolfinx import fem, mesh

from fem_sse.io.childproc import run_child
from fem_sse.io.vtu import write_vtu

PYVISTA = """import json, sys, pyvista
g = pyvista.read(sys.argv[1])
print(json.dumps({"cells": g.n_cells, "arrays": g.array_names,
                  "u_max": float(g["u [m]"][:, :2].max()), "f_max": float(g["f [eV]"].max())}))
"""


def _fields(comm):
    msh = mesh.create_unit_square(comm, 6, 4)
    f = fem.Function(fem.functionspace(msh, ("DG", 1)), name="f [eV]")
    dofs = f.function_space.dofmap.list  # linear per cell, a jump of 1 at x = 0.5
    x = f.function_space.tabulate_dof_coordinates()[dofs]
    f.x.array[dofs] = 2.0 * x[..., 0] - x[..., 1] + (x[..., 0].mean(axis=1, keepdims=True) > 0.5)
    u = fem.Function(fem.functionspace(msh, ("Lagrange", 1, (2,))))
    u.interpolate(lambda x: np.stack([x[0], 3.0 * x[1]]))
    r = fem.Function(fem.functionspace(msh, ("DG", 0)))
    r.x.array[:] = 7.0
    return msh, {"f [eV]": f, "u [m]": u, "region_id [-]": r}


@pytest.mark.mpi
@pytest.mark.parametrize("cap", [0, 10**6])
def test_vtu_round_trip(shared_tmp, comm, cap):
    msh, fields = _fields(comm)
    path = shared_tmp / f"f{cap}.vtu"
    files = write_vtu(path, msh, fields, cap)
    comm.barrier()
    pieces = comm.size > 1 and cap == 0
    assert files[0] == (f"f{cap}.pvtu" if pieces else f"f{cap}.vtu")
    assert len(files) == (1 + comm.size if pieces else 1)
    if comm.rank != 0:
        return
    total = 0
    for name in files[1:] if pieces else files:  # meshio reads the .vtu files (not .pvtu)
        data = meshio.read(shared_tmp / name)
        cells = data.cells[0].data
        total += len(cells)
        x = data.points[cells]  # (n, 3, 3): every cell has its own vertices
        f = data.point_data["f [eV]"][cells]
        assert np.allclose(f, 2.0 * x[..., 0] - x[..., 1]
                           + (x[..., 0].mean(axis=1, keepdims=True) > 0.5), atol=1e-12)
        assert np.allclose(data.point_data["u [m]"], np.column_stack(
            [data.points[:, 0], 3.0 * data.points[:, 1], np.zeros(len(data.points))]))
        assert np.all(data.cell_data["region_id [-]"][0] == 7.0)
    assert total == 48
    done = run_child([sys.executable, "-c", PYVISTA, str(shared_tmp / files[0])])
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["cells"] == 48 and {"f [eV]", "u [m]", "region_id [-]"} <= set(seen["arrays"])
    assert seen["u_max"] == pytest.approx(3.0) and seen["f_max"] == pytest.approx(3.0)
