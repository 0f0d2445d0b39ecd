"""Design assistant (issue 9): metrics on hand-checked stacks, the optimiser against brute force,
seeds, failed designs, the drift tolerance and the ``fem-sse design`` command."""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import tomllib

from fem_sse.spec.config import ConfigError, load_config, parse_config
from fem_sse.app.design import (
    DesignOptions,
    Evaluator,
    design_map,
    design_metrics,
    drift_margins,
    optimize,
    parse_constraint,
    parse_objective,
    parse_vary,
)
from fem_sse.app.design.space import apply_values
from fem_sse.spec.dotted import get_dotted, set_dotted
from fem_sse.transport.exact1d import solve_exact
from fem_sse.spec.tomlwrite import dumps

pytestmark = pytest.mark.serial
CASES = Path(__file__).parent.parent / "cases"


def case_data(name: str) -> dict:
    return tomllib.loads((CASES / f"{name}.toml").read_text())


def metrics_of(data: dict, **options) -> dict:
    return design_metrics(solve_exact(parse_config(data)), DesignOptions(**options))


def test_metrics_fig3_by_hand(bilayer_data):
    m = metrics_of(bilayer_data)
    L, j = 100e-6, 10.0  # noqa: N806
    assert m["ionic_resistance_ohm_m2"] == pytest.approx(L / 0.1, rel=1e-12)
    assert m["ionic_potential_drop_V"] == pytest.approx(j * m["t_li"] * L / 0.1, rel=1e-9)
    assert m["leakage_A_per_m2"] == pytest.approx(j * m["one_minus_t_li"], rel=1e-9)
    # symmetric stack and window: the two GEB jumps mirror each other
    left, right = m["jump_x_over_L"]
    assert m["n_jumps"] == 2 and left == pytest.approx(1.0 - right, abs=1e-9)
    assert m["max_jump_distance_over_L"] == pytest.approx(left, rel=1e-12) and left < 0.01
    assert m["jumps_at_edges"] == 1
    assert m["b_window_margin_eV"] == pytest.approx(0.7, abs=1e-12)
    # mu rises from the -1.5 eV plateau to the anode's 0 eV at the jump: the zone within 0.3 eV
    # of the anode starts just behind it
    assert 0.0 < left - m["overshoot_open_fraction"] < 1e-4
    assert m["overshoot_fraction"] == 0.0 and m["bottlenecks_in_open_zone"] == 0


def test_metrics_fig5_overshoot_zone():
    """Paper, Fig. 5: at 0.05 eV the zone open to overshoot stays at x/L > 0.95; at 0.15 eV the
    whole anodic layer is open, with the 1e-4 grain boundary at 0.75 L inside."""
    low, high = metrics_of(case_data("fig5a_anode_0.05")), metrics_of(case_data("fig5c_anode_0.15"))
    assert low["overshoot_open_fraction"] < 0.05 and low["jumps_at_edges"] == 1
    assert low["bottlenecks_in_open_zone"] == 0
    assert high["overshoot_open_fraction"] == pytest.approx(0.497, abs=0.003)
    assert high["open_zone_bottleneck_names"] == ["GB2"] and high["jumps_at_edges"] == 0


def test_film_peak_stress_by_hand():
    """Single layer, two-state law, free anode face: the oxidized half (mu < B by 12 kT) has
    e* = -0.03 * 0.05, so sigma_lateral = E e*/(nu - 1) = 303.6 MPa over half the thickness."""
    data = case_data("fig2_single_layer")
    data["materials"]["LLZO_like"]["strain_law"] = "two_state"
    data["mechanics"] = {}
    m = metrics_of(data)
    expected = 149.8e9 * 0.03 * 0.05 / (1.0 - 0.26)
    assert m["max_principal_Pa"] == pytest.approx(expected, rel=1e-4)
    assert m["max_von_mises_Pa"] == pytest.approx(expected, rel=1e-4)
    assert m["crack_risk_index"] == pytest.approx(expected / 150e6, rel=1e-4)
    assert m["tensile_over_strength_fraction"] == pytest.approx(0.5, abs=1e-3)


def test_drift_margin_is_where_the_jump_leaves_the_edge_zone():
    """The Fig. 4 stack at mu_anode = 0 (the paper's Fig. 5 question): the anodic jump leaves
    the 5 % edge zone between +0.05 eV (Fig. 5a: still at the edge) and +0.10 eV (Fig. 5b)."""
    data = case_data("fig5a_anode_0.05")
    data["cell"]["mu_anode"] = 0.0
    tol = drift_margins(data, DesignOptions(edge_zone=0.05), electrodes=("anode",),
                        max_drift=0.3, xtol=1e-6)["anode"]
    up = tol["up_eV"]
    assert 0.05 < up < 0.10 and tol["up_bounded"] and tol["within_rule"]
    for drift, inside in ((up - 2e-4, True), (up + 2e-4, False)):
        data["cell"]["mu_anode"] = drift
        assert metrics_of(data)["jumps_at_edges"] == int(inside)


def test_failed_designs_are_marked_not_raised(bilayer_data):
    ev = Evaluator(bilayer_data, [parse_vary("materials.SE_anodic.B=-1.2:-0.2"),
                                  parse_vary("cell.mu_anode=-3.5:0.0")])
    result = design_map(ev, 4)
    status = result["status"]
    assert status[0, 0].startswith("invalid: cell.mu_anode")  # mu_anode < mu_cathode
    assert "no steady state" in status  # an electronic short
    failed = status != "ok"
    assert np.all(np.isnan(result["metrics"]["t_li"][failed]))
    assert np.all(np.isfinite(result["metrics"]["t_li"][~failed])) and (~failed).any()


def test_optimizer_recovers_the_brute_force_optimum(bilayer_data):
    """Least leakage with the jumps within 0.5 % of L of the electrodes, over both GEBs: brute
    force on a 21 x 21 grid vs differential evolution; by symmetry the optimum has
    B_anodic + B_cathodic = mu_anode + mu_cathode."""
    variables = [parse_vary("materials.SE_anodic.B=-0.9:-0.5"),
                 parse_vary("materials.SE_cathodic.B=-2.5:-2.1")]
    objective = [parse_objective("min:one_minus_t_li")]
    constraint = [parse_constraint("max_jump_distance_over_L<=0.005")]
    grid = design_map(Evaluator(bilayer_data, variables), 21)
    leak = np.where(grid["metrics"]["max_jump_distance_over_L"] <= 0.005,
                    grid["metrics"]["one_minus_t_li"], np.inf)
    j, i = np.unravel_index(np.argmin(leak), leak.shape)
    result = optimize(Evaluator(bilayer_data, variables), objective, constraint, seed=3,
                      popsize=10, maxiter=60)
    best = result["best"]
    assert result["feasible"] and best["one_minus_t_li"] <= leak[j, i]
    b_an, b_cat = best["materials.SE_anodic.B"], best["materials.SE_cathodic.B"]
    assert abs(b_an - grid["x"][i]) <= 0.03 and abs(b_cat - grid["y"][j]) <= 0.03
    assert b_an + b_cat == pytest.approx(-3.0, abs=2e-3)


def test_same_seed_same_design(bilayer_data):
    variables = [parse_vary("materials.SE_anodic.B=-0.9:-0.5"),
                 parse_vary("materials.SE_anodic.A=1e-18:1e-16:log")]
    runs = [optimize(Evaluator(bilayer_data, variables),
                     [parse_objective("max_jump_distance_over_L")], seed=seed, popsize=5,
                     maxiter=4, polish=False) for seed in (7, 7, 8)]
    first, again, other = (r["best"] for r in runs)
    assert [first[v.key] for v in variables] == [again[v.key] for v in variables]
    assert [first[v.key] for v in variables] != [other[v.key] for v in variables]
    assert runs[0]["nfev"] == runs[1]["nfev"]


def test_thickness_fraction_moves_the_phase_boundary():
    data = apply_values(case_data("fig4c_bilayer_bottlenecks"),
                        {"geometry.layers[1].fraction": 0.25})
    layers = data["geometry"]["layers"]
    assert [t["thickness"] for t in layers] == pytest.approx([75e-6, 25e-6], rel=1e-12)
    centres = {s["name"]: s["center"] for s in data["geometry"]["bottlenecks"]}
    # the PB follows the interface to 75 um; the GB that sat there is dropped
    assert centres["PB"] == pytest.approx(75e-6, rel=1e-12) and "GB3" not in centres
    assert centres["GB1"] == pytest.approx(25e-6, rel=1e-12)
    parse_config(data)


@pytest.mark.parametrize("text,key", [
    ("materials.SE_anodic.B", "--vary"), ("materials.SE_anodic.B=1:0", "--vary materials"),
    ("materials.SE_anodic.A=0:1:log", "--vary materials"),
    ("geometry.layers[1].fraction=0.5:1.5", "--vary geometry")])
def test_bad_vary_is_a_one_line_error(text, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[")):
        parse_vary(text)


def test_dotted_keys_and_toml_roundtrip():
    data = case_data("fig4c_bilayer_bottlenecks")
    set_dotted(data, "geometry.bottlenecks[1].sigma_li_factor", 0.5)
    assert get_dotted(data, "geometry.bottlenecks[1].sigma_li_factor") == 0.5
    with pytest.raises(ConfigError, match="materials.nope.B: no such key"):
        set_dotted(data, "materials.nope.B", 1.0)
    for path in sorted(CASES.glob("**/*.toml")):
        original = tomllib.loads(path.read_text())
        assert tomllib.loads(dumps(original, header="x")) == original, path.name


def test_cli_design_map_and_optimum(tmp_path):
    from fem_sse.app.cli import main

    out = tmp_path / "d"
    argv = ["design", str(CASES / "fig3_bilayer.toml"), "-o", str(out), "--points", "6",
            "--vary", "materials.SE_anodic.B=-0.9:-0.5", "--vary",
            "geometry.layers[1].fraction=0.1:0.5", "--objective", "max_jump_distance_over_L",
            "--objective", "one_minus_t_li", "--constraint", "one_minus_t_li<=0.05",
            "--popsize", "5", "--maxiter", "8", "--drift", "0.1"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    for name in ("map.png", "map.csv", "best.toml", "best_profile.png", "pareto.png",
                 "pareto.csv", "evaluations.csv"):
        assert (out / name).stat().st_size > 0, name
    assert summary["map"]["evaluations"] == 36
    best = load_config(out / "best.toml")  # the optimum is a valid case
    opt = summary["optimization"]["best"]
    assert best.materials["SE_anodic"].B == opt["materials.SE_anodic.B"]
    assert math.isclose(best.layers[1].thickness / best.thickness,
                        opt["geometry.layers[1].fraction"], rel_tol=1e-12)
    assert set(summary["best_tolerance"]["anode"]) >= {"up_eV", "down_eV"}


def test_cli_design_bad_key_leaves_no_output(tmp_path, capsys):
    from fem_sse.app.cli import main

    out = tmp_path / "d"
    code = main(["design", str(CASES / "fig3_bilayer.toml"), "-o", str(out),
                 "--vary", "materials.SE_anodc.B=-1:0", "--vary", "cell.mu_anode=0:0.1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "materials.SE_anodc.B: no such key" in err
    assert not out.exists() and not out.with_name("d.partial").exists()
    assert main(["design", str(CASES / "fig3_bilayer.toml"), "-o", str(out), "--vary",
                 "cell.mu_anode=0:0.1", "--edge-zone", "0.7"]) == 2
    assert "--edge-zone: must be > 0 and <= 0.5" in capsys.readouterr().err


def test_data_is_not_mutated(bilayer_data):
    before = copy.deepcopy(bilayer_data)
    ev = Evaluator(bilayer_data, [parse_vary("geometry.layers[0].fraction=0.2:0.8")])
    ev([0.3])
    assert bilayer_data == before
