"""Runs end cleanly: generated configs run or are rejected, a solver forced to fail writes its
last good state with a diagnosis (exit 3), and an interrupted run leaves the finished folder
or nothing (issue 8)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from config_strategies import fuzz_case, run_outcome, valid_1d
from hypothesis import HealthCheck, given, settings

from fem_sse.app.cli import main
from fem_sse.spec.config import load_config
from fem_sse.errors import EXIT_NOT_CONVERGED, ConvergenceError

ROOT = Path(__file__).parent.parent
SINGLE = ROOT / "cases" / "fig2_single_layer.toml"
BILAYER = ROOT / "cases" / "fig3_bilayer.toml"
CLEAN = ("ran", "rejected", "not_converged")
FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _check(result: dict, folder: Path) -> None:
    assert result["outcome"] in CLEAN, result["message"]
    out = folder / "out"
    assert not out.with_name("out.partial").exists()
    if result["outcome"] == "rejected":
        assert not out.exists() and "\n" not in result["message"]
    else:  # a folder either way; "converged" says which
        summary = json.loads((out / "summary.json").read_text())
        if result["outcome"] != "ran":
            assert summary["converged"] is False
        elif not summary["converged"]:  # ran, but a cap stopped the adaptive loop: said so
            assert summary["stop_reason"] in ("cell cap", "step cap", "no refinement",
                                              "refinement failed")


@pytest.mark.serial
@settings(FUZZ, max_examples=40)
@given(fuzz_case("exact") | fuzz_case("wide") | fuzz_case("bad"))
def test_generated_1d_configs_run_exact_or_are_rejected(tmp_path_factory, case):
    data, solver = case
    folder = tmp_path_factory.mktemp("fuzz")
    _check(run_outcome(data, solver, folder), folder)


@pytest.mark.serial
@settings(FUZZ, max_examples=3)
@given(valid_1d(solver="fem"))
def test_generated_1d_configs_run_fem(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz_fem")
    _check(run_outcome(data, "fem", folder), folder)


def _forced_failure(path: Path, folder: Path) -> Path:
    """The case at ``path`` solved with the W formulation (``kind = "fem"``; the 1D default
    is the exponentially fitted scheme) with a Newton budget of one iteration (a user
    option), and no fallback to the exponentially fitted scheme (which would solve it)."""
    failing = folder / "failing.toml"
    failing.write_text(path.read_text().split("[solver]")[0] + '\n[solver]\nkind = "fem"\n'
                       'max_newton_iterations = 1\nfallback = "none"\n')
    return failing


def test_forced_solver_failure_writes_last_good_state(shared_tmp, comm):
    from fem_sse.app.run import run_case

    if comm.rank == 0:
        _forced_failure(SINGLE, shared_tmp)
    comm.barrier()
    config = load_config(shared_tmp / "failing.toml")
    out = shared_tmp / "failed_run"
    with pytest.raises(ConvergenceError) as info:
        run_case(config, out, comm)
    assert info.value.diagnosis.outdir == str(out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["converged"] is False and summary["t_li"] is None
    diagnosis = summary["diagnosis"]
    assert diagnosis["good_state"] and diagnosis["last_residuals"]
    stages = ["continuation in the electrode window", "continuation in the drift strength"]
    assert diagnosis["stage"] in stages  # the one that got furthest
    assert 0.0 <= diagnosis["fraction_reached"] < 1.0
    peak = diagnosis["residual_peak"]
    assert 0.0 <= peak["x_over_L"] <= 1.0 and peak["material"] == "LLZO_like"
    assert [a["stage"] for a in diagnosis["attempts"]] == ["Newton", *stages]
    assert {"profile.csv", "fields.bp", "regions.xdmf"} <= set(summary["files"])
    rows = (out / "profile.csv").read_text().splitlines()
    assert len(rows) > 100 and rows[0].startswith("x_m,")


@pytest.mark.serial
def test_forced_failure_exit_code_and_one_line(tmp_path, capsys):
    failing = _forced_failure(BILAYER, tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(failing), "-o", str(out), "-q"]) == EXIT_NOT_CONVERGED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fem-sse: error: not converged:")
    assert f"{out}/summary.json" in err[0]
    residual_peak = json.loads((out / "summary.json").read_text())["diagnosis"]["residual_peak"]
    assert residual_peak["region"].startswith("layer")


def test_2d_scheme_failure_says_where_its_start_is_least_balanced(shared_tmp, comm):
    """The exponentially fitted scheme in 2D given one Newton iteration fails on its first
    mesh; the diagnosis names the stage and where the start state's node residuals (row-
    scaled, V) concentrate, x and y, identical on every rank."""
    from fem_sse.app.run import run_case

    failing = shared_tmp / "failing2d.toml"
    if comm.rank == 0:
        head = (ROOT / "cases" / "2d" / "bilayer_bottlenecks.toml").read_text()
        failing.write_text(head.split("[solver]")[0] + '\n[solver]\nkind = "fem-eafe"\n'
                           "max_newton_iterations = 1\n")
    comm.barrier()
    with pytest.raises(ConvergenceError) as info:
        run_case(load_config(failing), shared_tmp / "failed2d", comm)
    diagnosis = info.value.diagnosis
    assert diagnosis.stage == "EAFE 2D Newton from the column-mapped start"
    peak = diagnosis.residual_peak
    assert 0.0 <= peak.x_over_L <= 1.0 and peak.y_m is not None
    assert peak.material in ("SE_cathodic", "SE_anodic") and peak.residual_norm > 0.0
    assert comm.allgather(peak.to_summary()) == [peak.to_summary()] * comm.size


@pytest.mark.serial
def test_default_1d_scheme_failure_is_one_line_with_a_diagnosis(tmp_path, capsys):
    """The 1D default (the exponentially fitted scheme) given one Newton iteration: exit 3,
    one line naming summary.json, whose diagnosis names the stage and the refinement step."""
    failing = tmp_path / "failing.toml"
    failing.write_text(BILAYER.read_text().split("[solver]")[0]
                       + "\n[solver]\nmax_newton_iterations = 1\n")
    out = tmp_path / "out"
    assert main(["run", str(failing), "-o", str(out), "-q"]) == EXIT_NOT_CONVERGED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fem-sse: error: not converged:")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solver"] == "fem-eafe" and summary["converged"] is False
    assert summary["diagnosis"]["stage"] == "EAFE Newton from the exact state"
    assert summary["diagnosis"]["refinement_step"] == 0
    peak = summary["diagnosis"]["residual_peak"]  # where the start state is least balanced
    assert 0.0 <= peak["x_over_L"] <= 1.0 and peak["region"].startswith("layer")
    assert peak["material"] in ("SE_cathodic", "SE_anodic") and peak["residual_norm"] > 0.0


@pytest.mark.serial
def test_shipped_2d_short_is_one_line_not_an_internal_error(tmp_path, capsys):
    """cases/2d/defects.toml (a geometry example whose averaged stack is an electronic short):
    the W formulation fails, and the EAFE fallback's factorisation used to stop MUMPS with
    INFOG(1) = -9 (workspace), which reached the user as "internal error". Now: more MUMPS
    workspace, and a failed factorisation is a failed Newton step; the run ends with exit 3,
    one line naming the diagnosis, and the fallback's error in summary.json."""
    out = tmp_path / "out"
    case = ROOT / "cases" / "2d" / "defects.toml"
    assert main(["run", str(case), "-o", str(out), "-q"]) == EXIT_NOT_CONVERGED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fem-sse: error: not converged:"), err
    diagnosis = json.loads((out / "summary.json").read_text())["diagnosis"]
    assert diagnosis["fallback"]["to"] == "fem-eafe"
    assert "PETSc error" not in diagnosis["fallback"]["error"]


@pytest.mark.serial
def test_symmetric_cell_runs_with_both_solvers(tmp_path):
    """mu_anode = mu_cathode (Li | SE | Li): accepted, FEM agrees with the closed form."""
    case = tmp_path / "symmetric.toml"
    case.write_text(BILAYER.read_text().replace("mu_cathode = -3", "mu_cathode = -1.5")
                    .replace("mu_anode = 0 ", "mu_anode = -1.5 "))
    t_li = {}
    for solver in ("exact", "fem"):
        assert main(["run", str(case), "-o", str(tmp_path / solver), "--solver", solver,
                     "-q"]) == 0
        t_li[solver] = json.loads((tmp_path / solver / "summary.json").read_text())["t_li"]
    assert 0.0 < t_li["exact"] < 1.0
    assert abs(t_li["fem"] - t_li["exact"]) < 1e-6


@pytest.mark.serial
def test_writer_failure_keeps_the_previous_result(tmp_path, monkeypatch):
    import fem_sse.app.run_output

    out = tmp_path / "out"
    args = ["run", str(BILAYER), "-o", str(out), "--solver", "exact", "-q", "--overwrite"]
    assert main(args) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(path, *args, **kwargs):
        Path(path).write_text("half a plot")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fem_sse.app.run_output, "plot_profile", broken)
    assert main(args) == 1  # an unexpected error: exit 1, one line
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    monkeypatch.undo()
    second = tmp_path / "second"
    monkeypatch.setattr(fem_sse.app.run_output, "plot_profile", broken)
    assert main(["run", str(BILAYER), "-o", str(second), "--solver", "exact", "-q"]) == 1
    assert not second.exists() and not second.with_name("second.partial").exists()


_KILLED_RUN = """
import sys, time
from pathlib import Path
import fem_sse.app.run_output
from fem_sse.app.cli import main

def slow_csv(path, rows):  # writes half the file, says so, then waits to be killed
    Path(path).write_text("x_m,x_over_L\\n0.0,")
    Path(sys.argv[2]).write_text("writing")
    time.sleep(60)

fem_sse.app.run_output.write_profile_csv = slow_csv
main(["run", sys.argv[1], "-o", sys.argv[3], "--solver", "exact", "-q", "--overwrite"])
"""


@pytest.mark.serial
def test_run_killed_mid_write_leaves_finished_folder_or_nothing(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_RUN)
    marker = tmp_path / "marker"
    for existing in (False, True):
        out = tmp_path / f"out_{existing}"
        if existing:
            assert main(["run", str(BILAYER), "-o", str(out), "--solver", "exact", "-q"]) == 0
            before = (out / "profile.csv").read_text()
        marker.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(script), str(BILAYER), str(marker),
                                 str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the run never reached the writer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if existing:  # the previous, finished result is untouched
            assert (out / "profile.csv").read_text() == before
        else:
            assert not out.exists()
        # the rerun (resume) replaces the stale .partial and finishes
        assert main(["run", str(BILAYER), "-o", str(out), "--solver", "exact", "-q",
                     "--overwrite"]) == 0
        assert json.loads((out / "summary.json").read_text())["converged"] is True
        assert not out.with_name(out.name + ".partial").exists()
