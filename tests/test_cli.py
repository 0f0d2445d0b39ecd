"""The fem-sse command: outputs of run, errors as one line with a non-zero exit."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fem_sse.app.cli import main

ROOT = Path(__file__).parent.parent
CASE = ROOT / "cases" / "fig3_bilayer.toml"
KEYS = {"t_li", "mu_interfaces", "jumps", "overshoot_fraction", "undershoot_fraction", "dofs",
        "newton_iterations", "wall_time_s", "solver", "dolfinx_version", "ranks"}


@pytest.mark.parametrize("solver", ["fem", "exact"])
def test_run_writes_outputs(shared_tmp, solver, comm):
    out = shared_tmp / f"fig3_{solver}"
    assert main(["run", str(CASE), "-o", str(out), "--solver", solver, "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert KEYS <= set(summary)
    assert summary["solver"] == solver
    assert summary["ranks"] == comm.size
    header = (out / "profile.csv").read_text().splitlines()[0]
    assert header.startswith("x_m,x_over_L,mu_Li0_eV,eta_i_eV,eta_e_eV,sigma_eh_S_per_m,layer")
    assert (out / "profile.png").stat().st_size > 10_000
    if solver == "fem":
        assert (out / "fields.bp").is_dir() and (out / "regions.xdmf").exists()
    assert not (out.parent / (out.name + ".partial")).exists()


@pytest.mark.serial
def test_bad_config_one_line_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(CASE.read_text().replace("temperature = 298.0", "temperature = -5.0"))
    proc = subprocess.run([sys.executable, "-m", "fem_sse", "run", str(bad), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "cell.temperature" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.serial
def test_version_and_info():
    proc = subprocess.run([sys.executable, "-m", "fem_sse", "info", "--json"],
                          capture_output=True, text=True, check=True)
    info = json.loads(proc.stdout)
    assert info["dolfinx"].startswith("0.")
    assert info["mpi_size"] == 1
    proc = subprocess.run([sys.executable, "-m", "fem_sse", "--version"], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.startswith("fem-sse ")


def test_sweep_exact(shared_tmp, comm):
    out = shared_tmp / "sweep"
    args = ["sweep", str(CASE), "--set", "cell.mu_anode=0,0.05", "-o", str(out),
            "--solver", "exact"]
    assert main(args) == 0
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 3
    assert main(args) == 0  # resumed: nothing recomputed


@pytest.mark.serial
def test_exact_solver_on_a_2d_case_is_a_clean_error(tmp_path, capsys):
    out = tmp_path / "x2d"
    case = str(ROOT / "cases" / "2d" / "bilayer_gb_strips.toml")
    assert main(["run", case, "--solver", "exact", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "solver.kind" in err[0]
    assert not out.exists()
