"""Ctrl-C and SIGTERM (issue 18): one line, exit 130 / 143, no traceback, no ``.partial``
folder, the output folder as before or complete, no user file touched. The signal lands at a
seeded random moment of a small FEM sweep (start-up, solving, writing)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_robust_output import snapshot

ROOT = Path(__file__).parent.parent
CASE = ROOT / "cases" / "fig3_bilayer.toml"
SWEEP = ["-m", "fem_sse", "sweep", str(CASE), "--set", "cell.mu_anode=0,0.05,0.1,0.15",
         "--solver", "fem", "--no-plots", "-q", "-o", "out/sw"]
RUN = ["-m", "fem_sse", "run", str(ROOT / "cases" / "fig4c_bilayer_bottlenecks.toml"), "-q",
       "-o", "out/run", "--overwrite"]

pytestmark = pytest.mark.serial


def _user_tree(folder: Path) -> None:
    for name in ("mydata/a.txt", "out/other/f.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("mine")


def _interrupt(folder: Path, args, signum: int, delay_s: float):
    proc = subprocess.Popen([sys.executable, *args], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    time.sleep(delay_s)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _check_after(folder: Path, before: dict, code: int, err: str, signum: int) -> None:
    assert "Traceback" not in err, err
    if code == -signum and not err:
        # the signal came before Python installed its handler (interpreter start-up, slow
        # under load): the default action ended the process before fem-sse wrote anything
        code = 0
    if code != 0:
        lines = err.strip().splitlines()
        assert code == 128 + signum, err
        assert len(lines) == 1 and lines[0].startswith(
            f"fem-sse: error: interrupted by {signal.Signals(signum).name}"), err
    after = snapshot(folder, times=True)  # the user's files: bytes and modification times
    assert {k: v for k, v in after.items() if k in before} == before
    assert not [p for p in folder.rglob("*partial*")], sorted(after)
    for summary in folder.glob("out/*/**/summary.json"):  # what exists is complete
        assert json.loads(summary.read_text())["converged"] is True


@pytest.mark.parametrize("seed", [3, 4, 5, 6, 7])
def test_sigint_during_a_sweep(tmp_path, seed):
    rng = random.Random(seed)
    _user_tree(tmp_path)
    before = snapshot(tmp_path, times=True)
    code, err = _interrupt(tmp_path, SWEEP, signal.SIGINT, rng.uniform(0.5, 4.0))
    _check_after(tmp_path, before, code, err, signal.SIGINT)
    # the rerun resumes and finishes the sweep
    proc = subprocess.run([sys.executable, *SWEEP], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "out" / "sw" / "results.csv").read_text().splitlines()) == 5


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_run_keeps_the_previous_result(tmp_path, signum):
    rng = random.Random(int(signum))
    _user_tree(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, *RUN], cwd=tmp_path, check=True, timeout=300, env=env,
                   capture_output=True)
    result = snapshot(tmp_path / "out" / "run", times=True)
    before = {k: v for k, v in snapshot(tmp_path, times=True).items()  # the user's
              if not k.startswith(os.path.join("out", "run"))}
    code, err = _interrupt(tmp_path, RUN, signum, rng.uniform(1.0, 2.5))
    _check_after(tmp_path, before, code, err, signum)
    if code != 0:  # the previous result, untouched (0: the new one, published in time)
        assert snapshot(tmp_path / "out" / "run", times=True) == result


def test_interrupted_maps_to_exit_code_and_one_line():
    from fem_sse.errors import Interrupted, exit_code, one_line

    assert exit_code(KeyboardInterrupt()) == 130
    assert exit_code(Interrupted(signal.SIGTERM)) == 143
    assert "\n" not in one_line(Interrupted(signal.SIGINT))
    assert not isinstance(Interrupted(), Exception)  # no `except Exception` swallows it


def test_ctrl_c_at_start_up_is_one_line(monkeypatch, capsys):
    """Until main() has set fem-sse's handlers a Ctrl-C is Python's KeyboardInterrupt: raised
    there (here: while the handlers are being set) it still ends as one line and exit 130, and
    importing the command's module imports nothing that would widen that window (a Ctrl-C
    0.03-0.14 s after start printed Python's traceback)."""
    import fem_sse.errors
    from fem_sse.app.cli import main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(fem_sse.errors, "interruptible", interrupted)
    assert main(["info"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted by SIGINT (Ctrl-C)" in err[0], err
    probe = ("import sys; import fem_sse.app.cli; print(sorted(m for m in sys.modules if m in "
             "('argparse', 'typing', 'fem_sse.errors', 'fem_sse.app.commands')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


_BLOCKED = """
import ctypes, sys
from fem_sse.errors import abortable, interruptible

libc = ctypes.CDLL(None)
mutex = ctypes.create_string_buffer(64)  # a pthread_mutex_t, locked twice: blocks for good,
libc.pthread_mutex_init(mutex, None)     # through signals (as Gmsh's meshing does for minutes)
libc.pthread_mutex_lock(mutex)
with interruptible():
    with ({block}):
        print("blocked", flush=True)
        libc.pthread_mutex_lock(mutex)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_inside_compiled_code_ends_an_abortable_block(signum):
    """Gmsh meshing many grains stays in C++ for minutes, where Python cannot run its signal
    handler: a Ctrl-C waited for the meshing to end. Inside fem_sse.errors.abortable (around
    the mesh build, before anything is written) the signal ends the process after a grace
    period with the one line and 130 / 143; outside it, the process stays blocked."""
    from fem_sse.errors import ABORT_GRACE_S

    for block, ends in (("abortable()", True), ("open('/dev/null')", False)):
        proc = subprocess.Popen([sys.executable, "-c", _BLOCKED.format(block=block)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout.readline().strip() == "blocked"
        syscall = Path(f"/proc/{proc.pid}/syscall")  # the main thread's: wait until it is in
        for _ in range(500):                          # futex (202 on x86-64, 98 on arm64)
            if syscall.read_text().split()[0] in ("202", "98"):
                break
            time.sleep(0.01)
        proc.send_signal(signum)
        try:
            err = proc.communicate(timeout=60 if ends else 5 * ABORT_GRACE_S)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            assert not ends, f"{block}: still blocked after the signal"
            continue
        assert ends, f"{block}: ended ({proc.returncode})"
        lines = err.strip().splitlines()
        assert proc.returncode == 128 + signum and len(lines) == 1, (proc.returncode, err)
        assert lines[0].startswith(f"fem-sse: error: interrupted by {signal.Signals(signum).name}")


def test_signal_during_imports_is_held_until_after_them():
    from fem_sse.errors import Interrupted, deferred_interrupts, interruptible

    steps = []
    with pytest.raises(Interrupted) as info, interruptible():
        with deferred_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("held")  # not interrupted inside the block
        steps.append("not reached")
    assert steps == ["held"] and info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


@pytest.mark.serial
def test_ctrl_c_after_the_result_is_published_comes_too_late(tmp_path):
    """Inside a command, an interrupt from the publication of the result on is ignored (the
    result is whole, so "the output folder is as it was" would be wrong); before it, it stops
    the command and nothing is published. Outside a command the handlers are not touched."""
    from fem_sse.errors import Interrupted, interruptible, result_published
    from fem_sse.io.outputs import output_directory
    from mpi4py import MPI

    comm = MPI.COMM_SELF
    with interruptible():
        with pytest.raises(Interrupted):
            with output_directory(tmp_path / "cut", comm) as folder:
                (folder / "summary.json").write_text("{}")
                signal.raise_signal(signal.SIGINT)
        with output_directory(tmp_path / "done", comm) as folder:
            (folder / "summary.json").write_text("{}")
        signal.raise_signal(signal.SIGINT)  # after publication: ignored
        signal.raise_signal(signal.SIGTERM)
    assert not (tmp_path / "cut").exists() and not (tmp_path / "cut.partial").exists()
    assert (tmp_path / "done" / "summary.json").read_text() == "{}"
    before = signal.getsignal(signal.SIGINT)
    with result_published():
        pass
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.serial
def test_ctrl_c_inside_a_finaliser_is_delivered_again(capsys):
    """A signal handled while garbage collection runs a finaliser (DOLFINx/PETSc objects) must
    still stop the command: Python drops exceptions raised in finalisers (with a traceback on
    stderr), so the interruption is delivered again to the code that runs next."""
    import gc
    import weakref

    from fem_sse.errors import Interrupted, interruptible

    class Resource:
        pass

    def finaliser():
        signal.raise_signal(signal.SIGTERM)
        sum(range(1000))  # the handler runs here, inside the finaliser

    with interruptible():
        with pytest.raises(Interrupted) as caught:
            resource = Resource()
            weakref.finalize(resource, finaliser)
            del resource
            gc.collect()
            time.sleep(1.0)  # ... and is delivered again here (sleep is cut short)
    assert caught.value.signum == signal.SIGTERM
    assert "Traceback" not in capsys.readouterr().err
