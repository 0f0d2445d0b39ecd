"""The 2D transport solver: against the exact 1D solution, manufactured solutions, the GB
interface model against thin strips, outputs, and 1 rank == 2 ranks.

Tests without the ``serial`` mark also run under ``mpirun -n 2`` (CI's MPI lane).
"""

import copy
import math

import numpy as np
import pytest
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from mpi4py import MPI

from fem_sse import compat
from fem_sse.transport.adapt import solve_adaptive
from fem_sse.spec.config import parse_config
from fem_sse.geometry import SeparatorMesh, build_mesh
from fem_sse.geometry.regions import ANODE, CATHODE, GB, Region
from fem_sse.app.run import run_case, solve_case
from fem_sse.transport.problem import TransportProblem, solve_transport

UM = 1e-6
BASE = {
    "cell": {"temperature": 298.0, "current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
    "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3},
                  "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}},
}


def bilayer2d(width=4 * UM, mesh=None, solver=None, **geometry):
    """The paper's Fig. 3 bilayer (50 + 50 um) in 2D, laterally uniform unless told."""
    data = copy.deepcopy(BASE)
    data["geometry"] = {"dim": 2, "width": width, **geometry,
                        "layers": [{"material": "SE_cathodic", "thickness": 50 * UM},
                                   {"material": "SE_anodic", "thickness": 50 * UM}]}
    data["mesh"] = {"size_bulk": 2.5 * UM, "grading": 1.0, **(mesh or {})}
    data["solver"] = {"adaptive": False, **(solver or {})}
    return data


def test_uniform_stack_matches_exact(comm):
    """A laterally uniform 2D bilayer reproduces the exact 1D t_Li, jumps and PB potential."""
    config = parse_config(bilayer2d())
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    fem2d, _ = solve_case(config, comm, "fem")
    assert abs(fem2d["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0) < 1e-4
    assert [j["layer"] for j in fem2d["jumps"]] == [j["layer"] for j in exact["jumps"]]
    for a, b in zip(fem2d["jumps"], exact["jumps"]):
        assert abs(a["x"] - b["x"]) < 1e-4 * config.thickness
        assert a["length_m"] == pytest.approx(config.width, rel=1e-3)  # a straight front
    assert abs(fem2d["mu_interfaces"][0]["mu"] - exact["mu_interfaces"][0]["mu"]) < 1e-3
    assert fem2d["cathode_length_m"] == pytest.approx(config.width, rel=1e-12)
    assert fem2d["electronic_leakage_A_per_m2"] == pytest.approx(
        exact["j_electronic_A_per_m2"], rel=1e-4)



def test_extruded_strip_stack_matches_exact(comm):
    """Fig. 4c extruded: three blocking strips (factors 1e-2, 1e-4, 1e-2) whose electronic
    boundary layers are ~26 nm thick. The extruded, anisotropic mesh resolves them across the
    thickness only; adaptive refinement reaches the 1D exact 1 - t_Li within 0.2 %."""
    strips = [{"center": c * UM, "width": 0.1 * UM, "sigma_li_factor": f}
              for c, f in ((25, 1e-2), (50, 1e-4), (75, 1e-2))]
    config = parse_config(bilayer2d(width=10 * UM, bottlenecks=strips,
                                    mesh={"size_bulk": 5 * UM, "bottleneck_cells": 1},
                                    solver={"adaptive": True, "max_cells": 12000,
                                            "tolerance": 1e-4}))
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    fem2d, _ = solve_case(config, comm, "fem")
    assert fem2d["refinement_history"][0]["cells"] < 5000  # extruded, not isotropic
    assert abs(fem2d["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0) < 2e-3
    for a, b in zip(fem2d["jumps"], exact["jumps"], strict=True):
        assert abs(a["x"] - b["x"]) < 1e-3 * config.thickness

# -- manufactured solution -------------------------------------------------------------------
PHI, MU_C, MU_A = 0.05, -0.1, 0.1  # V, eV, eV


def exact_fields(x, mod):
    """w (-) and eta_e (eV) on the unit square, written once for ufl and numpy.

    Both satisfy the electrode values, no flux at y = 0, 1, and d(eta_e)/dx = 0 at the material
    interface x = 1/2, so both currents are continuous there although sigma_eh jumps.
    """
    w = 1.0 - x[0] + 0.1 * mod.sin(math.pi * x[0]) * mod.cos(math.pi * x[1])
    s = 0.5 + 4.0 * (x[0] - 0.5) ** 3
    eta_e = (MU_C - PHI) + (MU_A - MU_C + PHI) * s + 0.05 * mod.sin(math.pi * x[0]) ** 2 * mod.cos(
        math.pi * x[1])
    return w, eta_e


def unit_square(n: int, comm) -> SeparatorMesh:
    """Unit square, two materials (x < 1/2, x > 1/2), cathode x = 0, anode x = 1."""
    msh = dmesh.create_unit_square(comm, n, n, ghost_mode=dmesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    num = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    cells = np.arange(num, dtype=np.int32)
    mid = dmesh.compute_midpoints(msh, tdim, cells)
    cell_tags = dmesh.meshtags(msh, tdim, cells, np.where(mid[:, 0] < 0.5, 1, 2).astype(np.int32))
    facets, values = [], []
    for tag, x0 in ((CATHODE, 0.0), (ANODE, 1.0)):
        found = dmesh.locate_entities_boundary(msh, tdim - 1, lambda x, x0=x0: np.isclose(x[0], x0))
        facets.append(found)
        values.append(np.full(len(found), tag, dtype=np.int32))
    facets = np.concatenate(facets)
    order = np.argsort(facets)
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets[order], np.concatenate(values)[order])
    regions = {1: Region("layer0", 0, "M1", 1.0, "layer"), 2: Region("layer1", 1, "M2", 1.0,
                                                                        "layer")}
    return SeparatorMesh(msh, cell_tags, facet_tags, regions, {"cathode": CATHODE,
                                                                 "anode": ANODE})


MMS_CONFIG = {
    "cell": {"temperature": 298.0, "ionic_potential_drop": PHI, "mu_cathode": MU_C,
             "mu_anode": MU_A},
    "materials": {"M1": {"sigma_li": 1.0, "A": 1.0, "B": -0.05},
                  "M2": {"sigma_li": 1.0, "A": 0.5, "B": 0.05}},
    "geometry": {"dim": 2, "width": 1.0, "layers": [{"material": "M1", "thickness": 0.5},
                                                     {"material": "M2", "thickness": 0.5}]},
    "mesh": {"size_bulk": 0.1},
}


def _mms_errors(n: int, degree: int, comm) -> tuple[float, float]:
    config = parse_config(copy.deepcopy(MMS_CONFIG))
    kT = config.cell.kT  # noqa: N806

    def exact(problem):
        x = ufl.SpatialCoordinate(problem.mesh)
        w, eta_e = exact_fields(x, ufl)
        A, B = problem.fields["A"], problem.fields["B"]  # noqa: N806
        mu = PHI * w + eta_e
        kirchhoff = 2.0 * A * kT * ufl.sinh((mu - B) / kT)
        sigma_eh = 2.0 * A * ufl.cosh((mu - B) / kT)
        j_eh = ufl.grad(kirchhoff) - sigma_eh * PHI * ufl.grad(w)
        return w, kirchhoff, j_eh

    def sources(problem):
        w, _, j_eh = exact(problem)
        sigma = problem.fields["sigma_li"]
        return {"ionic": -ufl.div(sigma * ufl.grad(w)), "electronic": -ufl.div(j_eh)}

    problem = TransportProblem(config, unit_square(n, comm), degree=degree, sources=sources)
    # start from the interpolated solution: the rates, not Newton's path, are under test
    problem.set_scale(PHI * problem.conductance / problem.area * config.thickness)
    x = ufl.SpatialCoordinate(problem.mesh)
    w, eta_e = exact_fields(x, ufl)
    mu = fem.Function(problem.V)
    mu.interpolate(fem.Expression(PHI * w + eta_e, compat.interpolation_points(problem.V)))
    problem.set_from_mu(mu)
    solve_transport(problem)
    w, kirchhoff, _ = exact(problem)
    dx = ufl.Measure("dx", domain=problem.mesh, metadata={"quadrature_degree": degree + 4})

    def l2(expr):
        local = fem.assemble_scalar(fem.form(expr**2 * dx))
        return math.sqrt(comm.allreduce(local, op=MPI.SUM))

    err_w = l2(problem.omega * problem.w_scale - kirchhoff) / l2(kirchhoff)
    err_ion = l2(problem.w - w) / l2(w)
    return err_w, err_ion


@pytest.mark.parametrize("degree", [1, 2])
def test_manufactured_rates(degree, comm):
    """Observed L2 rates: DG_p Kirchhoff W >= min(p + 1, 2) - 0.2, P1 ionic >= 1.8.

    The drift of the W equation is the gradient of the P1 ionic field (first order), so the
    coupled system converges at second order whatever p: measured for p = 2 on 4, 8, 16 cells
    per side, 1.92 and 2.39 (p = 1: see docs/transport2d.md).
    """
    sizes = (8, 16, 32) if degree == 1 else (4, 8, 16)
    errors = [_mms_errors(n, degree, comm) for n in sizes]
    rates_w = [math.log2(a[0] / b[0]) for a, b in zip(errors[:-1], errors[1:])]
    rates_i = [math.log2(a[1] / b[1]) for a, b in zip(errors[:-1], errors[1:])]
    assert rates_w[-1] >= min(degree + 1, 2) - 0.2, (errors, rates_w)
    assert rates_i[-1] >= 1.8, (errors, rates_i)


# -- grain boundaries: zero-thickness interface vs thin strip --------------------------------
G_GB = 100.0  # S/m^2: [eta_i] = j / g = 0.1 V, four kT
X_GB = 25 * UM


def _gb_mesh(config, comm, nx: int = 40, ny: int = 2) -> SeparatorMesh:
    """Structured rectangle with a full-width zero-thickness GB (facet group ``gb``) at X_GB."""
    length, width = config.thickness, config.width
    msh = dmesh.create_rectangle(comm, [[0.0, 0.0], [length, width]], [nx, ny],
                                 ghost_mode=dmesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    num = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    cells = np.arange(num, dtype=np.int32)
    mid = dmesh.compute_midpoints(msh, tdim, cells)
    tags = np.where(mid[:, 0] < X_GB, 101000, np.where(mid[:, 0] < 50 * UM, 101001, 200000))
    cell_tags = dmesh.meshtags(msh, tdim, cells, tags.astype(np.int32))
    found = [dmesh.locate_entities_boundary(msh, tdim - 1, lambda x: np.isclose(x[0], 0.0)),
             dmesh.locate_entities_boundary(msh, tdim - 1, lambda x: np.isclose(x[0], length)),
             dmesh.locate_entities(msh, tdim - 1, lambda x: np.isclose(x[0], X_GB))]
    values = [np.full(len(f), t, dtype=np.int32) for f, t in zip(found, (CATHODE, ANODE, GB))]
    facets = np.concatenate(found)
    order = np.argsort(facets)
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets[order], np.concatenate(values)[order])
    regions = {101000: Region("layer0/grain0", 0, "SE_cathodic", 1.0, "grain", 0),
               101001: Region("layer0/grain1", 0, "SE_cathodic", 1.0, "grain", 1),
               200000: Region("layer1", 1, "SE_anodic", 1.0, "layer")}
    return SeparatorMesh(msh, cell_tags, facet_tags, regions,
                         {"cathode": CATHODE, "anode": ANODE, "gb": GB})


@pytest.mark.serial
def test_gb_interface_is_the_thin_strip_limit(comm):
    """A GB interface of conductance g matches strips of width d and conductivity g d as
    d -> 0: the 2D interface result agrees with the exact 1D strip of vanishing width, and 2D
    strips approach it linearly in d."""
    sigma = BASE["materials"]["SE_cathodic"]["sigma_li"]

    def strip(d):
        return bilayer2d(width=2 * UM, bottlenecks=[
            {"center": X_GB, "width": d, "sigma_li_factor": G_GB * d / sigma}])

    limit, _ = solve_case(parse_config(strip(1e-11)).stack_1d(), comm, "exact")
    data = bilayer2d(width=2 * UM, grain_boundaries={"model": "interface",
                                                     "conductance": G_GB})
    config = parse_config(data)
    problem = TransportProblem(config, _gb_mesh(config, comm))
    assert problem.ionic_dg
    result = solve_transport(problem)
    err = abs(result["one_minus_t_li"] / limit["one_minus_t_li"] - 1.0)
    assert err < 1e-4
    assert result["ionic_potential_drop"] == pytest.approx(limit["ionic_potential_drop_V"],
                                                           rel=1e-4)
    from fem_sse.transport.metrics2d import fem_metrics_2d

    jumps = fem_metrics_2d(problem).jumps
    assert [j.layer for j in jumps] == [j["layer"] for j in limit["jumps"]]
    for a, b in zip(jumps, limit["jumps"]):
        assert abs(a.x_m - b["x"]) < 1e-3 * config.thickness
    # 2D strips (adaptive: their boundary layers) converge to the interface, linearly in d
    gaps = []
    for d in (2 * UM, 1 * UM):
        cfg = parse_config(strip(d) | {"solver": {"adaptive": True, "max_refinements": 4,
                                                  "tolerance": 1e-4}})
        fem2d, _ = solve_case(cfg, comm, "fem")
        gaps.append(abs(fem2d["one_minus_t_li"] / result["one_minus_t_li"] - 1.0))
    assert gaps[1] < 0.7 * gaps[0], gaps


# -- parallel, refinement, outputs -----------------------------------------------------------
def _grains_config():
    data = bilayer2d(width=10 * UM, mesh={"size_bulk": 4 * UM}, grain_boundaries={
        "model": "interface", "conductance": 1e3})
    data["geometry"]["layers"][0]["grains"] = {"count": 4, "seed": 1}
    data["geometry"]["layers"][1]["grains"] = {"count": 4, "seed": 2}
    return data


def test_one_rank_equals_all_ranks(comm):
    """Grains with GB interfaces (DG ionic field): the same DOFs and t_Li on COMM_SELF and on
    all ranks."""
    config = parse_config(_grains_config())
    results = []
    for c in (MPI.COMM_SELF, comm):
        problem = TransportProblem(config, build_mesh(config, c))
        results.append((problem.dofs, solve_transport(problem)["t_li"]))
    assert results[0][0] == results[1][0]
    assert results[1][1] == pytest.approx(results[0][1], rel=1e-10)


def test_adaptive_run_outputs(comm, shared_tmp):
    """Adaptive refinement in parallel keeps every tag (areas, lengths) and the outputs exist."""
    data = _grains_config()
    data["geometry"]["anode_contact"] = [[0.0, 5 * UM]]
    data["solver"] = {"adaptive": True, "max_refinements": 2, "max_cells": 4000}
    config = parse_config(data)
    out = solve_adaptive(config, comm)
    assert len(out.history) == 3 and out.history[-1].cells > out.history[0].cells
    assert out.history[-1].cells <= 4000
    stats = out.metrics.region_stats
    area = sum(s.area_m2 for s in stats.values())
    assert area == pytest.approx(config.thickness * config.width, rel=1e-12)
    assert out.problem.anode_area == pytest.approx(5 * UM, rel=1e-12)
    summary = run_case(config, shared_tmp / "run", comm)
    for name in ("summary.json", "fronts.json", "fronts.csv", "mu_map.png", "fields.bp",
                 "currents.bp", "regions.xdmf"):
        assert (shared_tmp / "run" / name).exists(), name
    assert summary["fronts"] == "fronts.json"
    assert 0.0 < summary["t_li"] < 1.0


def test_front_chains_join_across_one_cell_gaps():
    """Edge-keyed chains a cell apart (a DG front near a vertex) join; distant fronts do not."""
    from fem_sse.transport.metrics2d import _close_gaps

    pts = np.array([[[0.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 2.0]],  # chain A: y 0..2
                    [[0.1, 2.5], [0.1, 3.5]],  # chain B: 0.5 beyond A's end
                    [[5.0, 0.0], [5.0, 1.0]]])  # chain C: another front, far away
    p = pts[0]
    chains = [([p[0], p[1], pts[1, 1]], [0, 1]), ([pts[2, 1], pts[2, 0]], [2]),
              ([pts[3, 0], pts[3, 1]], [3])]
    joined = _close_gaps(chains, pts, ["m"] * 4)
    assert sorted(sorted(s) for _, s in joined) == [[0, 1, 2], [3]]
    merged = next(p for p, s in joined if len(s) == 3)
    assert np.allclose(merged[0], [0, 0]) and np.allclose(merged[-1], [0.1, 3.5])
    assert len(_close_gaps(chains, pts, ["m", "m", "other", "m"])) == 3  # materials differ



@pytest.mark.parametrize("roughness", [None, {"amplitude": 3 * UM, "wavelength": 2 * UM}])
def test_interface_segments_trace_the_phase_boundary(comm, roughness):
    """The phase boundary's facets as rank 0 sees them (both sides, every rank's cells): on
    the flat PB at x = 50 um, twice the width long; on a rough one longer, within its
    amplitude; with the materials on its sides (where interface pieces of fronts join)."""
    from fem_sse.transport.metrics2d import cell_data, interface_segments

    extra = {} if roughness is None else {"phase_boundaries": {"roughness": roughness}}
    config = parse_config(bilayer2d(**extra))
    problem = TransportProblem(config, build_mesh(config, comm))
    found = interface_segments(problem, cell_data(problem))
    if comm.rank != 0:
        assert found is None
        return
    segments, materials = found["pb0"]
    assert materials == {"SE_cathodic", "SE_anodic"}
    total = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).sum()
    if roughness is None:
        assert np.allclose(segments[:, :, 0], 50 * UM, rtol=0, atol=1e-12)
        assert total == pytest.approx(2 * config.width, rel=1e-12)
    else:
        assert np.abs(segments[:, :, 0] - 50 * UM).max() <= 3 * UM * (1 + 1e-9)
        assert total > 2.5 * config.width

# -- certification (issue 16): stop reasons, current balance, exact 1D, coverage --------------
def test_uniform_stack_certificate(comm):
    """The laterally uniform bilayer: currents balance, the residual is small, the summary
    carries the exact 1D value and its difference, and each front covers the whole width."""
    summary, _ = solve_case(parse_config(bilayer2d()), comm, "fem")
    assert summary["converged"] is True and summary["stop_reason"] == "adaptive off"
    balance = summary["current_balance"]
    assert balance["relative_imbalance"] < 1e-9
    assert balance["electronic_cathode_A_per_m2"] == pytest.approx(
        balance["electronic_anode_A_per_m2"], rel=1e-6)
    assert balance["ionic_cathode_A_per_m2"] == pytest.approx(
        balance["ionic_anode_A_per_m2"], rel=1e-9)
    assert balance["applied_current_error"] < 1e-9
    assert summary["newton_residual_relative"] < 1e-8
    exact = summary["exact_1d"]
    assert exact["status"] == "ok" and abs(exact["rel_diff_one_minus_t_li"]) < 1e-4
    assert exact["same_jump_count"] and exact["max_jump_diff_over_L"] < 1e-4
    assert summary["front_coverage"] == pytest.approx([1.0] * len(summary["jumps"]), abs=1e-3)
    assert summary["not_converged_because"] == []


def test_cap_stopped_loop_is_not_converged(comm):
    """An adaptive loop stopped by its cell cap or step cap before the tolerance says so."""
    for solver, reason in (({"max_cells": 1200, "tolerance": 1e-9}, "cell cap"),
                           ({"max_refinements": 1, "tolerance": 1e-9}, "step cap")):
        config = parse_config(bilayer2d(solver={"adaptive": True, **solver}))
        summary, _ = solve_case(config, comm, "fem")
        assert summary["stop_reason"] == reason
        assert summary["converged"] is False
        assert summary["last_change"]["d_one_minus_t"] > 0.0


@pytest.mark.parametrize("kind", ["fem", "fem-eafe"])
def test_capped_marking_is_no_quiet_step(comm, kind, monkeypatch):
    """Meshes made by markings the cell cap cut are weak evidence: with a tolerance every
    change meets, two quiet steps both from capped markings do not stop the loop (here every
    marking is flagged capped, as the cap of a large mesh would), and refinement_history says
    which were (``marking_capped``); a quiet pair with one whole marking, or two, stops it."""
    from fem_sse.transport import adapt

    monkeypatch.setattr(adapt, "CAPPED_GROWTH", 1e9)  # no step grows enough to count anyway
    loose = {"adaptive": True, "tolerance": 0.05, "max_refinements": 3, "fallback": "none"}
    config = parse_config(bilayer2d(solver=loose))
    roomy, _ = solve_case(config, comm, kind)
    assert roomy["stop_reason"] == "tolerance" and roomy["converged"] is True
    assert not any(step.get("marking_capped") for step in roomy["refinement_history"])
    whole = adapt.doerfler_marking
    monkeypatch.setattr(adapt, "doerfler_marking",
                        lambda *args, **kw: adapt.Marking(whole(*args, **kw).cells, True))
    summary, _ = solve_case(config, comm, kind)
    assert [step.get("marking_capped", False) for step in summary["refinement_history"]] == [
        False, True, True, True]
    assert summary["stop_reason"] == "step cap" and summary["converged"] is False
    calls = []

    def every_other(*args, **kw):  # capped, whole, capped, ...
        calls.append(None)
        return adapt.Marking(whole(*args, **kw).cells, len(calls) % 2 == 1)

    monkeypatch.setattr(adapt, "doerfler_marking", every_other)
    summary, _ = solve_case(config, comm, kind)
    assert [step.get("marking_capped", False) for step in summary["refinement_history"]] == [
        False, True, False]
    assert summary["stop_reason"] == "tolerance" and summary["converged"] is True


def test_capped_step_that_grew_the_mesh_counts():
    """A capped marking that still grew the mesh by CAPPED_GROWTH (20 %) is a refinement
    like any other: only smaller capped steps are flagged ``marking_capped``."""
    from types import SimpleNamespace

    from fem_sse.transport.adapt import CAPPED_GROWTH, record_step
    from fem_sse.transport.results import RefinementStep

    opts = SimpleNamespace(tolerance=1e-4)
    result = SimpleNamespace(one_minus_t_li=0.1, newton_iterations=3)
    flags = []
    for cells in (int(1000 * CAPPED_GROWTH) - 1, int(1000 * CAPPED_GROWTH)):
        history = [RefinementStep(0, 1000, 500, 0.1, 3, 0.1)]
        record_step(history, None, opts, step=1, cells=cells, dofs=cells // 2, result=result,
                    current=None, previous=None, length=1e-4, start=0.0, capped=True)
        flags.append(history[-1].marking_capped)
    assert flags == [True, False]


@pytest.mark.parametrize("changes, capped, settles", [
    ((2.9e-4, 1.0e-4, 3.6e-5), (False, False, False), True),  # 0:28's W loop: 2e-5 left
    ((2.9e-4, 1.0e-4, 3.6e-5), (False, False, True), False),  # a capped step is no evidence
    ((2.0e-4, 1.5e-4, 1.1e-4), (False, False, False), False),  # ratio 0.75: slow
    ((4.0e-4, 3.0e-4, 1.0e-4), (False, False, False), False),  # the larger ratio counts
    ((1.0e-3, 4.5e-4, 2.0e-4), (False, False, False), False),  # 1.6e-4 left
    ((1.0e-3, 0.0, 0.0), (False, False, False), False),  # no decay to measure
    ((0.77, 2.8e-3, 1.1e-5), (False, False, False), False),  # 1:42: no rate, 7.6e-4 off
    ((4.0e-4, 1.6e-4, 2.0e-5), (False, False, False), False),  # ratios 0.4, 0.125: unsteady
])
def test_geometric_decay_stops_the_loop(changes, capped, settles):
    """The second stop rule (adapt._geometric): three whole steps whose changes of 1 - t_Li
    shrink steadily (ratios 0.1-0.5, within a factor 2 of each other), with c r / (1 - r)
    below the tolerance after the last."""
    from fem_sse.transport.adapt import _geometric
    from fem_sse.transport.results import RefinementStep, StepChange

    history = [RefinementStep(0, 1000, 500, 0.1, 3, 0.1)] + [
        RefinementStep(k + 1, 2000 * (k + 1), 1000, 0.1, 3, 0.1, StepChange(c, 1e-6, 1e-6),
                       marking_capped=cap) for k, (c, cap) in enumerate(zip(changes, capped))]
    assert _geometric(history, 1e-4) is settles
    assert _geometric(history[:-1], 1e-4) is False  # two changes are not a rate


def test_cell_cap_cuts_the_marking(comm):
    """The real cap: 400 first cells and max_cells = 500 leave room for 16 marked cells, fewer
    than the W estimator's Doerfler set holds: capped steps up to the cap (flagged where they
    grew the mesh by less than 20 %), not converged."""
    tight = {"adaptive": True, "tolerance": 1e-9, "max_cells": 500, "fallback": "none"}
    summary, _ = solve_case(parse_config(bilayer2d(solver=tight)), comm, "fem")
    from fem_sse.transport.adapt import CAPPED_GROWTH

    history = summary["refinement_history"]
    assert history[0]["cells"] == 400 and len(history) > 2
    assert all(step.get("marking_capped", False)
               == (step["cells"] < CAPPED_GROWTH * before["cells"])
               for before, step in zip(history, history[1:]))
    assert history[-1].get("marking_capped")
    assert summary["stop_reason"] == "cell cap" and summary["converged"] is False


def test_verdict_rejects_impossible_states():
    """t_Li outside [0, 1], a broken balance or a laterally uniform stack off its exact value
    are never converged."""
    from fem_sse.transport.certificate import CurrentBalance, ExactComparison
    from fem_sse.transport.certify2d import verdict

    def balance(total: float, electronic: float = 0.0) -> CurrentBalance:
        return CurrentBalance(ionic_cathode_A_per_m2=9.0, ionic_anode_A_per_m2=9.0,
                              electronic_cathode_A_per_m2=1.0, electronic_anode_A_per_m2=1.0,
                              relative_imbalance=total,
                              electronic_relative_imbalance=electronic)

    good = balance(1e-12)
    assert verdict(0.97, good, None) == []
    assert "outside [0, 1]" in verdict(1.027, good, None)[0]
    assert "balance" in verdict(0.97, balance(1e-3), None)[0]
    off = ExactComparison(status="ok", rel_diff_one_minus_t_li=0.05)
    assert "exact 1D" in verdict(0.97, good, off)[0]
    assert verdict(float("nan"), balance(float("nan")), None) != []
    # stress2d config 0: the totals balance to 2.5e-6 of I, but 1 - t_Li = 5e-5 and the
    # electronic current differs by 5 % between cathode and anode
    assert "electronic current balance" in verdict(0.99995, balance(9e-7, 0.054), None)[0]
    assert verdict(0.99995, balance(9e-7, 2e-7), None) == []


def test_exact_comparison_leaves_fragments_out():
    """A laterally uniform stack's jumps against the exact ones: a sub-nanometre fragment of
    a front (coverage below RESOLVED_COVERAGE) is not a jump of its own."""
    from fem_sse.transport.certify2d import exact_comparison
    from fem_sse.transport.exact1d import solve_exact
    from fem_sse.transport.results import Jump

    config = parse_config(bilayer2d())
    sol = solve_exact(config.stack_1d())
    fronts = [Jump(x, "SE", "up", config.geometry2d.width, 1.0)
              for x, _, _ in sol.crossings(lambda seg: seg.material.B)]
    fragment = Jump(0.5 * config.thickness, "SE", "up", 1e-12, 1e-12 / config.geometry2d.width)
    for jumps in (fronts, fronts + [fragment]):
        check = exact_comparison(config, sol.one_minus_t_li, jumps)
        assert check.same_jump_count and check.max_jump_diff_over_L == 0.0
    wide = Jump(0.5 * config.thickness, "SE", "up", 1e-6, 0.25)
    assert not exact_comparison(config, sol.one_minus_t_li, fronts + [wide]).same_jump_count


def test_extruded_stack_leaves_room_to_refine(comm):
    """A wide laterally uniform stack with thin blocking strips starts with two lateral cell
    layers, 6128 cells, well below solver.max_cells (with ceil(W / size_bulk) = 100 layers it
    started at 306 400 cells, 15 times the default cap of 20 000, and could not refine)."""
    strips = [{"center": c * UM, "width": 0.1 * UM, "sigma_li_factor": f}
              for c, f in ((25, 1e-2), (50, 1e-4), (75, 1e-2))]
    config = parse_config(bilayer2d(width=100 * UM, bottlenecks=strips,
                                    mesh={"size_bulk": 1 * UM}))
    smesh = build_mesh(config, comm)
    assert smesh.info["structured"] and smesh.info["lateral_cells"] == 2
    assert smesh.mesh.topology.index_map(2).size_global < config.solver.max_cells / 3
