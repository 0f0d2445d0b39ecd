"""The wall-time budget of the 2D W solve (``solver.w_budget_s``, issue 16): a budget that runs
out is a failure of the W formulation, so the fallback solves the case and the summary's
``fallback`` block names the budget; with ``solver.fallback = "none"`` the run exits 3 naming
it, never "converged". The stop decision is collective: every rank stops at the same Newton
iteration even when only one rank's clock is past the deadline.

Tests without the ``serial`` mark also run under ``mpirun -n 2``.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from conftest import bilayer_2d
from fem_sse.app.run import solve_case
from fem_sse.errors import ConvergenceError
from fem_sse.spec.config import ConfigError, parse_config
from fem_sse.spec.tomlwrite import dumps
from fem_sse.transport import budget

# the paper's Fig. 3 bilayer, extruded: the W formulation solves it (a budget is what fails)
BILAYER = {"name": "budget2d", **bilayer_2d(w_budget_s=1e-6)}


def test_budget_key_is_checked():
    default = parse_config(copy.deepcopy({**BILAYER, "solver": {"tolerance": 1e-4}}))
    assert default.solver.w_budget_s == 200.0
    with pytest.raises(ConfigError, match="w_budget_s"):
        parse_config(copy.deepcopy({**BILAYER, "solver": {"w_budget_s": -1.0}}))


@pytest.mark.mpi
def test_budget_hands_gb_interfaces_to_the_fallback(comm):
    """GB interfaces with a conductance: the fallback solves them too (w discontinuous in the
    EAFE scheme), so the budget applies there as everywhere and hands the case over."""
    data = copy.deepcopy(BILAYER)
    data["geometry"]["grain_boundaries"] = {"model": "interface", "conductance": 1e3}
    data["geometry"]["layers"][0]["grains"] = {"count": 3, "seed": 1}
    summary, _ = solve_case(parse_config(data), comm, "fem")
    assert summary["solver"] == "fem-eafe" and summary["converged"]
    assert summary["fallback"]["stage"] == "budget"
    assert summary["ionic_space"].startswith("DG1")


@pytest.mark.mpi
def test_stop_is_collective(comm):
    """Only rank 0 is past its deadline: every rank raises at the same check."""
    deadline = time.monotonic() + (-1.0 if comm.rank == 0 else 1e6)
    budget._open = (deadline, 5.0, comm)
    try:
        with pytest.raises(budget.BudgetExceeded):
            budget.check()
    finally:
        budget._open = None
    budget.check()  # no budget open: nothing to stop


@pytest.mark.mpi
def test_budget_stops_w_and_the_fallback_solves(comm):
    config = parse_config(copy.deepcopy(BILAYER))
    summary, _ = solve_case(config, comm, "fem")
    assert summary["solver"] == "fem-eafe" and summary["converged"]
    assert summary["fallback"]["stage"] == "budget"
    assert "solver.w_budget_s" in summary["fallback"]["reason"]
    # the run's wall time: the W solve's (stopped by its budget) and the fallback's
    assert summary["wall_time_s"] >= summary["fallback"]["from_time_s"] >= 1e-6
    # the same case without a budget: the W formulation itself solves it, no fallback
    data = copy.deepcopy(BILAYER)
    data["solver"]["w_budget_s"] = 0
    summary_w, _ = solve_case(parse_config(data), comm, "fem")
    assert "fallback" not in summary_w and summary_w["converged"]
    assert summary["t_li"] == pytest.approx(summary_w["t_li"], rel=1e-4)


@pytest.mark.mpi
def test_budget_without_fallback_is_exit_3(comm, shared_tmp):
    from fem_sse.app.cli import main

    data = copy.deepcopy(BILAYER)
    data["solver"]["fallback"] = "none"
    with pytest.raises(ConvergenceError, match="budget"):
        solve_case(parse_config(data), comm, "fem")
    case = shared_tmp / "budget.toml"
    if comm.rank == 0:
        case.write_text(dumps(data))  # the same case, fallback = "none"
    comm.barrier()
    out = shared_tmp / "out"
    assert main(["run", str(case), "-o", str(out), "-q"]) == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["converged"] is False
    assert "w_budget_s" in json.dumps(summary)


def _pore_case(max_cells: int, adaptive: bool = True):
    data = copy.deepcopy(BILAYER)
    data["geometry"]["width"] = 20e-6
    data["geometry"]["pores"] = [{"center": [30e-6, 10e-6], "radii": [3e-6, 2e-6]}]
    data["mesh"] = {"size_bulk": 2e-6, "grading": 1.0}
    data["solver"] = {"max_cells": max_cells, "adaptive": adaptive}
    return parse_config(data)


def _cells(config, comm) -> int:
    from fem_sse.geometry import build_mesh

    mesh = build_mesh(config, comm).mesh
    return mesh.topology.index_map(2).size_global


@pytest.mark.mpi
def test_first_mesh_leaves_room(comm, caplog):
    """A first plane mesh above half of solver.max_cells is coarsened to below it (the
    adaptive loop's room); a non-adaptive run keeps the sizes it was given; a cap the
    features cannot meet is said in one warning."""
    fine = _cells(_pore_case(1000, adaptive=False), comm)
    assert fine > 500  # the sizes given: above the room of max_cells = 1000
    assert _cells(_pore_case(1000), comm) <= 500
    with caplog.at_level("WARNING", logger="fem_sse.geometry.sizing"):
        _cells(_pore_case(10), comm)
    warned = [r for r in caplog.records if "little room to refine" in r.getMessage()]
    assert len(warned) == (1 if comm.rank == 0 else 0)  # meshed on rank 0


@pytest.mark.mpi
def test_first_mesh_has_at_most_first_cells_whatever_the_cap(comm, monkeypatch):
    """The first mesh's target is min(ROOM * max_cells, FIRST_CELLS): a large cap (the 2D
    default is 160 000) does not let a fine first mesh stand (here FIRST_CELLS is lowered to
    300 so that a small mesh shows it)."""
    from fem_sse.geometry import sizing

    fine = _cells(_pore_case(100000, adaptive=False), comm)
    monkeypatch.setattr(sizing, "FIRST_CELLS", 300)
    coarse = _cells(_pore_case(100000), comm)
    assert fine > 300 >= coarse


def test_solver_defaults_are_the_dimensions():
    """1D: tolerance 1e-5, 20 000 cells; 2D: tolerance 1e-4, 160 000 cells (spec.dimension);
    a [solver] table still sets its own."""
    from conftest import BILAYER as LINE

    line = parse_config(copy.deepcopy({"name": "line", **LINE}))
    plane = parse_config({k: v for k, v in copy.deepcopy(BILAYER).items() if k != "solver"})
    assert (line.solver.tolerance, line.solver.max_cells) == (1e-5, 20000)
    assert (plane.solver.tolerance, plane.solver.max_cells) == (1e-4, 160000)
    assert _pore_case(1000).solver.max_cells == 1000
