"""The exponentially fitted (EAFE) scheme in 2D (issue 16): laterally uniform stacks against
the exact 1D solution, the current balance to round-off, the fallback of a default ``fem`` run
the W formulation refuses, outputs, and 1 rank == all ranks.

Tolerances: along an edge the scheme is exact where one carrier carries a constant current
(the plateaus); its error comes from the cells where mu crosses B under an ionic drop and, in
2D, from the current's spreading, which the adaptive loop refines until 1 - t_Li and the
jumps change by less than ``solver.tolerance`` (1e-4) twice; the errors measured on the
laterally uniform stress2d configurations are in docs/transport2d.md
(bench/results/stress2d_s0_eafe.json), well below it. The tests ask for 1e-4, the loop's
tolerance, ten times below the issue's 1e-3 target.
Balances are conservation of a discrete flux: round-off (1e-10 of the current).

Tests without the ``serial`` mark also run under ``mpirun -n 2``.
"""

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from conftest import bilayer_2d
from fem_sse.app.run import run_case, solve_case
from fem_sse.spec.config import parse_config
from fem_sse.spec.tomlwrite import dumps

ROOT = Path(__file__).resolve().parent.parent
UM = 1e-6
BILAYER = bilayer_2d(kind="fem-eafe")
# stress2d seed 0, laterally uniform: 1 (3 layers, cancellation ratio 0.8), 14 (1.2e11,
# refused by the W formulation), 23 (3e23, refused), 26 (potentiostatic)
UNIFORM = [1, 14, 23, 26]


def _stress2d(index: int) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    import stress2d

    return stress2d.random_config(0, index)


def _exact_errors(summary: dict, exact: dict, length: float) -> tuple[float, float]:
    rel = abs(summary["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0)
    fem_x = sorted(j["x"] for j in summary["jumps"])
    ex_x = sorted(j["x"] for j in exact["jumps"])
    assert len(fem_x) == len(ex_x), (fem_x, ex_x)
    return rel, max((abs(a - b) for a, b in zip(fem_x, ex_x)), default=0.0) / length


@pytest.mark.mpi
def test_uniform_bilayer_matches_exact(comm):
    """The paper's Fig. 3 bilayer extruded: 1 - t_Li, jumps and PB potential of the exact 1D
    solution; straight fronts across the width; certified."""
    config = parse_config(copy.deepcopy(BILAYER))
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    summary, _ = solve_case(config, comm)
    assert summary["solver"] == "fem-eafe" and summary["converged"], summary.get(
        "not_converged_because")
    assert summary["stop_reason"] == "tolerance" and not summary["not_converged_because"]
    rel, dx = _exact_errors(summary, exact, config.thickness)
    assert rel < 1e-4 and dx < 1e-4
    assert abs(summary["mu_interfaces"][0]["mu"] - exact["mu_interfaces"][0]["mu"]) < 1e-3
    assert summary["front_coverage"] == pytest.approx([1.0] * len(summary["jumps"]), abs=1e-6)
    assert summary["exact_1d"]["status"] == "ok"


@pytest.mark.mpi
@pytest.mark.parametrize("index", UNIFORM)
def test_random_uniform_stacks_match_exact(comm, index):
    """Laterally uniform stress2d stacks, two of them beyond the W formulation's precision."""
    data = _stress2d(index)
    config = parse_config(data, data["name"])
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    summary, _ = solve_case(config, comm, "fem-eafe")
    assert summary["converged"], summary["not_converged_because"]
    rel, dx = _exact_errors(summary, exact, config.thickness)
    assert rel < 1e-4 and dx < 1e-4


@pytest.mark.mpi
@pytest.mark.parametrize("index", [1, 23])
def test_current_balance_to_round_off(comm, index):
    """Ionic and electronic currents at cathode and anode, the cuts x = const whose round-off
    bound resolves the current, and the cut t_Li uses: one current, to round-off (23: the
    electrode reactions next to layers with B 2 eV inside the window are round-off, and
    counted out; its cuts elsewhere are not)."""
    data = _stress2d(index)
    summary, _ = solve_case(parse_config(data, data["name"]), comm, "fem-eafe")
    balance = summary["current_balance"]
    assert balance["relative_imbalance"] < 1e-10
    assert balance["electronic_relative_imbalance"] < 1e-10
    assert balance["applied_current_error"] < 1e-12
    assert int(balance["electronic_resolved"].split()[0]) >= 3
    assert balance["electronic_cut_A_per_m2"] == pytest.approx(
        summary["j_electronic_A_per_m2"], rel=1e-14)
    assert summary["newton_residual"] < 1e-9 * 0.0257  # V: every node within 1e-9 kT
    assert summary["obtuse_edges"]["edges"] > 0


@pytest.mark.mpi
def test_fallback_solves_what_the_w_formulation_refuses(comm):
    """stress2d 0:23 (cancellation ratio 3e23): the W formulation refuses it before meshing; a
    default ``fem`` run is solved by the EAFE scheme, says so, and is right."""
    data = _stress2d(23)
    data["solver"] = {**data["solver"]}
    config = parse_config(data, data["name"])
    assert config.solver.fallback == "fem-eafe"  # the default
    summary, _ = solve_case(config, comm, "fem")
    assert summary["solver"] == "fem-eafe" and summary["converged"]
    assert summary["fallback"]["from"] == "fem"
    assert summary["fallback"]["stage"].startswith("precision check")
    assert abs(summary["exact_1d"]["rel_diff_one_minus_t_li"]) < 1e-6
    data["solver"]["fallback"] = "none"
    from fem_sse.errors import ConvergenceError

    with pytest.raises(ConvergenceError, match="cannot resolve"):
        solve_case(parse_config(data, data["name"]), comm, "fem")


def _grains(conductance: float) -> dict:
    """The bilayer with three grains in its cathodic layer, zero-thickness GB interfaces of
    Li+ conductance ``conductance`` (S/m^2)."""
    data = copy.deepcopy(BILAYER)
    data["geometry"]["grain_boundaries"] = {"model": "interface", "conductance": conductance}
    data["geometry"]["layers"][0]["grains"] = {"count": 3, "seed": 1}
    return data


@pytest.mark.mpi
def test_grain_boundary_interfaces_match_the_w_formulation(comm):
    """eta_i jumps across a GB interface (j . n = g [eta_i]), eta_e does not: the EAFE scheme
    with the discontinuous w agrees with the W formulation (DG1 W and w; both converged on
    their tolerance 1e-4, measured 4e-6 apart in 1 - t_Li at g = 1e3 S/m^2), and its current
    balance holds to round-off."""
    config = parse_config(_grains(1e3))
    eafe, extras = solve_case(config, comm, "fem-eafe")
    # what the mechanics takes (the tutorial asks the problem, whichever scheme solved it)
    W = extras.problem.kirchhoff_function()  # noqa: N806
    assert np.array_equal(W.x.array, extras.view.kirchhoff_function().x.array)
    w, _ = solve_case(config, comm, "fem")
    assert w["solver"] == "fem" and "fallback" not in w
    for s in (eafe, w):
        assert s["converged"] and s["stop_reason"] == "tolerance", s.get("not_converged_because")
    assert eafe["ionic_space"].startswith("DG1")
    assert eafe["current_balance"]["relative_imbalance"] < 1e-10
    assert eafe["one_minus_t_li"] == pytest.approx(w["one_minus_t_li"], rel=1e-4)
    assert len(eafe["jumps"]) == len(w["jumps"])
    length = config.thickness
    for a, b in zip(eafe["jumps"], w["jumps"]):
        assert abs(a["x"] - b["x"]) < 1e-4 * length


@pytest.mark.mpi
def test_conductive_interfaces_give_the_uniform_stack(comm):
    """g -> infinity removes the interfaces' resistance: at g = 1e12 S/m^2 (a 1e-12 Ohm m^2
    film against the layers' 1e-4) the grains' bilayer is the laterally uniform one, whose
    exact 1D state the scheme must reproduce; at g = 1e3 it must not (the interfaces resist)."""
    config = parse_config(_grains(1e12))
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    summary, _ = solve_case(config, comm, "fem-eafe")
    assert summary["converged"] and summary["ionic_space"].startswith("DG1")
    assert summary["one_minus_t_li"] == pytest.approx(exact["one_minus_t_li"], rel=1e-4)
    resisting, _ = solve_case(parse_config(_grains(1e3)), comm, "fem-eafe")
    assert abs(resisting["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0) > 1e-2


@pytest.mark.mpi
def test_transverse_gb_interface_is_the_thin_strip_limit(comm):
    """A full-width GB interface across the current (g = 100 S/m^2: [eta_i] = j/g = 0.1 V,
    four kT, so mu jumps by 0.1 eV there): the exact 1D solution of a strip of vanishing
    width and conductivity g d is its limit, which the scheme must reproduce (the W
    formulation's check in tests/test_transport2d.py, on the same structured mesh)."""
    from test_transport2d import BASE, G_GB, X_GB, _gb_mesh, bilayer2d

    from fem_sse.transport.eafe2d_solve import solve_adaptive_eafe_2d
    from fem_sse.transport.exact1d import solve_exact

    sigma = BASE["materials"]["SE_cathodic"]["sigma_li"]
    strip = bilayer2d(width=2 * UM, bottlenecks=[
        {"center": X_GB, "width": 1e-11, "sigma_li_factor": G_GB * 1e-11 / sigma}])
    limit, _ = solve_case(parse_config(strip).stack_1d(), comm, "exact")
    data = bilayer2d(width=2 * UM, grain_boundaries={"model": "interface",
                                                     "conductance": G_GB},
                     solver={"adaptive": True, "tolerance": 1e-5})
    config = parse_config(data)
    out = solve_adaptive_eafe_2d(config, comm, solve_exact(config.stack_1d()), None,
                                 _gb_mesh(config, comm))
    assert out.stop_reason == "tolerance" and out.problem.w_dg is not None
    result = out.result
    assert result["one_minus_t_li"] == pytest.approx(limit["one_minus_t_li"], rel=1e-4)
    assert result["ionic_potential_drop"] == pytest.approx(limit["ionic_potential_drop_V"],
                                                           rel=1e-4)
    jumps = out.metrics.jumps
    assert len(jumps) == len(limit["jumps"])
    for a, b in zip(jumps, limit["jumps"]):
        assert abs(a.x_m - b["x"]) < 1e-4 * config.thickness


def test_uncut_crack_is_refused(comm):
    """A crack line still inside the mesh (not cut open) cannot carry the scheme's no-flux
    lips: refused in one line, naming the way to cut it."""
    from fem_sse.geometry import build_mesh
    from fem_sse.transport.eafe2d import unsupported

    data = copy.deepcopy(BILAYER)
    data["geometry"]["cracks"] = [{"start": [40 * UM, 1 * UM], "end": [40 * UM, 3 * UM]}]
    config = parse_config(data)
    assert "cut_cracks=True" in unsupported(config, build_mesh(config, comm))
    assert unsupported(config, build_mesh(config, comm, cut_cracks=True)) is None


def _pore_and_strip() -> dict:
    data = copy.deepcopy(BILAYER)
    data["geometry"]["width"] = 10 * UM
    data["geometry"]["pores"] = [{"center": [30 * UM, 5 * UM], "radii": [2 * UM, 2 * UM]}]
    data["geometry"]["bottlenecks"] = [{"center": 70 * UM, "width": 0.1 * UM,
                                        "sigma_li_factor": 1e-2}]
    data["solver"]["max_refinements"] = 3
    return data


@pytest.mark.mpi
@pytest.mark.parametrize("case", ["pore_and_strip", "gb_interfaces"])
def test_one_rank_equals_all_ranks(comm, case):
    """A pore (not laterally uniform) and a 100 nm strip, and grains with GB interfaces (w
    discontinuous), adaptive: the same meshes, t_Li and jumps on COMM_SELF and on all
    ranks."""
    data = _pore_and_strip() if case == "pore_and_strip" else _grains(1e3)
    config = parse_config(data)
    results = [solve_case(config, c, "fem-eafe")[0] for c in (MPI.COMM_SELF, comm)]
    a, b = results
    assert [h.get("cells") for h in a["refinement_history"]] == [
        h.get("cells") for h in b["refinement_history"]]
    assert b["t_li"] == pytest.approx(a["t_li"], rel=1e-10)
    assert [j["x"] for j in b["jumps"]] == pytest.approx([j["x"] for j in a["jumps"]],
                                                         rel=1e-9)


@pytest.mark.mpi
def test_run_writes_the_w_fem_outputs(comm, shared_tmp):
    """A 2D fem-eafe run writes what a W-FEM 2D run writes, and restart files."""
    config = parse_config(copy.deepcopy(BILAYER))
    summary = run_case(config, shared_tmp / "run", comm, png=False)
    for name in ("summary.json", "fronts.json", "fronts.csv", "fields.bp", "regions.xdmf",
                 "fields.vtu"):
        assert (shared_tmp / "run" / name).exists(), name
    assert summary["solver"] == "fem-eafe" and 0.0 < summary["t_li"] < 1.0
    assert summary["fronts"] == "fronts.json"


MECH_CASE = {"name": "eafe2d_mechanics", **bilayer_2d(width=10 * UM, kind="fem-eafe"),
             "mechanics": {"model": "plane_strain", "stack_pressure": 5e6, "refine_fronts": 2,
                           "bc": {"cathode": "roller", "anode": "pressure",
                                  "side_y0": "roller", "side_y1": "roller"}}}
for _material in MECH_CASE["materials"].values():
    _material["strain_law"] = "two_state"


@pytest.mark.mpi
def test_mechanics_and_restart_from_a_2d_eafe_run(shared_tmp, comm):
    """The elastic solve takes the EAFE state's W (DG1, per cell's material) like the W-FEM's,
    and ``fem-sse mechanics`` restarts from its checkpoint with the same stresses."""
    import json

    from fem_sse.app.cli import main

    case = shared_tmp / "mech.toml"
    if comm.rank == 0:
        case.write_text(dumps(MECH_CASE))
    comm.barrier()
    run = shared_tmp / "mech"
    assert main(["run", str(case), "-o", str(run), "-q"]) == 0
    first = json.loads((run / "summary.json").read_text())
    assert first["solver"] == "fem-eafe" and first["converged"]
    assert first["checkpoint"] == "checkpoint" and "mechanics.bp" in first["files"]
    assert 0.0 < first["max_von_mises"] < 1e10
    assert main(["mechanics", str(run), "--progress=off", "--no-png"]) == 0
    again = json.loads((shared_tmp / "mech_mechanics" / "summary.json").read_text())
    assert again["max_von_mises"] == pytest.approx(first["max_von_mises"], rel=1e-9)


@pytest.mark.mpi
@pytest.mark.parametrize("contact", [None, [[6 * UM, 14 * UM]]])
def test_electronic_indicator_marks_where_the_current_spreads(comm, contact):
    """The gradient recovery of the electronic current (transport/eafe2d_current_error.py):
    zero to round-off on a laterally uniform stack (the edge currents are the exact 1D
    current's projections), largest next to the ends of a partial anode contact, where the
    current spreads (stress2d 5:38 stopped 4.7e-4 above the W loop without it)."""
    from fem_sse.transport.eafe2d_gb import averaged_state
    from fem_sse.transport.eafe2d_solve import solve_adaptive_eafe_2d
    from fem_sse.transport.eafe2d_current_error import (SPREAD_FLOOR, _cell_currents,
                                                    electronic_indicators)

    data = bilayer_2d(width=20 * UM, kind="fem-eafe", adaptive=False)
    if contact is not None:
        data["geometry"]["anode_contact"] = contact
    config = parse_config(data)
    problem = solve_adaptive_eafe_2d(config, comm, averaged_state(config)).problem
    eta2, spread = electronic_indicators(problem)
    current, area, resolved = _cell_currents(problem)
    assert resolved.all()
    scale = comm.allreduce(float((area * (current**2).sum(axis=1)).sum()), op=MPI.SUM)
    total = comm.allreduce(float(eta2.sum()), op=MPI.SUM)
    assert spread == pytest.approx(np.sqrt(total / scale), rel=1e-12)
    if contact is None:
        assert spread < 1e-2 * SPREAD_FLOOR
        assert np.allclose(current[:, 1], 0.0, atol=1e-9 * np.abs(current[:, 0]).max())
        return
    assert spread > 1e-2
    centres = problem.x[problem.cell_dofs][:, :, :2].mean(axis=1)
    ends = np.array([[config.thickness, 6 * UM], [config.thickness, 14 * UM]])
    near = np.linalg.norm(centres[:, None] - ends[None], axis=-1).min(axis=1) < 10 * UM
    top = comm.allreduce(float(eta2[near].max(initial=0.0)), op=MPI.MAX)
    assert top == comm.allreduce(float(eta2.max(initial=0.0)), op=MPI.MAX)
