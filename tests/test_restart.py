"""Restart files and ``fem-sse mechanics OUTDIR`` (issue 18, item 7).

* the mechanics of a restart equal the mechanics of the original run to round-off, on the
  rank count that wrote the checkpoint and on another one (2 ranks -> 1 under mpirun -n 2;
  1 -> 2 in the serial lane, through mpirun);
* a restart with ``--set`` equals a full run of the changed case (1D, exact solver);
* keys that would change the transport, and folders without restart files, are refused with
  one line and exit status 2.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from fem_sse.app.restart import parse_set, rerun_mechanics
from fem_sse.app.cli import main
from fem_sse.spec.config import ConfigError
from fem_sse.spec.tomlwrite import dumps
from test_mechanics2d_run import _small_case  # the study bilayer, 6000 cells

ROOT = Path(__file__).resolve().parents[1]
#: 1 rank vs N ranks reading the same checkpoint: the elastic mesh is fitted on the canonical
#: serial copy (fem_sse/mechanics/canonical.py), so it is the same mesh; only the elastic
#: solve's round-off differs (3e-14 measured, bench/results/mechanics_ranks.json)
CROSS_RANK_RTOL = 1e-10
KEYS = ("max_von_mises", "max_principal", "crack_risk_index", "min_principal",
        "max_hydrostatic", "max_displacement", "crack_risk_distance_to_electrode")


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _same(a: dict, b: dict, rtol: float = 1e-10) -> None:
    for key in KEYS:
        x, y = (d.get(key, d.get("mechanics", {}).get(key)) for d in (a, b))
        assert x == pytest.approx(y, rel=rtol, abs=1e-30), key


def _film_case(folder: Path, comm, **material) -> Path:
    """The Fig. 3 bilayer with the two-state law and a 5 MPa stack pressure (rank 0 writes)."""
    from fem_sse.spec.config import read_toml

    data = read_toml(ROOT / "cases" / "fig3_bilayer.toml")
    for mat in data["materials"].values():
        mat.update(strain_law="two_state", **material)
    data["mechanics"] = {"stack_pressure": 5e6}
    path = folder / ("film.toml" if not material else "film_changed.toml")
    if comm.rank == 0:
        path.write_text(dumps(data))
    comm.barrier()
    return path


@pytest.mark.mpi
def test_film_restart_equals_run_and_changed_run(shared_tmp, comm):
    case = _film_case(shared_tmp, comm)
    assert main(["run", str(case), "-o", str(shared_tmp / "run"), "--solver", "exact", "-q"]) == 0
    assert (shared_tmp / "run" / "checkpoint" / "profile.npz").exists()
    assert main(["mechanics", str(shared_tmp / "run"), "--progress=off"]) == 0
    again = _summary(shared_tmp / "run_mechanics")
    _same(_summary(shared_tmp / "run"), again, rtol=0.0)  # the same arithmetic: bit for bit
    assert again["restart_from"] == str(shared_tmp / "run") and again["set"] == {}
    # a changed elastic modulus: the restart equals a full run of the changed case
    changed = _film_case(shared_tmp, comm, E=1.0e11, nu=0.3)
    assert main(["run", str(changed), "-o", str(shared_tmp / "full"), "--solver", "exact",
                 "-q"]) == 0
    assert main(["mechanics", str(shared_tmp / "run"), "-o", str(shared_tmp / "re"),
                 "--set", "materials.SE_cathodic.E=1e11", "--set", "materials.SE_anodic.E=1e11",
                 "--set", "materials.SE_cathodic.nu=0.3", "--set", "materials.SE_anodic.nu=0.3",
                 "--progress", "off"]) == 0
    full, re = _summary(shared_tmp / "full"), _summary(shared_tmp / "re")
    _same(full, re, rtol=0.0)
    assert re["max_principal"] < 0.8 * again["max_principal"]  # E/(1 - nu) fell by 0.64 x 1.35
    if comm.rank == 0:
        a = np.genfromtxt(shared_tmp / "full" / "profile.csv", delimiter=",", names=True)
        b = np.genfromtxt(shared_tmp / "re" / "profile.csv", delimiter=",", names=True)
        assert a.dtype.names == b.dtype.names
        for name in a.dtype.names:
            if name != "layer":
                np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.mpi
def test_film_restart_from_eafe_run(shared_tmp, comm):
    """A fem-eafe run (its own field files) restarts like the others: the mechanics of the
    restart equal the run's, bit for bit."""
    case = _film_case(shared_tmp, comm)
    run = shared_tmp / "eafe"
    assert main(["run", str(case), "-o", str(run), "--solver", "fem-eafe", "-q"]) == 0
    first = _summary(run)
    assert first["solver"] == "fem-eafe" and "fields.vtu" in first["files"]
    assert main(["mechanics", str(run), "--progress=off"]) == 0
    again = _summary(shared_tmp / "eafe_mechanics")
    _same(first, again, rtol=0.0)
    assert again["restart_from"] == str(run)


def test_only_mechanics_keys(tmp_path):
    assert parse_set("mechanics.stack_pressure=5e6") == ("mechanics.stack_pressure", 5e6)
    assert parse_set("materials.a.strain_law=two_state") == ("materials.a.strain_law",
                                                            "two_state")
    assert parse_set('materials.a.strain_law={kind = "dilute", cap = 0.01}')[1] == {
        "kind": "dilute", "cap": 0.01}
    for bad in ("cell.mu_anode=0.1", "materials.a.B=-1", "geometry.dim=1", "mechanics=",
                "stack_pressure"):
        with pytest.raises(ConfigError, match="--set"):
            parse_set(bad)


@pytest.mark.serial
def test_cli_refusals(tmp_path):
    """One line, exit 2: a transport key, a folder without restart files."""
    (tmp_path / "plain").mkdir()
    cmd = [sys.executable, "-m", "fem_sse", "mechanics"]
    for args, words in (([str(tmp_path / "plain")], "no readable restart files"),
                        ([str(tmp_path), "--set", "cell.mu_anode=0.1"], "only mechanics keys")):
        proc = subprocess.run(cmd + args, capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert words in proc.stderr
    assert not (tmp_path / "plain_mechanics").exists()


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    """``fem-sse run`` of the small 2D study case on all ranks: the output folder."""
    comm = MPI.COMM_WORLD
    folder = comm.bcast(tmp_path_factory.mktemp("restart2d") if comm.rank == 0 else None,
                        root=0)
    out = folder / "run"
    assert main(["run", str(_small_case(folder, comm)), "-o", str(out), "-q"]) == 0
    return out


@pytest.mark.mpi
def test_plane_restart_equals_run(study_run, comm):
    """Same ranks as the writer, and 1 rank (COMM_SELF) reading what N ranks wrote."""
    state = json.loads((study_run / "checkpoint" / "state.json").read_text())
    assert state["ranks"] == comm.size and state["dim"] == 2
    original = _summary(study_run)
    out = study_run.with_name("same")
    assert main(["mechanics", str(study_run), "-o", str(out), "--no-png",
                 "--progress=off"]) == 0
    same = _summary(out)
    _same(original, same, rtol=1e-9)
    assert same["cells"] == original["mechanics"]["cells"]
    assert same["mechanics"]["front_refinements"] == 3
    self_out = study_run.with_name(f"self{comm.rank}")
    alone = rerun_mechanics(study_run, self_out, MPI.COMM_SELF, png=False)
    _same(original, alone, rtol=CROSS_RANK_RTOL)
    assert alone["mechanics"]["cells"] == original["mechanics"]["cells"]
    assert alone["ranks"] == 1 and alone["written_on_ranks"] == comm.size


@pytest.mark.mpi
def test_plane_restart_with_stack_pressure(study_run, comm):
    """Only the mechanics runs again: the mean normal traction on the phase boundary equals
    the new stack pressure (equilibrium), the run's t_Li is kept."""
    out = study_run.with_name("p20")
    summary = rerun_mechanics(study_run, out, comm, [parse_set("mechanics.stack_pressure=2e7")],
                              png=False)
    pb = summary["mechanics"]["tractions"]["pb0"]
    assert pb["normal_mean"] == pytest.approx(-2e7, rel=1e-3)
    assert summary["t_li"] == _summary(study_run)["t_li"]
    assert summary["set"] == {"mechanics.stack_pressure": 2e7}
    assert {"summary.json", "mechanics.bp", "tractions.csv"} <= set(summary["files"])
    assert (out / "mechanics.bp").is_dir() and not (out / "mechanics.png").exists()


@pytest.mark.serial
def test_restart_on_more_ranks(study_run):
    """A checkpoint written on 1 rank, re-read on 2 (mpirun)."""
    if MPI.COMM_WORLD.size != 1:
        pytest.skip("spawns mpirun")
    out = study_run.with_name("two")
    env = {**os.environ, "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    proc = subprocess.run(["mpirun", "-n", "2", sys.executable, "-m", "mpi4py", "-m", "fem_sse",
                           "mechanics", str(study_run), "-o", str(out), "--no-png",
                           "--progress", "off"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    two = _summary(out)
    assert two["ranks"] == 2 and two["written_on_ranks"] == 1
    _same(_summary(study_run), two, rtol=CROSS_RANK_RTOL)


def test_saved_run_reads_its_state_json():
    """state.json's record: written keys in order, read back to the same record (the payload's
    own keys kept apart), another format refused."""
    from fem_sse.io.checkpoint import SavedRun

    saved = SavedRun(2, "case", "fem-eafe", 3, 0.9, 0.1, {"degree": 1, "cells": 99})
    state = saved.to_json()
    assert list(state) == ["format", "version", "dim", "case", "solver", "ranks", "t_li",
                           "one_minus_t_li", "degree", "cells"]
    assert SavedRun.from_json(json.loads(json.dumps(state))) == saved
    assert saved.cells == 99 and SavedRun(1, "c", None, 1, None, None).cells is None
    with pytest.raises(ValueError):
        SavedRun.from_json({**state, "version": 0})
