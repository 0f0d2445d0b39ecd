"""Typed mechanics and run summaries (no DOLFINx): the keys they spell, in their order."""

from fem_sse.app.results import RunInfo, RunResult, failed_summary
from fem_sse.failures import Diagnosis
from fem_sse.mechanics.results import FilmSummary, PlaneSummary

FILM = dict(model="film", max_von_mises=2.0, max_von_mises_location=[1e-6], max_principal=1.0,
            max_principal_location=[2e-6], min_principal=-3.0, max_hydrostatic=0.5,
            sigma_xx=-1e5, crack_risk_index=0.01, crack_risk_location=[2e-6],
            crack_risk_distance_to_electrode=2e-6,
            crack_risk_distances={"cathode": 2e-6, "anode": 98e-6},
            crack_risk_nearest_electrode="cathode", crack_risk_basis="flaw_average",
            crack_risk_index_local=0.012, max_stress_intensity=3.0,
            fracture_risk_index=0.02, fracture_risk_location=[2e-6],
            fracture_risk_distances={"cathode": 2e-6, "anode": 98e-6})
# the flaw-size averaged peaks (the 2D block has them in another order)
FILM_AVERAGED = dict(max_principal_flaw_average=0.9, max_principal_flaw_average_location=[5e-6],
                     max_von_mises_flaw_average=1.9, flaw_average_length=5e-6)


def test_film_summary_keys_in_order():
    """The film block: fields in order, per-electrode distances spliced with their prefix,
    the stress-free reference last and left out while unset."""
    block = FilmSummary(**FILM, **FILM_AVERAGED).to_summary()
    assert list(block) == [
        "model", "max_von_mises", "max_von_mises_location", "max_principal",
        "max_principal_location", "min_principal", "max_hydrostatic", "sigma_xx",
        "crack_risk_index", "crack_risk_location", "crack_risk_distance_to_electrode",
        "crack_risk_distance_to_cathode", "crack_risk_distance_to_anode",
        "crack_risk_nearest_electrode", "crack_risk_basis", "crack_risk_index_local",
        "max_principal_flaw_average", "max_principal_flaw_average_location",
        "max_von_mises_flaw_average", "flaw_average_length", "max_stress_intensity",
        "fracture_risk_index",
        "fracture_risk_location", "fracture_risk_distance_to_cathode",
        "fracture_risk_distance_to_anode"]
    assert block["crack_risk_distance_to_anode"] == 98e-6
    full = FilmSummary(**FILM, **FILM_AVERAGED,
                       stress_free_reference={"mu_ref_eV": None}).run_keys()
    assert list(full) == ["max_von_mises", "max_principal", "crack_risk_index",
                          "crack_risk_location", "crack_risk_distance_to_electrode",
                          "crack_risk_basis", "fracture_risk_index", "stress_free_reference",
                          "mechanics"]
    assert full["mechanics"]["stress_free_reference"] == {"mu_ref_eV": None}


def test_plane_summary_nearest_electrode_before_the_distances():
    """The elastic solve's block keeps its own order (nearest electrode, then the distances,
    then the flaw-averaged peaks under their own keys)."""
    film = {k: v for k, v in FILM.items() if k != "sigma_xx"}
    block = PlaneSummary(
        **film, max_von_mises_distance_to_electrode=1e-6, max_principal_distance_to_electrode=2e-6,
        **FILM_AVERAGED, stress_free_reference={},
        eigenstrain="DG0", front_refinements=1, fitted_edges=2, cut_cells=0, cells=10,
        max_displacement=1e-9, tractions={}, dofs=30, solver="lu", ksp_iterations=1,
        assemble_time_s=0.1, solve_time_s=0.1, mechanics_wall_time_s=0.3).to_summary()
    keys = list(block)
    assert keys.index("crack_risk_nearest_electrode") < keys.index("crack_risk_distance_to_cathode")
    start = keys.index("fracture_risk_distance_to_anode") + 1
    assert keys[start:start + 4] == ["max_principal_flaw_average", "max_von_mises_flaw_average",
                                     "max_principal_flaw_average_location",
                                     "flaw_average_length"]
    assert keys[-1] == "mechanics_wall_time_s" and "sigma_xx" not in block


def test_run_summary_order_and_converged():
    """case and solver first; the transport keys (``converged`` at the solver's place when it
    reports one); the mechanics keys; mode, thickness, converged, versions, ranks."""
    info = RunInfo("c", "fem", True, 1e-4, 2, "0.9.0", "1.0")
    exact = RunResult(info, {"t_li": 0.9}).to_summary()
    assert list(exact) == ["case", "solver", "t_li", "mode", "thickness_m", "converged",
                           "dolfinx_version", "fem_sse_version", "ranks"]
    assert exact["converged"] is True and exact["mode"] == "galvanostatic"
    fem = RunResult(info, {"t_li": 0.9, "converged": False, "stop_reason": "cell cap"},
                    FilmSummary(**FILM, **FILM_AVERAGED, stress_free_reference={})).to_summary()
    assert list(fem)[:5] == ["case", "solver", "t_li", "converged", "stop_reason"]
    assert fem["converged"] is False and fem["mechanics"]["model"] == "film"
    assert list(fem)[-5:] == ["mode", "thickness_m", "dolfinx_version", "fem_sse_version",
                              "ranks"]
    failed = failed_summary(info, RuntimeError("no"), Diagnosis(stage="x"), False, True)
    assert list(failed) == ["case", "solver", "converged", "error", "diagnosis", "t_li",
                            "one_minus_t_li", "state", "mode", "thickness_m",
                            "dolfinx_version", "fem_sse_version", "ranks", "steady_state"]
    assert failed["state"] == "none" and failed["t_li"] is None
