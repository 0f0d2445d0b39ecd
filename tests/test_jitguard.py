"""DOLFINx's JIT guarded against interruption (fem_sse.jitguard): a compile killed midway left
an empty ``.c`` lock in the JIT cache, and every later run needing that form failed with
"JIT compilation timed out" (an internal error) until the file was deleted by hand.

Also under ``mpirun -n 2``: the retry after removing a stale lock is collective.
"""

import os
import signal
import threading
import time
import uuid

import pytest
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI

import fem_sse.compat  # noqa: F401  (installs the guard)
from fem_sse import jitguard


def _fresh_form(comm):
    """A form no run has compiled before (a random constant in its code), with its cache."""
    msh = mesh.create_unit_interval(comm, 4)
    V = fem.functionspace(msh, ("Lagrange", 1))  # noqa: N806
    v = ufl.TestFunction(V)
    value = comm.bcast(float(uuid.uuid4().int % 10**9) + 0.5, root=0)
    return ufl.inner(value, v) * ufl.dx, jitguard._cache_dir(None)


def _compile(comm, form):
    return fem.form(form, jit_options={"timeout": 2})


@pytest.mark.mpi
def test_a_stale_lock_is_removed_and_the_form_compiled(comm, caplog):
    """An empty lock older than STALE_S (a killed compile's) on the form about to be compiled:
    the compile times out once, the guard removes the lock and compiles it."""
    form, cache = _fresh_form(comm)
    before = set(cache.glob("*.c")) if comm.rank == 0 else set()
    compiled = fem.form(form)  # compiled once to learn its module's file, then made stale
    comm.barrier()
    if comm.rank == 0:
        lock = next(iter(set(cache.glob("*.c")) - before))
        for path in cache.glob(lock.stem + ".*"):
            path.unlink()
        lock.touch()
        old = time.time() - 2 * jitguard.STALE_S
        os.utime(lock, (old, old))
    comm.barrier()
    assert compiled is not None
    with caplog.at_level("WARNING", logger="fem_sse.jitguard"):
        again = _compile(comm, form)  # a new Form object: the JIT looks the module up again
    assert again is not None
    if comm.rank == 0:
        assert any("removed 1 stale JIT lock" in r.getMessage() for r in caplog.records)
        assert lock.stat().st_size > 0 and lock.with_suffix(".c.cached").exists()


def test_a_young_lock_is_left_alone(tmp_path):
    """A lock younger than STALE_S may be a compile in progress: kept; a finished module's
    source (not empty) is never touched."""
    young, done = tmp_path / "libffcx_forms_a.c", tmp_path / "libffcx_forms_b.c"
    young.touch()
    done.write_text("int x;")
    old = time.time() - 2 * jitguard.STALE_S
    os.utime(done, (old, old))
    assert jitguard.remove_stale_locks(tmp_path) == []
    os.utime(young, (old, old))
    assert jitguard.remove_stale_locks(tmp_path) == [young] and done.exists()


@pytest.mark.serial
def test_ctrl_c_during_a_compile_waits_for_it(comm):
    """SIGINT during a compile is held until the compile ends: the KeyboardInterrupt comes
    after it, and the form's module is complete (no lock left)."""
    form, cache = _fresh_form(comm)
    before = set(cache.glob("*.c"))
    # Python's own handler, whatever this process inherited (a shell's background job starts
    # with SIGINT ignored, and Python then leaves it ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            fem.form(form)
            time.sleep(5)  # the held signal is delivered when the compile ends, before this
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    (lock,) = set(cache.glob("*.c")) - before
    assert lock.stat().st_size > 0 and lock.with_suffix(".c.cached").exists()
