"""Sweeps (fem_sse.app.studies, fem-sse sweep): plans, resume, sub-communicators, tables, plots."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from fem_sse.spec.config import ConfigError, parse_config, read_toml
from fem_sse.app.run import solve_case
from fem_sse.app.studies import Axis, expand, parse_axis, plan_sweep, run_sweep

ROOT = Path(__file__).parent.parent
CASE = ROOT / "cases" / "fig3_bilayer.toml"


def exact(data: dict) -> dict:
    """The exact-solver summary of a config dict, built without the sweep machinery."""
    return solve_case(parse_config(data), MPI.COMM_SELF, "exact")[0]


def test_axis_forms():
    assert parse_axis("cell.mu_anode=0,0.05,x").values == (0, 0.05, "x")
    lin = parse_axis("cell.mu_anode = -0.2:0.2:5")
    assert lin.key == "cell.mu_anode"
    np.testing.assert_allclose(lin.values, [-0.2, -0.1, 0.0, 0.1, 0.2], atol=1e-15)
    log = parse_axis("materials.SE_anodic.sigma_li=1e-3:1e1:5:log")
    np.testing.assert_allclose(log.values, [1e-3, 1e-2, 1e-1, 1.0, 1e1], rtol=1e-12)
    for bad in ("cell.mu_anode", "cell.mu_anode=", "x=1:2", "x=1:2:0", "x=0:1:3:log",
                "x=a:b:3"):
        with pytest.raises(ConfigError, match="--set"):
            parse_axis(bad)


def test_grid_and_list():
    a, b = Axis("a", (1, 2)), Axis("b", (10, 20))
    assert expand((a, b)) == [{"a": 1, "b": 10}, {"a": 1, "b": 20}, {"a": 2, "b": 10},
                              {"a": 2, "b": 20}]
    assert expand((a, b), "list") == [{"a": 1, "b": 10}, {"a": 2, "b": 20}]
    assert expand((a, Axis("c", ("x",))), "list") == [{"a": 1, "c": "x"}, {"a": 2, "c": "x"}]
    with pytest.raises(ConfigError, match="--list"):
        expand((a, Axis("b", (1, 2, 3))), "list")
    with pytest.raises(ConfigError, match="twice"):
        expand((a, a))


def test_plan_validates_every_point(bilayer_data):
    with pytest.raises(ConfigError, match=r"cell\.temperature.*sweep point"):
        plan_sweep(bilayer_data, (Axis("cell.temperature", (298.0, -5.0)),))
    with pytest.raises(ConfigError, match=r"cell\.mu_anod: unknown key; did you mean"):
        plan_sweep(bilayer_data, (Axis("cell.mu_anod", (0.0,)),))
    with pytest.raises(ConfigError, match=r"geometry\.layers\[2\]\.thickness: no such key"):
        plan_sweep(bilayer_data, (Axis("geometry.layers[2].thickness", (1e-5,)),))
    with pytest.raises(ConfigError, match=r"cell\.mu_anode\.x: no such key"):
        plan_sweep(bilayer_data, (Axis("cell.mu_anode.x", (1.0,)),))
    # a missing optional table is created: mechanics turned on by one of its keys
    plan = plan_sweep(bilayer_data, (Axis("mechanics.stack_pressure", (5e6,)),))
    assert plan.configs[0].mechanics.stack_pressure == 5e6 and "mechanics" not in bilayer_data
    # the exact solver on a 2D sweep: refused before anything runs (no group left waiting)
    plan2d = plan_sweep(read_toml(ROOT / "cases" / "2d" / "poly_bilayer.toml"),
                        (Axis("cell.current_density", (5.0, 10.0)),))
    with pytest.raises(ConfigError, match="--solver: the exact solver is 1D"):
        run_sweep(plan2d, ROOT / "never_written", MPI.COMM_WORLD, solver="exact")
    assert not (ROOT / "never_written").exists()
    # keys that differ only in the list index get different folders
    plan = plan_sweep(bilayer_data, (Axis("geometry.layers[0].thickness", (5e-5,)),
                                     Axis("geometry.layers[1].thickness", (2e-5,))))
    assert plan.names == ["run_layers0.thickness=5e-05_layers1.thickness=2e-05"]
    assert plan.configs[0].thickness == pytest.approx(7e-5)


def test_sweep_applies_values_and_resumes(bilayer_data, shared_tmp, comm):
    out = shared_tmp / "resume"
    axes = (Axis("cell.mu_anode", (0.0, 0.1)),)
    rows = run_sweep(plan_sweep(bilayer_data, axes), out, comm, solver="exact")
    assert [r["status"] for r in rows] == ["done", "done"]
    for row in rows:  # each row is the exact solution of its own point
        data = copy.deepcopy(bilayer_data)
        data["cell"]["mu_anode"] = row["cell.mu_anode"]
        ref = exact(data)
        assert row["t_li"] == pytest.approx(ref["t_li"], rel=1e-12)
        np.testing.assert_allclose(row["jumps_x_over_L"],
                                   [j["x"] / 1e-4 for j in ref["jumps"]], rtol=1e-12)
        assert row["solver"] == "exact"
    assert rows[0]["t_li"] != pytest.approx(rows[1]["t_li"], rel=1e-6)
    # resumed with one more point: the two finished ones are read, not recomputed
    axes = (Axis("cell.mu_anode", (0.0, 0.1, 0.05)),)
    again = run_sweep(plan_sweep(bilayer_data, axes), out, comm, solver="exact")
    assert [r["status"] for r in again] == ["cached", "cached", "done"]
    assert again[1]["t_li"] == rows[1]["t_li"]
    lines = (out / "results.jsonl").read_text().splitlines()
    assert [json.loads(x)["cell.mu_anode"] for x in lines] == [0.0, 0.1, 0.05]
    csv_rows = (out / "results.csv").read_text().splitlines()
    assert len(csv_rows) == 4 and csv_rows[0].startswith("cell.mu_anode,status,solver,t_li")
    assert (out / "plot_jumps.png").stat().st_size > 5_000
    # the same folder with another base case is refused
    changed = copy.deepcopy(bilayer_data)
    changed["cell"]["current_density"] = 5.0
    with pytest.raises(ConfigError, match="another base case"):
        run_sweep(plan_sweep(changed, axes), out, comm, solver="exact")


def test_groups_equal_one_run_on_all_ranks(bilayer_data, shared_tmp, comm):
    """FEM points on sub-communicators (one rank per run) == the same points on all ranks."""
    axes = (Axis("cell.mu_anode", (0.0, 0.05)),)
    plan = plan_sweep(bilayer_data, axes)
    split = run_sweep(plan, shared_tmp / "split", comm, solver="fem", ranks_per_run=1,
                      plots=False, show_progress=False)
    whole = run_sweep(plan, shared_tmp / "whole", comm, solver="fem", ranks_per_run=comm.size,
                      plots=False, show_progress=False)
    assert [r["ranks"] for r in split] == [1, 1]
    assert [r["ranks"] for r in whole] == [comm.size] * 2
    for a, b in zip(split, whole, strict=True):
        assert a["one_minus_t_li"] == pytest.approx(b["one_minus_t_li"], rel=1e-8)
        np.testing.assert_allclose(a["jumps_x_over_L"], b["jumps_x_over_L"], atol=1e-9)
        ref = exact({**bilayer_data, "cell": {**bilayer_data["cell"],
                                              "mu_anode": a["cell.mu_anode"]}})
        assert a["one_minus_t_li"] == pytest.approx(ref["one_minus_t_li"], rel=1e-3)
    with pytest.raises(ConfigError, match="--ranks-per-run"):
        run_sweep(plan, shared_tmp / "bad", comm, ranks_per_run=comm.size + 1)


def test_thickness_list_with_mechanics(bilayer_data, shared_tmp, comm):
    """A list sweep at constant total thickness (a thickness ratio); the film's peak stress and
    its position land in the table."""
    bilayer_data["mechanics"] = {}
    axes = (Axis("geometry.layers[0].thickness", (75e-6, 50e-6)),
            Axis("geometry.layers[1].thickness", (25e-6, 50e-6)))
    rows = run_sweep(plan_sweep(bilayer_data, axes, "list"), shared_tmp / "ratio", comm,
                     solver="exact", show_progress=False)
    for row in rows:
        data = copy.deepcopy(bilayer_data)
        data["geometry"]["layers"][0]["thickness"] = row["geometry.layers[0].thickness"]
        data["geometry"]["layers"][1]["thickness"] = row["geometry.layers[1].thickness"]
        ref = exact(data)
        assert row["max_principal"] == pytest.approx(ref["max_principal"], rel=1e-12)
        # the eigenstrain steps where mu_Li0 jumps, at the phase boundary: the peak sits there
        assert row["crack_risk_x_over_L"] == pytest.approx(data["geometry"]["layers"][0]
                                                           ["thickness"] / 1e-4, abs=0.01)
    assert rows[0]["max_principal"] != pytest.approx(rows[1]["max_principal"], rel=0.1)
    assert (shared_tmp / "ratio" / "plot_peak_stress.png").exists()


@pytest.mark.serial
def test_failed_point_is_recorded_and_the_sweep_goes_on(bilayer_data, tmp_path, monkeypatch):
    import fem_sse.app.run

    real = fem_sse.app.run.run_case

    def flaky(config, outdir, comm, **kw):
        if config.cell.mu_anode > 0.06:
            raise RuntimeError("Newton diverged (forced)")
        return real(config, outdir, comm, **kw)

    monkeypatch.setattr(fem_sse.app.run, "run_case", flaky)
    axes = (Axis("cell.mu_anode", (0.0, 0.1, 0.05)),)
    rows = run_sweep(plan_sweep(bilayer_data, axes), tmp_path, MPI.COMM_WORLD, solver="exact",
                     show_progress=False)
    assert [r["status"] for r in rows] == ["done", "failed", "done"]
    assert "forced" in rows[1]["error"]
    assert not (tmp_path / "run_mu_anode=0.1").exists()
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3


@pytest.mark.serial
def test_cli_sweep(tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "fem_sse", "sweep", str(CASE), "--set",
           "cell.mu_anode=-0.1:0.1:4", "--set", "materials.SE_anodic.B=-0.7,-0.5", "--solver",
           "exact", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "8 runs [exact], 0 cached, 0 failed" in proc.stdout
    assert "ETA" in proc.stdout
    assert len((out / "results.csv").read_text().splitlines()) == 9
    assert not (out / "run_mu_anode=-0.1_SE_anodic.B=-0.7" / "profile.png").exists()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "0 cached" not in proc.stdout and "8 cached" in proc.stdout
    # a bad point: one-line error naming the key, exit 2, no output folder
    bad = [*cmd[:6], "cell.temperature=298,-1", "--solver", "exact", "-o", str(tmp_path / "b")]
    proc = subprocess.run(bad, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "cell.temperature" in proc.stderr and not (tmp_path / "b").exists()


@pytest.mark.serial
@pytest.mark.parametrize("script", sorted((ROOT / "docs" / "cluster").glob("*.sbatch")))
def test_slurm_templates_parse(script):
    """The Slurm templates of docs/cluster.md are valid bash and run fem-sse under srun."""
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "#SBATCH --ntasks" in text and "srun --mpi=pmix apptainer exec" in text


@pytest.mark.serial
def test_bench_suite_record_and_report(tmp_path):
    """bench/suite.py writes one JSON per run with the common keys; bench/report.py tabulates."""
    sys.path.insert(0, str(ROOT / "bench"))
    import report
    import suite

    assert suite.main(["--child", "transport2d_h2e-06", "-o", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "transport2d_h2e-06_r1.json").read_text())
    for key in ("benchmark", "ranks", "dofs", "wall_time_s", "peak_rss_MiB_max",
                "newton_iterations", "krylov_iterations", "machine", "versions", "commit"):
        assert key in record, key
    assert record["dofs"] > 1000 and record["newton_iterations"] >= 1
    assert record["t_li"] == pytest.approx(1.0, abs=1e-3)  # partial contact: Li+ carries it
    assert record["versions"]["dolfinx"].startswith("0.")
    assert report.main(["--results", str(tmp_path), "-o", str(tmp_path / "b.md")]) == 0
    text = (tmp_path / "b.md").read_text()
    assert "| transport2d_h2e-06 | 1 |" in text and "weak efficiency" in text
