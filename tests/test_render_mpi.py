"""The pyvista PNG of the mechanics fields under MPI (regression: the render subprocess inherited
mpirun's variables, joined the job as a phantom rank and hung in MPI_Init until its timeout)."""

import sys
from pathlib import Path

import numpy as np
from dolfinx import fem

ROOT = Path(__file__).parent.parent


def test_mechanics_png_under_mpi(shared_tmp, comm):
    sys.path.insert(0, str(ROOT / "bench"))
    import mechanics as bench  # the structured 100 um bilayer of bench/mechanics.py

    from fem_sse.mechanics import plot_mechanics, solve_mechanics

    smesh = bench._smesh(comm, 16)
    mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))  # mu_Li0 (eV): a front
    mu.interpolate(lambda x: -3.0 + 1.5 * (1.0 + np.tanh((x[0] - 0.4 * bench.L)
                                                         / (0.01 * bench.L))))
    result = solve_mechanics(smesh, mu, bench._config(), comm)
    path = shared_tmp / "render.png"
    plot_mechanics(path, result)
    comm.barrier()
    assert path.stat().st_size > 10_000
