"""The DOLFINx solver against the exact 1D solution, on every paper case, serial and MPI."""

import dataclasses
from pathlib import Path

import pytest

from fem_sse.transport.adapt import solve_adaptive
from fem_sse.spec.config import load_config, parse_config
from fem_sse.app.run import solve_case

CASES = sorted((Path(__file__).parent.parent / "cases").glob("*.toml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fem_matches_exact(path, comm):
    config = load_config(path)
    exact, _ = solve_case(config, comm, "exact")
    fem, _ = solve_case(config, comm, "fem")
    # the targets: |1 - t| within 0.1 %, jumps within 1e-3 L, interfaces within 1 meV
    assert abs(fem["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0) < 1e-3
    assert len(fem["jumps"]) == len(exact["jumps"])
    for a, b in zip(fem["jumps"], exact["jumps"]):
        assert abs(a["x"] - b["x"]) < 1e-3 * config.thickness
        assert a["layer"] == b["layer"]
    for a, b in zip(fem["mu_interfaces"], exact["mu_interfaces"]):
        assert abs(a["mu"] - b["mu"]) < 1e-3
    assert abs(fem["overshoot_fraction"] - exact["overshoot_fraction"]) < 1e-3
    assert abs(fem["undershoot_fraction"] - exact["undershoot_fraction"]) < 1e-3
    assert fem["ranks"] == comm.size


def test_error_falls_with_uniform_refinement(bilayer_data, comm):
    """Without adaptivity, halving h reduces the 1 - t_Li error (observed order > 1)."""
    bilayer_data["geometry"]["bottlenecks"] = [
        {"center": 25e-6, "width": 1e-6, "sigma_li_factor": 1e-2}]
    bilayer_data["solver"] = {"adaptive": False}
    exact, _ = solve_case(parse_config(bilayer_data), comm, "exact")
    errors = []
    for size in (8e-6, 4e-6, 2e-6):
        bilayer_data["mesh"] = {"size": size, "bottleneck_cells": int(round(8e-6 / size))}
        # solve_adaptive: solve_case would (rightly) refuse these coarse meshes' results
        fem = solve_adaptive(parse_config(bilayer_data), comm).result
        errors.append(abs(fem["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0))
    assert errors[0] > errors[1] > errors[2]
    import math
    assert math.log2(errors[0] / errors[2]) / 2 > 1.0


def test_adaptive_beats_initial_mesh(comm):
    """Adaptivity finds the strip boundary layers: 10x smaller error than the first mesh."""
    config = load_config(CASES[0].parent / "fig4c_bilayer_bottlenecks.toml")
    exact, _ = solve_case(config, comm, "exact")
    out = solve_adaptive(config, comm)
    first = out.history[0].one_minus_t_li / exact["one_minus_t_li"] - 1.0
    last = out.result.one_minus_t_li / exact["one_minus_t_li"] - 1.0
    assert abs(last) < 0.1 * abs(first)
    assert out.history[-1].cells > out.history[0].cells


def test_potentiostatic_fem(bilayer_data, comm):
    exact_g, _ = solve_case(parse_config(bilayer_data), comm, "exact")
    del bilayer_data["cell"]["current_density"]
    bilayer_data["cell"]["ionic_potential_drop"] = exact_g["ionic_potential_drop_V"]
    fem, _ = solve_case(parse_config(bilayer_data), comm, "fem")
    assert abs(fem["j_ionic_A_per_m2"] + fem["j_electronic_A_per_m2"] - 10.0) < 1e-3


def test_degree_two(bilayer_data, comm):
    bilayer_data["solver"] = {"degree": 2}
    config = parse_config(bilayer_data)
    exact, _ = solve_case(config, comm, "exact")
    fem, _ = solve_case(config, comm, "fem")
    assert abs(fem["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0) < 1e-3
    assert dataclasses.asdict(config.solver)["degree"] == 2


@pytest.mark.parametrize("case", ["fig4c_bilayer_bottlenecks", "fig7_sigma_x0.1"])
def test_one_rank_equals_all_ranks(case, comm):
    """The adaptive FEM on all ranks of ``comm`` and on each rank alone give the same answer."""
    from mpi4py import MPI

    config = load_config(CASES[0].parent / f"{case}.toml")
    together, _ = solve_case(config, comm, "fem")
    alone, _ = solve_case(config, MPI.COMM_SELF, "fem")
    assert together["ranks"] == comm.size and alone["ranks"] == 1
    assert together["dofs"] == alone["dofs"]
    assert abs(together["one_minus_t_li"] / alone["one_minus_t_li"] - 1.0) < 1e-9
    for a, b in zip(together["jumps"], alone["jumps"], strict=True):
        assert abs(a["x"] - b["x"]) < 1e-9 * config.thickness
    for a, b in zip(together["mu_interfaces"], alone["mu_interfaces"], strict=True):
        assert abs(a["mu"] - b["mu"]) < 1e-9


def test_current_slope_is_the_tangent(bilayer_data, comm):
    """d(electronic current)/dPhi from one linear solve equals a difference of two solves."""
    from fem_sse.geometry import build_mesh
    from fem_sse.transport.continuation import solve_potentiostatic
    from fem_sse.transport.newton import current_slope
    from fem_sse.transport.problem import TransportProblem, solve_transport

    config = parse_config(bilayer_data)
    problem = TransportProblem(config, build_mesh(config, comm))
    solve_transport(problem)
    phi = problem.phi_V
    slope = current_slope(problem)
    currents = []
    for p in (phi * (1 - 1e-4), phi * (1 + 1e-4)):
        solve_potentiostatic(problem, p)
        currents.append(problem.electronic_current())
    difference = (currents[1] - currents[0]) / (2e-4 * phi)
    assert slope > 0.0
    assert abs(slope / difference - 1.0) < 1e-3


def test_problem_implements_the_newton_protocol(bilayer_data, comm):
    """TransportProblem is a NonlinearProblem (the protocol of the Newton functions); a solve
    leaves the problem at the parameters of the problem itself (drift 1, window open) and the
    state records the converged Phi."""
    from fem_sse.geometry import build_mesh
    from fem_sse.transport.newton import NonlinearProblem
    from fem_sse.transport.problem import TransportParameters, TransportProblem, solve_transport

    config = parse_config(bilayer_data)
    problem = TransportProblem(config, build_mesh(config, comm))
    assert isinstance(problem, NonlinearProblem)
    assert not problem.state.scaled and not problem.state.phi_known
    result = solve_transport(problem)
    phi = result["ionic_potential_drop"]
    assert problem.parameters == TransportParameters(phi, 1.0, 1.0)
    assert problem.state.scaled and problem.state.converged_phi == phi


def test_split_counts_follow_the_indicator(comm):
    """Cells far above the marking threshold are cut into more parts (2 at the threshold)."""
    import numpy as np

    from fem_sse.transport.adapt import split_counts

    eta2 = np.array([1.0, 4.0 ** 3, 1e12, 0.5])  # eta ratios 1, 8, 1e6 for p = 1 (rate 1.5)
    parts = split_counts(eta2, np.array([0, 1, 2]), degree=1, comm=comm.Split(comm.rank))
    assert parts.tolist() == [2, 4, 16]


def _fig4c_problem(comm, **kwargs):
    from fem_sse.geometry import build_mesh
    from fem_sse.transport.problem import TransportProblem

    config = load_config(CASES[0].parent / "fig4c_bilayer_bottlenecks.toml")
    return config, TransportProblem(config, build_mesh(config, comm), **kwargs)


def test_bordered_newton_finds_the_galvanostatic_phi(comm):
    """Newton on (omega, Phi) from a state solved at a wrong Phi lands on the root-search Phi;
    a failed attempt leaves omega and Phi as they were."""
    import numpy as np

    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.continuation import solve_potentiostatic
    from fem_sse.transport.newton import bordered_newton
    from fem_sse.transport.problem import solve_transport

    config, problem = _fig4c_problem(comm)
    result = solve_transport(problem)
    phi, current = result["ionic_potential_drop"], config.cell.current_density * problem.area
    solve_potentiostatic(problem, 1.02 * phi)
    found, report = bordered_newton(problem, 1.02 * phi, current)
    assert abs(found / phi - 1.0) < 1e-9
    assert report.iterations <= 8
    i_e = problem.electronic_current()
    assert abs(found * problem.conductance + i_e - current) <= 1e-9 * i_e

    solve_potentiostatic(problem, 1.5 * phi)
    before = problem.omega.x.array.copy()
    with pytest.raises(ConvergenceError):
        bordered_newton(problem, 1.5 * phi, current, max_iterations=1)
    assert problem.phi_V == 1.5 * phi
    assert np.array_equal(problem.omega.x.array, before)


def test_form_cache_binds_compiled_forms_to_a_new_mesh(comm):
    """A problem on a refined mesh that reuses the compiled forms of the first assembles the
    same residual as one that compiles its own; nothing is compiled twice."""
    import numpy as np
    from dolfinx import fem

    from fem_sse.transport.adapt import _refine_mesh
    from fem_sse.transport.problem import TransportProblem

    config, first = _fig4c_problem(comm)
    compiled = first.forms.compiled
    local = first.mesh.topology.index_map(1).size_local
    cells = np.arange(0, local, 7, dtype=np.int32)
    mesh = _refine_mesh(first, cells, np.ones(local))
    shared = TransportProblem(config, mesh, forms=first.forms)
    own = TransportProblem(config, mesh)
    assert first.forms.compiled == compiled and first.forms.reused >= compiled
    residuals = []
    for problem in (shared, own):
        problem.set_scale(7.0)
        mu = fem.Function(problem.V)
        mu.interpolate(lambda x: -3.0 + 3.0 * x[0] / config.thickness
                       + 0.3 * np.sin(x[0] / config.thickness * 40.0))
        problem.set_from_mu(mu)
        problem.set_phi(0.05)
        residuals.append((problem.residual_norm(), problem.electronic_current(),
                          problem.conductance))
    assert residuals[0] == pytest.approx(residuals[1], rel=1e-12)


def test_klu_on_one_rank_in_1d(monkeypatch):
    """The default transport LU: KLU for 1D on one rank, MUMPS in parallel, in 2D, and with a
    PETSc built without KLU."""
    from mpi4py import MPI

    import fem_sse.transport.linear
    from fem_sse.transport.problem import default_petsc_options

    def solver(comm, tdim):
        return default_petsc_options(comm, tdim)["pc_factor_mat_solver_type"]

    assert solver(MPI.COMM_SELF, 1) == "klu"
    assert solver(MPI.COMM_SELF, 2) == "mumps"
    if MPI.COMM_WORLD.size > 1:
        assert solver(MPI.COMM_WORLD, 1) == "mumps"
    monkeypatch.setattr(fem_sse.transport.linear, "_petsc_has", lambda package: package != "klu")
    assert solver(MPI.COMM_SELF, 1) == "mumps"


def test_a_failed_linear_solve_is_a_convergence_error(comm):
    """A singular Jacobian (PETSc's factorisation fails) fails the Newton step cleanly, and the
    kept KSP is rebuilt for the next solve."""
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport.problem import solve_transport

    _, problem = _fig4c_problem(comm)
    solve_transport(problem)
    b = problem.residual()
    A = problem.jacobian()  # noqa: N806
    A.zeroEntries()
    A.assemble()
    x = b.duplicate()
    with pytest.raises(ConvergenceError, match="linear solve failed"):
        problem.linear_solve(A, b, x, "fem_sse_transport_")
    assert not problem.linear_solver.factorised  # the failed factorisation is not kept
    problem.linear_solve(problem.jacobian(), b, x, "fem_sse_transport_")
    x.destroy()


def test_exact_check_rejects_a_wrong_result(bilayer_data, comm):
    """A 1D FEM result beyond the exact check's tolerances is not converged: a fixed coarse
    mesh (10 % off in 1 - t_Li) raises with the differences as the diagnosis."""
    from fem_sse.errors import ConvergenceError

    bilayer_data["geometry"]["bottlenecks"] = [
        {"center": 25e-6, "width": 1e-6, "sigma_li_factor": 1e-2}]
    bilayer_data["solver"] = {"adaptive": False, "fallback": "none"}
    bilayer_data["mesh"] = {"size": 8e-6, "bottleneck_cells": 1}
    with pytest.raises(ConvergenceError, match="differs from the exact") as caught:
        solve_case(parse_config(bilayer_data), comm, "fem")
    check = caught.value.diagnosis.exact_check
    assert not check.passed and check.differences.rel_err_one_minus_t > 1e-4
    assert caught.value.diagnosis.stage == "check against the exact solution"
    bilayer_data["solver"] = {}  # adaptive: refined until the check passes
    bilayer_data.pop("mesh")
    fem, _ = solve_case(parse_config(bilayer_data), comm, "fem")
    assert fem["exact_check"]["passed"] and fem["exact_check"]["rel_err_one_minus_t"] < 1e-4
