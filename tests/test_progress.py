"""Progress reporting (fem_sse.progress): bar on a terminal, timestamped lines elsewhere, rank 0
only, no escape codes in logs (issue 18, item 6)."""

import io
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fem_sse import progress
from fem_sse.progress import Progress, activity, configure, message, resolve_mode

ROOT = Path(__file__).resolve().parents[1]
ESCAPE = re.compile(r"[\x1b\r]")
STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


class Rank:
    def __init__(self, rank):
        self.rank = rank


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """No launcher/CI variables of the test runner itself; settings reset after each test."""
    for name in (*progress.LAUNCHER_VARS, *progress.RANK_VARS, progress.ENV_MODE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    configure()  # the tests below set modes themselves
    yield
    configure()


def test_auto_mode_follows_the_stream(monkeypatch):
    assert resolve_mode(None, io.StringIO()) == "lines"  # a file or a pipe
    assert resolve_mode(None, Terminal()) == "bar"
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # mpirun's pty ends in a log
    assert resolve_mode(None, Terminal()) == "lines"
    monkeypatch.delenv("OMPI_COMM_WORLD_SIZE")
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    assert resolve_mode(None, Terminal()) == "lines"
    monkeypatch.delenv("SLURM_JOB_ID")
    monkeypatch.setenv("TERM", "dumb")
    assert resolve_mode(None, Terminal()) == "lines"


def test_explicit_mode_and_environment(monkeypatch):
    monkeypatch.setenv(progress.ENV_MODE, "off")
    assert resolve_mode(None, Terminal()) == "off"
    configure("bar")  # --progress beats the environment
    assert resolve_mode(None, io.StringIO()) == "bar"
    monkeypatch.setenv(progress.ENV_MODE, "bogus")
    configure()
    with pytest.raises(ValueError, match="FEM_SSE_PROGRESS"):
        resolve_mode(None, io.StringIO())
    with pytest.raises(ValueError):
        configure("loud")


def test_lines_mode_is_plain_and_timestamped():
    stream = io.StringIO()
    with Progress("sweep", 4, 1, stream=stream, mode="lines", ticker=False) as bar:
        bar.update(1, "first")  # the first step prints
        bar.update(1, "second")  # within the interval: quiet
        bar.message("an event")
        bar.update(1, "last")  # the last step prints
    text = stream.getvalue()
    assert not ESCAPE.search(text)
    lines = text.splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    assert "2/4" in lines[0] and "first" in lines[0] and "ETA" in lines[0]
    assert "an event" in lines[1] and "4/4 100%" in lines[2] and len(lines) == 3
    assert bar.eta() == 0.0


def test_lines_mode_ticks_while_busy():
    """One long step (a 2D point, meshing) still gives a line every interval."""
    stream = io.StringIO()
    with Progress("sweep", 2, stream=stream, mode="lines", interval=0.2) as bar:
        bar.note("running point 1")
        time.sleep(0.9)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3 and all("running point 1" in line for line in lines)
    assert not ESCAPE.search(stream.getvalue())


def test_bar_mode_redraws_one_line():
    stream = Terminal()
    with Progress("sweep", 3, stream=stream, mode="bar", ticker=False) as bar:
        bar.update(1, "a")
        bar.message("step 0")
        bar.update(2, "c")
    text = stream.getvalue()
    assert text.count("\r\x1b[K") >= 3 and text.endswith("\n")
    assert "[########################] sweep: 3/3 100%" in text
    assert "\nstep 0\n" not in text and "\x1b[Kstep 0\n" in text  # the event above the bar


def test_off_and_other_ranks_print_nothing():
    stream = io.StringIO()
    with Progress("sweep", 2, stream=stream, mode="off") as bar:
        bar.update(2, "x")
        bar.message("y")
    configure("lines", comm=Rank(1))  # the job's rank 1
    with Progress("sweep", 2, stream=stream) as bar:
        bar.update(2, "x")
    configure("lines", comm=Rank(0))
    with Progress("sweep", 2, stream=stream, comm=Rank(1)) as bar:  # a group's rank 1
        bar.update(2, "x")
    assert stream.getvalue() == ""


def test_launcher_rank_without_configure(monkeypatch):
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    assert not progress.is_printer()
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    assert progress.is_printer()


def test_activity_alone_and_nested():
    stream = io.StringIO()
    with activity("meshing", stream=stream, mode="lines", interval=0.2):
        time.sleep(0.5)
    lines = stream.getvalue().splitlines()
    assert lines and all("meshing" in line for line in lines) and "done" in lines[-1]
    quick = io.StringIO()
    with activity("meshing", stream=quick, mode="lines", interval=5.0):
        pass
    assert quick.getvalue() == ""  # a quick step prints nothing
    outer = io.StringIO()
    with Progress("sweep", 1, stream=outer, mode="lines", ticker=False) as bar:
        with activity("meshing x") as inner:
            assert inner is bar and bar.current == "meshing x"
            message("inside")
        assert bar.current == ""
    assert "inside" in outer.getvalue() and "meshing" not in outer.getvalue()


@pytest.mark.serial
@pytest.mark.parametrize("flags", [["-q"], ["--progress", "lines"]])
def test_cli_restores_the_progress_settings(tmp_path, flags):
    """main() sets the mode for its command only: a later in-process call (a test, a script)
    finds the settings it had before."""
    from fem_sse.app.cli import main

    configure("bar", stream=io.StringIO(), interval=2.0)
    before = dict(progress._settings)
    case = ROOT / "cases" / "fig3_bilayer.toml"
    assert main(["run", str(case), "--solver", "exact", "-o", str(tmp_path / "r"), *flags]) == 0
    assert progress._settings == before
    assert main(["run", str(case), "--solver", "exact", "-o", str(tmp_path / "r"), *flags]) == 2
    assert progress._settings == before  # also after a failure (exists: exit 2)


def test_closed_stream_does_not_raise():
    stream = io.StringIO()
    bar = Progress("x", 2, stream=stream, mode="lines", ticker=False)
    stream.close()
    bar.update(1, "a")
    bar.close()
    assert bar.mode == "off"


def _sweep(tmp_path, *extra):
    return [sys.executable, "-m", "fem_sse", "sweep", str(ROOT / "cases" / "fig3_bilayer.toml"),
            "--set", "cell.mu_anode=-0.1:0.1:3", "--solver", "exact", "--no-plots",
            "-o", str(tmp_path / "s"), *extra]


def _under_pty(cmd, env):
    """stdout and stderr on a pseudo-terminal, as mpirun gives its ranks; returns the text."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=follower, stderr=follower, env=env, cwd=ROOT)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=120) == 0
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.serial
def test_cli_sweep_output_by_destination(tmp_path):
    """A pipe or file gets plain lines; a pty gets the bar, unless an MPI launcher started
    the process (its pty ends in a log); --progress off is silent."""
    env = {k: v for k, v in os.environ.items()
           if k not in (*progress.LAUNCHER_VARS, *progress.RANK_VARS, progress.ENV_MODE)}
    env["TERM"] = "xterm"
    piped = subprocess.run(_sweep(tmp_path), capture_output=True, text=True, env=env,
                           cwd=ROOT, check=True)
    assert not ESCAPE.search(piped.stdout) and "sweep: 3/3 100%" in piped.stdout
    assert any(STAMP.match(line) for line in piped.stdout.splitlines())
    with open(tmp_path / "log.txt", "w") as log:
        subprocess.run(_sweep(tmp_path, "-o", str(tmp_path / "f")), stdout=log, env=env,
                       cwd=ROOT, check=True)
    assert not ESCAPE.search((tmp_path / "log.txt").read_text())
    assert "\x1b[K" in _under_pty(_sweep(tmp_path, "-o", str(tmp_path / "t")), env)
    launched = _under_pty(_sweep(tmp_path, "-o", str(tmp_path / "m")),
                          {**env, "OMPI_COMM_WORLD_SIZE": "1"})
    assert "\x1b" not in launched and "sweep: 3/3 100%" in launched
    quiet = subprocess.run(_sweep(tmp_path, "-o", str(tmp_path / "q"), "--progress", "off"),
                           capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert "sweep:" not in quiet.stdout and "wrote" in quiet.stdout


def _many_grains(folder):
    """The shipped polycrystal with 400 grains: its meshing takes long enough (1.8 s on an idle
    machine) for lines at 0.1 s intervals; the shipped 2D cases mesh in 0.07-0.3 s, so a
    line appeared only when the machine was loaded."""
    text = (ROOT / "cases" / "2d" / "poly_single.toml").read_text()
    assert "count = 40, seed = 5" in text
    path = folder / "poly400.toml"
    path.write_text(text.replace("count = 40, seed = 5", "count = 400, seed = 5"))
    return path


@pytest.mark.serial
def test_cli_design_and_meshing_report_in_a_log(tmp_path):
    """Issue 18: ``design`` was silent for 5-24 s and meshing many grains for minutes. Written
    to a file (a batch log), both give timestamped lines without escape codes."""
    env = {k: v for k, v in os.environ.items()
           if k not in (*progress.LAUNCHER_VARS, *progress.RANK_VARS, progress.ENV_MODE)}
    env[progress.ENV_INTERVAL] = "0.1"  # s: a line per interval even for these short runs
    commands = {
        "design map:": ["design", str(ROOT / "cases" / "design" / "bilayer_fig5.toml"), "--vary",
                        "materials.SE_anodic.B=-0.9:-0.4", "--vary", "cell.mu_anode=0:0.2",
                        "--points", "8", "-o", str(tmp_path / "d")],
        "meshing 2d_poly_single:": [
            "mesh", str(_many_grains(tmp_path)), "-o", str(tmp_path / "m.msh")]}
    for needle, argv in commands.items():
        with open(tmp_path / "log.txt", "w") as log:
            subprocess.run([sys.executable, "-m", "fem_sse", *argv], stdout=log, env=env,
                           cwd=tmp_path, check=True, timeout=300)
        text = (tmp_path / "log.txt").read_text()
        lines = [line for line in text.splitlines() if needle in line]
        assert lines and all(STAMP.match(line) for line in lines), text[-2000:]
        assert not ESCAPE.search(text), text[-2000:]


@pytest.mark.mpi
def test_only_rank_zero_prints(comm):
    """Under MPI every rank runs the same code; only rank 0 writes."""
    configure("lines", comm=comm)
    stream = io.StringIO()
    with Progress("sweep", 2, comm=comm, stream=stream, ticker=False) as bar:
        bar.update(2, "x")
        bar.message("event")
    with activity("meshing", stream=stream, interval=0.0):
        time.sleep(0.05)
    counts = comm.allgather(len(stream.getvalue()))
    assert counts[0] > 0 and all(c == 0 for c in counts[1:])
