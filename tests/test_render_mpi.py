"""PNGs never cost results (issue 18): drawn off-screen with matplotlib, without an X server,
serially and under MPI; a failure to draw is a warning and a summary note, never a lost run.

Regressions: the pyvista PNG of the mechanics fields used to run in a child with its own Xvfb
(under mpirun the child joined the job as a phantom rank and hung); without an X server every 2D
[mechanics] run then failed at the PNG step ("Xvfb did not start", exit 1, results discarded).
"""

import copy
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BILAYER
from dolfinx import fem

ROOT = Path(__file__).parent.parent


@pytest.fixture
def no_x_server(monkeypatch, tmp_path):
    """No DISPLAY, and PATH holds every program but Xvfb and xvfb-run (the JIT needs gcc)."""
    hidden = {"Xvfb", "xvfb-run", "Xorg", "X"}
    folder = tmp_path / f"bin{os.getpid()}"
    folder.mkdir()
    for directory in reversed(os.environ["PATH"].split(os.pathsep)):
        for program in Path(directory).glob("*") if Path(directory).is_dir() else []:
            if program.name not in hidden:
                (folder / program.name).unlink(missing_ok=True)
                (folder / program.name).symlink_to(program)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("PATH", str(folder))
    assert shutil.which("Xvfb") is None and shutil.which("gcc") is not None


@pytest.mark.mpi
@pytest.mark.parametrize("deformed", [False, True])
def test_mechanics_png_without_x(shared_tmp, comm, no_x_server, deformed):
    sys.path.insert(0, str(ROOT / "bench"))
    import mechanics as bench  # the structured 100 um bilayer of bench/mechanics.py

    from fem_sse.mechanics import plot_mechanics, solve_mechanics

    smesh = bench._smesh(comm, 16)
    mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))  # mu_Li0 (eV): a front
    mu.interpolate(lambda x: -3.0 + 1.5 * (1.0 + np.tanh((x[0] - 0.4 * bench.L)
                                                         / (0.01 * bench.L))))
    result = solve_mechanics(smesh, mu, bench._config(), comm)
    path = shared_tmp / f"render_{deformed}.png"
    assert plot_mechanics(path, result, deformed=deformed) is None
    comm.barrier()
    assert path.stat().st_size > 10_000


def _case_2d() -> dict:
    data = copy.deepcopy(BILAYER)
    for m in data["materials"].values():
        m["strain_law"] = "two_state"
    data.update(name="png_fail", mesh={"size_bulk": 1e-6}, mechanics={"refine_fronts": 0},
                solver={"adaptive": False},  # the initial mesh: a converged run, fast
                geometry={"dim": 2, "width": 5e-6, "layers": [
                    {"material": "SE_cathodic", "thickness": 5e-6},
                    {"material": "SE_anodic", "thickness": 5e-6}]})
    return data


@pytest.mark.mpi
def test_png_failure_is_a_warning(shared_tmp, comm, monkeypatch, caplog):
    """Every drawing step raising (as "Xvfb did not start" did): the run completes, writes all
    other files, says why in the summary and logs one warning per PNG."""
    import fem_sse.mechanics.output as mech_output
    import fem_sse.io.outputs as outputs
    from fem_sse.spec.config import parse_config
    from fem_sse.app.run import run_case

    def broken(*args):
        raise RuntimeError("Xvfb did not start")

    monkeypatch.setattr(outputs, "_draw_mu_map", broken)
    monkeypatch.setattr(outputs, "_draw_profile", broken)
    monkeypatch.setattr(mech_output, "_draw_mechanics", broken)
    out = shared_tmp / "png_fail"
    with caplog.at_level(logging.WARNING, logger="fem_sse.io.outputs"):
        summary = run_case(parse_config(_case_2d()), out, comm)
    comm.barrier()
    assert summary["converged"] and summary["max_von_mises"] > 0
    for name in ("summary.json", "fields.bp", "fields.vtu", "mechanics.bp", "mechanics.vtu",
                 "tractions.csv", "fronts.json"):
        assert (out / name).exists(), name
    assert not (out / "mu_map.png").exists() and not (out / "mechanics.png").exists()
    if comm.rank == 0:
        saved = json.loads((out / "summary.json").read_text())
        assert saved["mu_map_png"] == "failed: RuntimeError: Xvfb did not start"
        assert saved["mechanics_png"].startswith("failed")
        assert "mu_map.png" not in saved["files"] and "mechanics.png" not in saved["files"]
        warnings = [r for r in caplog.records if "could not draw" in r.getMessage()]
        assert len(warnings) == 2, caplog.records

    one = copy.deepcopy(BILAYER)
    summary = run_case(parse_config({"name": "png_fail_1d", **one}), shared_tmp / "p1d", comm,
                       solver="exact")
    comm.barrier()
    assert (shared_tmp / "p1d" / "profile.csv").exists()
    assert not (shared_tmp / "p1d" / "profile.png").exists()
    if comm.rank == 0:
        saved = json.loads((shared_tmp / "p1d" / "summary.json").read_text())
        assert saved["profile_png"].startswith("failed: RuntimeError")
        assert "profile.png" not in saved["files"]
