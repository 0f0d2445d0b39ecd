"""Typed transport results and parameters (no DOLFINx): the summary keys they spell and the
electrode window of the continuation."""

from dataclasses import replace

import pytest

from fem_sse.errors import ConvergenceError
from fem_sse.transport.parameters import TransportParameters, window_potentials
from fem_sse.transport.results import (
    RESOLVED_COVERAGE,
    InterfacePotential,
    Jump,
    LastGoodState,
    TransportResult,
)


def test_jumps_and_interfaces_round_trip_their_summary_entries():
    """A summary entry (1D, 2D front, 2D boundary layer) read into a record gives back the same
    summary dict, keys in the same order."""
    entries = [{"x": 1.5e-7, "layer": "SE_cathodic", "direction": "up"},
               {"x": 5e-5, "layer": "SE_anodic", "direction": "down", "length_m": 1e-5,
                "coverage": 0.99},
               {"x": 9.9e-5, "layer": "SE_anodic", "direction": "up", "length_m": 1e-5,
                "coverage": 1.0, "boundary_layer": "anode"}]
    for entry in entries:
        out = Jump.from_summary(entry).to_summary()
        assert out == entry and list(out) == list(entry)
    interface = {"x": 5e-5, "mu": -1.5}
    assert InterfacePotential.from_summary(interface).to_summary() == interface


def test_transport_result_summary_keys_and_order():
    """The summary keys of a transport run, in the documented order; the solver's own keys go
    before the wall time, which is left out when not measured."""
    result = TransportResult(0.9, 0.1, 9.0, 1.0, 0.01, (InterfacePotential(5e-5, -1.5),),
                             (Jump(1e-7, "SE", "up"),), 0.0, 0.02, 300, 99, 12, 0.5)
    summary = result.to_summary({"shooting_evaluations": 7})
    assert list(summary) == [
        "t_li", "one_minus_t_li", "j_ionic_A_per_m2", "j_electronic_A_per_m2",
        "ionic_potential_drop_V", "mu_interfaces", "jumps", "overshoot_fraction",
        "undershoot_fraction", "dofs", "cells", "newton_iterations", "shooting_evaluations",
        "wall_time_s"]
    assert summary["ionic_potential_drop_V"] == 0.01 and summary["jumps"][0]["x"] == 1e-7
    assert summary["undershoot_fraction"] == 0.02 and summary["cells"] == 99
    no_time = TransportResult(0.9, 0.1, 9.0, 1.0, 0.01).to_summary()
    assert "wall_time_s" not in no_time and no_time["mu_interfaces"] == []
    assert TransportResult.unknown_summary() == {"t_li": None, "one_minus_t_li": None}


def test_window_is_exact_when_open_and_the_midpoint_when_closed():
    """The continuation's electrode window: the configured potentials (eV) bit for bit at 1,
    their midpoint at 0, linear between."""
    assert window_potentials(1.0, -3.0, 0.05) == (-3.0, 0.05)
    assert window_potentials(0.0, -3.0, 0.05) == (-1.475, -1.475)
    mu_c, mu_a = window_potentials(0.5, -3.0, 0.0)
    assert (mu_c, mu_a) == (-2.25, -0.75)
    assert TransportParameters() == TransportParameters(0.0, 1.0, 1.0)


def test_adaptive_result_of_its_last_solve_and_metrics():
    """The result of an adaptive run: the last solve's currents and the metrics' jumps, with the
    final mesh and the loop's Newton iterations."""
    from fem_sse.transport.results import Metrics, TransportSolve

    solve = TransportSolve(0.9, 0.1, 9.0, 1.0, 0.01, 12, 3, 2)
    metrics = Metrics((Jump(1e-7, "SE", "up"),), (InterfacePotential(5e-5, -1.5),), 0.0, 0.02)
    result = TransportResult.of(solve, metrics, 300, 99, 40)
    assert result.to_summary()["jumps"] == [{"x": 1e-7, "layer": "SE", "direction": "up"}]
    assert (result.phi_V, result.cells, result.newton_iterations) == (0.01, 99, 40)
    assert metrics.region_stats is None and metrics.fronts is None


def test_summary_reads_back_into_the_same_result():
    """summary.json -> TransportResult -> the same keys and values (the one reader); a key an
    older summary lacks reads as its default."""
    result = TransportResult(0.9, 0.1, 9.0, 1.0, 0.01, (InterfacePotential(5e-5, -1.5),),
                             (Jump(5e-5, "SE", "down", 1e-5, 0.99, "anode"),), 0.0, 0.02, 300,
                             99, 12, 0.5)
    summary = result.to_summary()
    assert TransportResult.from_summary(summary) == result
    assert TransportResult.from_summary(summary).to_summary() == summary
    old = {k: v for k, v in summary.items() if k not in ("overshoot_fraction", "wall_time_s")}
    assert TransportResult.from_summary(old).overshoot_fraction == 0.0
    assert TransportResult.from_summary(old).wall_time_s is None
    failed = TransportResult.from_summary(TransportResult.unknown_summary())
    assert failed.t_li is None and failed.jumps == ()


def test_refinement_history_keys_and_order():
    """A refinement step's entry, a failed step's and the loop's keys, in their order."""
    from fem_sse.transport.results import FailedStep, Refinement, RefinementStep, StepChange

    first = TransportResult(0.9, 0.1, 9.0, 1.0, 0.01, (InterfacePotential(5e-5, -1.5),),
                            (Jump(1e-6, "SE", "up"),))
    second = TransportResult(0.9, 0.1001, 9.0, 1.0, 0.01, (InterfacePotential(5e-5, -1.4),),
                             (Jump(2e-6, "SE", "up"),))
    change = StepChange.between(first, second, 1e-4)
    assert abs(change.d_one_minus_t - 1e-3) < 1e-12 and abs(change.d_jump_x - 0.01) < 1e-12
    assert abs(change.d_mu_interface - 0.1) < 1e-12
    fewer = TransportResult(0.9, 0.1, 9.0, 1.0, 0.01)
    assert StepChange.between(first, fewer, 1e-4).d_jump_x == 1.0  # a jump appeared/vanished
    # a 2D front below RESOLVED_COVERAGE (a sub-nanometre fragment) is not compared
    front = Jump(1e-6, "SE", "up", 1e-5, 1.0)
    fragments = [Jump(3e-6, "SE", "up", 1e-12, 1e-7), Jump(4e-6, "SE", "up", 2e-12, 2e-7)]
    one, three = (TransportResult(0.9, 0.1, 9.0, 1.0, 0.01, (), jumps)
                  for jumps in ((front,), (front, *fragments)))
    assert StepChange.between(one, three, 1e-4).d_jump_x == 0.0
    wide = Jump(3e-6, "SE", "up", 1e-8, 1e-3)  # 1e-3 of the width: a front, it counts
    assert StepChange.between(one, replace(three, jumps=(front, wide)), 1e-4).d_jump_x == 1.0
    steps = (RefinementStep(0, 10, 21, 0.1, 5, 0.2), RefinementStep(1, 15, 31, 0.1001, 3, 0.1,
                                                                    change, 1e-7),
             FailedStep(2, "diverged"))
    assert list(steps[1].to_summary()) == [
        "step", "cells", "dofs", "one_minus_t_li", "newton_iterations", "wall_time_s",
        "d_one_minus_t", "d_jump_x", "d_mu_interface", "ionic_rel_error_estimate"]
    assert steps[2].to_summary() == {"step": 2, "converged": False, "error": "diverged"}
    keys = Refinement(steps, True, "refinement failed", change, certified=False).to_summary()
    assert list(keys) == ["refinement_steps", "refinement_history", "converged", "stop_reason",
                          "last_change"]
    assert keys["refinement_steps"] == 1 and keys["converged"] is False
    assert Refinement.stop_reason_of(keys) == "refinement failed"
    assert Refinement((steps[0],), True, "tolerance", None).to_summary()["last_change"] is None


def test_last_good_state_belongs_to_its_error():
    """The last good state is handed over beside the error, not inside it: a state kept for one
    failure (a W solve the fallback then solved) is not the state of another error."""
    first, second = ConvergenceError("W failed"), ConvergenceError("mechanics failed")
    keep = LastGoodState()
    assert keep.of(first) is None
    keep.keep(first, "the W problem")
    assert keep.of(first) == "the W problem" and keep.of(second) is None
    assert not hasattr(first, "problem")  # exceptions carry their diagnosis only


def test_certificate_keys_and_order():
    """The 2D certificate's keys in the summary's order: the W-FEM's (residual relative to the
    current) and the EAFE scheme's (residual units, obtuse edges); the 1D exact check's block
    under its key; the reasons read back from a summary."""
    from fem_sse.transport.certificate import (
        Certificate,
        CurrentBalance,
        ExactCheck,
        ExactComparison,
        ExactDifferences,
        residual_summary,
    )

    balance = CurrentBalance(ionic_cathode_A_per_m2=9.0, ionic_anode_A_per_m2=9.0,
                             electronic_cathode_A_per_m2=1.0, electronic_anode_A_per_m2=1.0,
                             relative_imbalance=0.0, electronic_relative_imbalance=0.0,
                             applied_current_error=1e-12)
    w = Certificate(balance, residual_summary(1e-12, relative=1e-10), None, [], [1.0])
    assert list(w.to_summary()) == ["current_balance", "newton_residual",
                                    "newton_residual_relative", "exact_1d",
                                    "not_converged_because", "front_coverage"]
    assert list(w.to_summary()["current_balance"]) == [
        "ionic_cathode_A_per_m2", "ionic_anode_A_per_m2", "electronic_cathode_A_per_m2",
        "electronic_anode_A_per_m2", "relative_imbalance", "electronic_relative_imbalance",
        "applied_current_error"]
    exact = ExactComparison(status="ok", t_li=0.9, one_minus_t_li=0.1, jumps_m=[1e-6],
                            rel_diff_one_minus_t_li=1e-6, same_jump_count=False)
    eafe = Certificate(balance, residual_summary(1e-9, units="V"), exact, ["broken"],
                       [0.5], obtuse_edges=3)
    assert list(eafe.to_summary()) == ["current_balance", "newton_residual",
                                       "newton_residual_units", "exact_1d", "obtuse_edges",
                                       "not_converged_because", "front_coverage"]
    assert list(eafe.to_summary()["exact_1d"]) == [  # no jump shift without the same count
        "status", "t_li", "one_minus_t_li", "jumps_m", "rel_diff_one_minus_t_li",
        "same_jump_count"]
    assert ExactComparison(status="no steady state", reason="x").to_summary() == {
        "status": "no steady state", "reason": "x"}
    assert w.certified and not eafe.certified
    assert Certificate.reasons_in(eafe.to_summary()) == ["broken"]
    assert Certificate.reasons_in({}) == []
    diff = ExactDifferences(1e-3, 1e-6, None, 0.0, 2, 2)
    limits = ExactDifferences(1e-4, 1e-4, 1e-4, 1e-4)
    assert diff.beyond(limits) == ["rel_err_one_minus_t", "jump_err_over_L"]
    block = ExactCheck(0.1, 0.9, diff, limits, False).to_summary()["exact_check"]
    assert list(block) == ["one_minus_t_li_exact", "t_li_exact", "rel_err_one_minus_t",
                           "rel_err_t", "jump_err_over_L", "mu_interface_err_eV",
                           "jump_count_fem", "jump_count_exact", "tolerances", "passed"]
    assert list(block["tolerances"]) == list(block)[2:6] and dict(diff)["jump_count_fem"] == 2


def test_fallback_and_run_information_read_back():
    """The fallback block, the entry of a fallback that failed too, and the run information
    read back from a summary (an older one without some keys too)."""
    from fem_sse.app.results import Fallback, RunInfo, RunResult

    block = Fallback("W failed", "budget").to_summary()
    assert block == {"fallback": {"from": "fem", "to": "fem-eafe", "reason": "W failed",
                                  "stage": "budget"}}
    assert Fallback.solver_of(block, "fem") == "fem-eafe" and Fallback.solver_of({}, "fem") == "fem"
    timed = Fallback("W failed", "budget", 20.5).to_summary()["fallback"]
    assert list(timed) == ["from", "to", "reason", "stage", "from_time_s"]
    assert timed["from_time_s"] == 20.5
    assert Fallback.failure(ValueError("no\n  luck")) == {"to": "fem-eafe", "error": "no luck"}
    assert list(Fallback.not_taken("x")) == ["fallback_failed"]
    info = RunInfo("case", "fem", False, 1e-4, 2, "0.9", "1.0")
    summary = RunResult(info, {"t_li": 0.9}).to_summary()
    assert RunInfo.from_summary(summary) == info
    assert RunInfo.from_summary({"case": "old"}).solver is None


def test_w_result_standing_after_a_fallback_counts_its_time():
    """A W run that stopped on its cell cap, whose fallback does not converge either, keeps
    the W result (fallback_failed) with the fallback's solve time in its wall_time_s."""
    import time

    from mpi4py import MPI

    from pathlib import Path

    from fem_sse.app.fallback import solve_with_fallback
    from fem_sse.spec.config import load_config

    root = Path(__file__).resolve().parent.parent
    config = load_config(root / "cases" / "fig3_bilayer.toml")
    w = {"converged": False, "stop_reason": "cell cap", "wall_time_s": 1.0}

    def fallback():
        time.sleep(0.2)
        return {"converged": False, "stop_reason": "cell cap", "wall_time_s": 0.2}, None

    summary, _ = solve_with_fallback(config, MPI.COMM_SELF, lambda: (dict(w), None), fallback)
    assert summary["fallback_failed"]["error"] == "not converged either (cell cap)"
    assert summary["wall_time_s"] >= 1.2


def test_of_two_loops_on_the_cap_the_smaller_last_change_stands():
    """W loop and fallback both stopped on the cell cap: the state whose last change of
    1 - t_Li is smaller stands, not converged (stress2d 2:22: the fallback's 5.4e-5 against
    W's 1.2e-4); a fallback state its certificate rejects never does."""
    from pathlib import Path

    from mpi4py import MPI

    from fem_sse.app.fallback import solve_with_fallback
    from fem_sse.spec.config import load_config

    config = load_config(Path(__file__).resolve().parent.parent / "cases" / "fig3_bilayer.toml")

    def capped(change, **extra):
        return {"converged": False, "stop_reason": "cell cap", "wall_time_s": 1.0,
                "last_change": {"d_one_minus_t": change}, **extra}

    def run(w, fallback):
        return solve_with_fallback(config, MPI.COMM_SELF, lambda: (dict(w), None),
                                   lambda: (dict(fallback), None))[0]

    summary = run(capped(1.2e-4, t_li=0.1), capped(5.4e-5, t_li=0.2))
    assert summary["t_li"] == 0.2 and not summary["converged"]
    assert summary["fallback"]["stage"] == "adaptive loop" and "fallback_failed" not in summary
    summary = run(capped(5.4e-5, t_li=0.1), capped(1.2e-4, t_li=0.2))
    assert summary["t_li"] == 0.1 and "fallback" not in summary
    assert summary["fallback_failed"]["error"] == "not converged either (cell cap)"
    rejected = capped(1e-6, t_li=0.2, not_converged_because=["t_Li outside [0, 1]"])
    assert run(capped(1.2e-4, t_li=0.1), rejected)["t_li"] == 0.1


def test_fragments_of_one_crossing_are_one_front():
    """Sub-nanometre pieces of one material and direction next to each other in x are one
    front with its ``pieces``; a piece far away, of another material, or a real front stays
    apart (fem_sse.transport.front_groups)."""
    from fem_sse.transport.front_groups import merge_fragments

    def front(x, length, material="M2", direction="up"):
        return {"material": material, "direction": direction, "x_mean_m": x, "x_min_m": x,
                "x_max_m": x + 1e-12, "length_m": length, "points_m": [[x, x * 1e5]]}

    width, thickness = 2e-5, 5e-5
    pieces = [front(2.3946e-5 + k * 1e-11, 1e-12 * (k + 1)) for k in range(5)]
    real = front(8e-6, width)
    others = [front(4e-5, 1e-12), front(2.3946e-5, 1e-12, material="M1")]
    merged = merge_fragments(pieces + [real] + others, width, thickness)
    assert len(merged) == 4 and merged[0] is real
    joined = next(f for f in merged if f.get("pieces"))
    assert joined["pieces"] == 5 and joined["length_m"] == pytest.approx(15e-12)
    assert joined["x_min_m"] == pieces[0]["x_min_m"] and len(joined["points_m"]) == 5
    assert joined["boundary_layer"] == "fragments"
    as_jump = Jump(joined["x_mean_m"], "M2", "up", width, 1.0, joined["boundary_layer"])
    assert not as_jump.resolved  # left out of the comparison whatever its length
    assert RESOLVED_COVERAGE == 1e-4


def test_pieces_along_a_phase_boundary_are_one_front():
    """Short fronts within INTERFACE_BAND L of a rough phase boundary, in a material on its
    sides, are one front per boundary and material (``boundary_layer`` the boundary's name,
    the direction of most of their length) that the loop does not compare; a front across the
    width next to it, a piece far from it and a piece of a third material stay apart
    (stress2d 5:42)."""
    import numpy as np

    from fem_sse.transport.front_groups import (INTERFACE_BAND, INTERFACE_PIECE,
                                                merge_interface_layers)

    width, thickness = 2e-5, 8e-5
    y = np.linspace(0.0, width, 401)
    x = 3.5e-5 + 6e-6 * np.sin(2 * np.pi * y / 9.5e-6)  # the rough M0/M1 boundary
    line = np.stack([x, y], axis=1)
    interfaces = {"pb0": (np.stack([line[:-1], line[1:]], axis=1), {"M0", "M1"})}

    def front(k, length, offset, material="M1", direction="up"):
        p = line[k] + [offset, 0.0]
        q = line[k + 1] + [offset, 0.0]
        return {"material": material, "direction": direction, "x_mean_m": float(p[0]),
                "x_min_m": float(min(p[0], q[0])), "x_max_m": float(max(p[0], q[0])),
                "length_m": length, "points_m": [p.tolist(), q.tolist()]}

    near = 0.5 * INTERFACE_BAND * thickness
    pieces = [front(10, 4e-8, near), front(90, 9e-8, -near, direction="down"),
              front(200, 2e-7, near), front(300, 3e-9, near)]
    across = front(120, 1.7 * width, near)  # a jump along the boundary, the whole width
    far = front(50, 1e-8, 3.0 * INTERFACE_BAND * thickness)
    other = front(60, 1e-8, near, material="M2")
    merged = merge_interface_layers(pieces + [across, far, other], interfaces, width, thickness)
    assert len(merged) == 4
    assert across in merged and far in merged and other in merged
    joined = next(f for f in merged if f.get("boundary_layer") == "pb0")
    assert joined["pieces"] == 4 and joined["length_m"] == pytest.approx(3.33e-7)
    assert joined["direction"] == "up"  # 2.43e-7 m up, 9e-8 m down
    assert len(joined["points_m"]) == 8 and INTERFACE_PIECE * width > 2e-7
    as_jump = Jump(joined["x_mean_m"], "M1", "up", joined["length_m"], 1e-2, "pb0")
    assert not as_jump.resolved
    assert Jump(1e-6, "M0", "up", width, 1.0, "cathode").resolved
    assert merge_interface_layers(pieces, {}, width, thickness) == sorted(
        pieces, key=lambda f: f["x_mean_m"])  # no phase boundary: nothing joined
