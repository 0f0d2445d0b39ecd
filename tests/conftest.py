"""Shared fixtures: configs built in code, MPI-safe temporary folders."""

import copy

import pytest
from mpi4py import MPI

BILAYER = {
    "cell": {"temperature": 298.0, "current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
    "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3},
                  "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}},
    "geometry": {"dim": 1, "layers": [{"material": "SE_cathodic", "thickness": 50e-6},
                                      {"material": "SE_anodic", "thickness": 50e-6}]},
}


def bilayer_2d(width: float = 4e-6, **solver) -> dict:
    """:data:`BILAYER` extruded to a 2D strip ``width`` (m) wide: coarse isotropic cells
    (5 um), ``solver.tolerance`` 1e-4 and the ``solver`` keys given (a fresh copy)."""
    data = copy.deepcopy(BILAYER)
    data["geometry"].update(dim=2, width=width)
    data["mesh"] = {"size_bulk": 5e-6, "grading": 1.0}
    data["solver"] = {"tolerance": 1e-4, **solver}
    return data


@pytest.fixture
def bilayer_data():
    """The issue's minimal bilayer schema as a dict (a fresh copy per test)."""
    return copy.deepcopy(BILAYER)


@pytest.fixture
def comm():
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(tmp_path_factory, comm):
    """A temporary folder that all ranks share (rank 0's, broadcast)."""
    path = tmp_path_factory.mktemp("shared") if comm.rank == 0 else None
    return comm.bcast(path, root=0)
