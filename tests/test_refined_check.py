"""The refined-mesh check of a 2D adaptive state (``solver.refined_check``,
fem_sse/transport/refined_check.py; issue 16).

The check solves once more on the final mesh with every cell refined and compares 1 - t_Li;
above 5 tolerances the run is not converged. Measured on the stress2d configurations whose
loops converge slowest (bench/refine_study.py ``--modes adaptive-uniform``,
docs/transport2d.md): the change stays below 1e-4. The tests ask for the check's own limit,
5 tolerances (5e-4), on small cases that have no other reference (a partial anode contact),
and for the exact-1D value on a laterally uniform one.

Tests without the ``serial`` mark also run under ``mpirun -n 2``.
"""

import copy

import pytest

from conftest import bilayer_2d
from fem_sse.app.run import solve_case
from fem_sse.errors import ConfigError
from fem_sse.spec.config import parse_config
from fem_sse.transport.certificate import Certificate, CurrentBalance
from fem_sse.transport.refined_check import REFINED_FACTOR, RefinedCheck

UM = 1e-6


def _balanced() -> Certificate:
    balance = CurrentBalance(ionic_cathode_A_per_m2=9.0, ionic_anode_A_per_m2=9.0,
                             electronic_cathode_A_per_m2=1.0, electronic_anode_A_per_m2=1.0,
                             relative_imbalance=0.0, electronic_relative_imbalance=0.0)
    return Certificate(balance, {}, None, [], [])


def test_refined_check_is_a_2d_boolean(bilayer_data):
    """Off by default; in 1D refused in one line naming the key (the exact check is there);
    not a boolean: refused naming the key."""
    assert not parse_config(bilayer_2d()).solver.refined_check
    assert parse_config(bilayer_2d(refined_check=True)).solver.refined_check
    data = copy.deepcopy(bilayer_data)
    data["solver"] = {"refined_check": True}
    with pytest.raises(ConfigError, match=r"solver\.refined_check.*2D"):
        parse_config(data)
    with pytest.raises(ConfigError, match=r"solver\.refined_check.*true or false"):
        parse_config(bilayer_2d(refined_check="yes"))


def test_a_change_above_five_tolerances_is_not_converged():
    """2e-3 against a limit of 5e-4: not certified, the reason names the refined mesh; 1e-4:
    certified; a check that gave no state: certified, its failure in the block."""
    limit = REFINED_FACTOR * 1e-4
    moved = _balanced().with_check(RefinedCheck("fem-eafe", 0.1002, 0.1, 400, None, limit))
    assert not moved.certified and "refining the final mesh" in moved.reasons[0]
    block = moved.to_summary()["refined_check"]
    assert block["relative_change"] == pytest.approx(2e-3)
    assert block["largest_relative_change"] == limit and block["refined_cells"] == 400
    still = _balanced().with_check(RefinedCheck("fem", 0.10001, 0.1, 400, None, limit))
    assert still.certified
    failed = _balanced().with_check(RefinedCheck("fem", None, 0.1, 400, "stalled", limit))
    assert failed.certified and failed.to_summary()["refined_check"]["failure"] == "stalled"
    assert failed.to_summary()["refined_check"]["relative_change"] is None


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["fem-eafe", "fem"])
def test_refined_check_of_a_partial_contact(comm, kind):
    """A bilayer whose anode touches over 4 of 10 um (the current spreads; no exact value):
    both schemes converge, their refined meshes hold four times the cells and move
    1 - t_Li by less than the check's limit, and the block is in the summary. EAFE: the
    refined solve goes through Newton in the Kirchhoff variable (plain Newton's line search
    fails beside the contact's ends; measured: the check took 65 s before that was tried
    second, 1.2 s since)."""
    data = bilayer_2d(width=10 * UM, kind=kind, refined_check=True, fallback="none")
    data["geometry"]["anode_contact"] = [[3 * UM, 7 * UM]]
    summary, _ = solve_case(parse_config(data), comm, kind)
    assert summary["solver"] == kind and summary["converged"], summary[
        "not_converged_because"]
    block = summary["refined_check"]
    assert block["scheme"] == kind and block["failure"] is None
    assert block["refined_cells"] == 4 * summary["cells"]
    assert block["relative_change"] < block["largest_relative_change"] == 5e-4
    assert block["refined_one_minus_t_li"] == pytest.approx(summary["one_minus_t_li"],
                                                            rel=5e-4)


@pytest.mark.mpi
def test_refined_check_of_a_uniform_stack_agrees_with_exact(comm):
    """The Fig. 3 bilayer extruded: the refined mesh's 1 - t_Li lies within the loop's
    tolerance of the exact 1D value, like the run's own."""
    config = parse_config(bilayer_2d(kind="fem-eafe", refined_check=True))
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    summary, _ = solve_case(config, comm)
    assert summary["converged"]
    refined = summary["refined_check"]["refined_one_minus_t_li"]
    assert refined == pytest.approx(exact["one_minus_t_li"], rel=1e-4)


def test_the_eafe_loops_own_first_mesh_cuts_its_cracks(comm):
    """``solve_adaptive_eafe_2d`` without a mesh builds one with the crack lines cut open (it
    built an uncut one, on which a crack conducted: stress2d 0:47 gave the laterally averaged
    stack's 1 - t_Li, 0.05103 instead of 0.04976)."""
    from fem_sse.transport.eafe2d import unsupported
    from fem_sse.transport.eafe2d_gb import averaged_state
    from fem_sse.transport.eafe2d_solve import solve_adaptive_eafe_2d

    data = bilayer_2d(width=10 * UM, kind="fem-eafe", adaptive=False)
    data["geometry"]["cracks"] = [{"start": [40 * UM, 1 * UM], "end": [40 * UM, 9 * UM]}]
    config = parse_config(data)
    out = solve_adaptive_eafe_2d(config, comm, averaged_state(config))
    assert unsupported(config, out.problem.smesh) is None
    crackless = solve_adaptive_eafe_2d(parse_config(bilayer_2d(
        width=10 * UM, kind="fem-eafe", adaptive=False)), comm, averaged_state(config))
    assert out.result.one_minus_t_li != pytest.approx(crackless.result.one_minus_t_li,
                                                      rel=1e-6)


def test_a_w_check_its_budget_stops_gives_no_state(comm):
    """The W formulation's check runs within ``solver.w_budget_s`` of its own: stopped by it,
    the check reports the budget as its failure and leaves the run certified (stress2d 7:21
    took 1 118 s on 59 704 cells without one)."""
    import dataclasses

    from fem_sse.transport.refined_check import check_refined_w

    data = bilayer_2d(width=10 * UM, kind="fem", fallback="none")
    data["geometry"]["anode_contact"] = [[3 * UM, 7 * UM]]
    config = parse_config(data)
    summary, outputs = solve_case(config, comm, "fem")
    tight = dataclasses.replace(config, solver=dataclasses.replace(config.solver,
                                                                   w_budget_s=1e-9))
    check = check_refined_w(tight, outputs.problem, summary["one_minus_t_li"])
    assert check.one_minus_t_li is None and "budget" in check.error
    assert check.cells == 4 * summary["cells"]
    assert _balanced().with_check(check).certified
