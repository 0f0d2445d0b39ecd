"""Exception types, exit codes and error reporting of the ``fem-sse`` commands.

Every exception type of the package is defined here (ConfigError, OutputError, MeshError,
SolveError, ConvergenceError, Interrupted), so that the exit code of each is decided in one
place (:func:`exit_code`) and no layer imports a higher one to recognise an error.

Every failure ends as one line on stderr and a documented exit code (docs/robustness.md):

=====  ==========================================================================
code   meaning
=====  ==========================================================================
0      success
1      internal error (a bug: please report it; ``-v`` shows the traceback)
2      invalid input: config, TOML, mesh file, command-line values
3      the solver did not converge (it could not): the output folder holds the last
       good state with ``"converged": false`` and a diagnosis in ``summary.json``
4      no steady state with 0 < t_Li < 1 exists (the exact 1D solver's verdict, also
       for FEM runs): ``summary.json`` with ``"steady_state": false`` and the reason
130    interrupted by Ctrl-C (SIGINT); 143 for SIGTERM (128 + the signal number)
=====  ==========================================================================

Under MPI an error must stop every rank, and its message must appear once. An error raised
on all ranks (a config error, a non-converged solve: both follow collective operations) is
printed by rank 0 and every rank returns the code. An error on some ranks only is printed by
the failing rank, which then aborts the job (``MPI_Abort``): the other ranks may be waiting in
a collective that will never complete. The two cases are told apart by a non-blocking barrier
on a private duplicate of the communicator, which only failing ranks enter.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time

from fem_sse.failures import Diagnosis

__all__ = ["EXIT_CONFIG", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_NOT_CONVERGED",
           "EXIT_NO_STEADY_STATE", "EXIT_OK", "ConfigError", "ConvergenceError", "ErrorReporter",
           "Interrupted", "MeshError", "OutputError", "SolveError", "abortable",
           "deferred_interrupts",
           "exit_code", "interruptible", "one_line", "result_published"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_CONFIG = 2
EXIT_NOT_CONVERGED = 3
EXIT_NO_STEADY_STATE = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM gives 143

#: Seconds a failing rank waits for the other ranks to fail too before it aborts the job.
COLLECTIVE_WAIT_S = 2.0


class ConfigError(ValueError):
    """Invalid configuration; the message is one line and names the key (exit 2)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message

    def __reduce__(self):
        return type(self), (self.key, self.message)


class OutputError(ConfigError):
    """An output path that would touch files fem-sse does not own (an input error: exit 2)."""


class MeshError(ConfigError):
    """A mesh (built or read) that breaks the naming convention; one line naming the group."""


class SolveError(RuntimeError):
    """No steady state could be found (with a one-line diagnosis; exit 4).

    Attributes:
        diagnosis: a :class:`~fem_sse.failures.Diagnosis`; the run layer adds ``outdir``, the
            folder its summary was written to, and ``reason``, the message, to the summary's.
    """

    def __init__(self, message: str, diagnosis: Diagnosis | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis if diagnosis is not None else Diagnosis()


class ConvergenceError(RuntimeError):
    """Newton or continuation failed; ``diagnosis`` says where and how.

    Attributes:
        diagnosis: a :class:`~fem_sse.failures.Diagnosis`: last residuals, continuation stage
            and parameter, where the residual concentrates (the solvers fill it); the run
            layer adds ``outdir``, the folder the last good state and the diagnosis were
            written to.

    The last good state itself is not carried: the solver hands it to the writers in a
    :class:`~fem_sse.transport.results.LastGoodState` (``keep=``).
    """

    def __init__(self, message: str, diagnosis: Diagnosis | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis if diagnosis is not None else Diagnosis()


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived (:func:`interruptible`). A KeyboardInterrupt, so that no
    ``except Exception`` swallows it, while every ``finally`` and context manager still runs
    (the ``.partial`` folder of :func:`fem_sse.io.outputs.output_directory` is removed)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


#: Ctrl-C passed on through ``mpirun`` (fem_sse.app.mpirun: Open MPI forwards SIGUSR2 to every
#: rank but handles SIGINT itself): handled as SIGINT
LAUNCHER_CTRL_C = signal.SIGUSR2
#: Seconds after which an interruption that a finaliser swallowed is delivered again.
REDELIVER_S = 0.01
_SIGNALS = (signal.SIGINT, signal.SIGTERM, LAUNCHER_CTRL_C)


#: set when an interruption was raised (:func:`interruptible`): from then on an object it cut
#: short in its ``__init__`` may fail in its finaliser (DOLFINx 0.11, a ``la.Vector`` without
#: ``_petsc_x``), which is the interruption's doing, not an error to print as a traceback
_INTERRUPTED = threading.Event()


def _raise_interrupted(signum, frame):
    for sig in _SIGNALS:  # one interruption: the clean-up it starts is not cut short
        signal.signal(sig, signal.SIG_IGN)
    _INTERRUPTED.set()
    raise Interrupted(signal.SIGINT if signum == LAUNCHER_CTRL_C else signum)


@contextlib.contextmanager
def interruptible():
    """SIGINT (Ctrl-C), SIGTERM and :data:`LAUNCHER_CTRL_C` raise :class:`Interrupted` inside
    the block (the previous handlers are restored on exit). Under a bare ``mpirun``, Open MPI
    handles Ctrl-C itself: it sends SIGTERM to every rank (which then cleans up here) and exits
    with 1; under :mod:`fem_sse.app.mpirun` (``docker/run mpirun``) Ctrl-C reaches the ranks
    as :data:`LAUNCHER_CTRL_C`: one line, exit 130."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (fem_sse.app.cli.main called from a thread)
        return
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    previous_hook = sys.unraisablehook
    _INTERRUPTED.clear()
    for sig in _SIGNALS:
        signal.signal(sig, _raise_interrupted)
    sys.unraisablehook = functools.partial(_redeliver_unraisable, previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _redeliver_unraisable(previous_hook, unraisable) -> None:
    """``sys.unraisablehook`` inside :func:`interruptible`. A signal whose handler runs inside
    a finaliser (a weakref callback or ``__del__`` during garbage collection: DOLFINx and PETSc
    objects) raises :class:`Interrupted` where Python cannot propagate it: Python would print
    a traceback and drop the interruption, and the run would go on to the end. The signal is
    delivered again instead, a moment later from another thread (delivered here it would be
    handled inside this hook), so that it lands in the code that runs next."""
    exc = unraisable.exc_value
    if not isinstance(exc, Interrupted) and _INTERRUPTED.is_set():
        return  # a finaliser of an object the interruption left half-built (_INTERRUPTED)
    if (not isinstance(exc, Interrupted)
            or threading.current_thread() is not threading.main_thread()):
        previous_hook(unraisable)
        return
    for sig in _SIGNALS:
        signal.signal(sig, _raise_interrupted)
    again = threading.Timer(REDELIVER_S, os.kill, (os.getpid(), exc.signum))
    again.daemon = True
    again.start()


@contextlib.contextmanager
def deferred_interrupts():
    """SIGINT and SIGTERM arriving inside the block are held and raised (as
    :class:`Interrupted`, when :func:`interruptible` is active) after it: while C extensions are
    imported an exception must not be raised (nanobind's module initialisation aborts the
    process; DOLFINx's import check turns it into an ImportError)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    for sig in _SIGNALS:
        signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    if pending and callable(previous[pending[0]]):
        previous[pending[0]](pending[0], None)
    elif pending and previous[pending[0]] == signal.SIG_DFL:
        signal.raise_signal(pending[0])


#: Seconds a signal that arrived inside :func:`abortable` may wait for Python's handler.
ABORT_GRACE_S = 1.0


@contextlib.contextmanager
def abortable():
    """A long call into compiled code during which Python cannot run its signal handlers
    (Gmsh meshing a polycrystal: minutes, and a Ctrl-C waited for its end). Under
    :func:`interruptible`, a SIGINT/SIGTERM that Python has not handled
    :data:`ABORT_GRACE_S` after it arrived ends the process from a watcher thread with the same
    one line and exit code. Only around work before which fem-sse has written nothing (no
    ``.partial`` folder, no temporary file): ending there leaves the disk as it was."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not _raise_interrupted):
        yield
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)  # the C handler's byte
    lock, state = threading.Lock(), {"inside": True}
    watcher = threading.Thread(target=_watch, args=(read, lock, state), daemon=True)
    watcher.start()
    try:
        yield
    finally:
        with lock:
            state["inside"] = False
        signal.set_wakeup_fd(previous)
        os.write(write, b"\0")  # wake the watcher
        watcher.join()
        os.close(read)
        os.close(write)


def _watch(read: int, lock, state: dict) -> None:
    """:func:`abortable`'s watcher: the first signal byte, then the grace period; still inside
    the block (Python's handler has not run, or the block would have ended): one line, exit."""
    signums = []
    while not signums:
        data = os.read(read, 64)
        if 0 in data:  # the block ended (abortable's wake-up byte)
            return
        signums = [b for b in data if b in _SIGNALS]
    time.sleep(ABORT_GRACE_S)
    with lock:  # held to the end: the block cannot end (and go on to write) meanwhile
        if not state["inside"]:
            return
        exc = Interrupted(signal.SIGINT if signums[0] == LAUNCHER_CTRL_C else signums[0])
        print(f"fem-sse: error: {one_line(exc)}", file=sys.stderr, flush=True)
        os._exit(exit_code(exc))


@contextlib.contextmanager
def result_published():
    """Publish the command's result inside the block: SIGINT, SIGTERM and
    :data:`LAUNCHER_CTRL_C` arriving in it or after it (until :func:`interruptible` ends) are
    ignored. A result folder is thus either published whole or not at all, and the Ctrl-C
    line ("the output folder is as it was before the run", exit 130) is never printed beside a
    new, complete result: an interrupt that comes after the work is done comes too late to
    stop it (the command ends as it would have, e.g. exit 0)."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is _raise_interrupted):  # else: not ours to set
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
    yield


def exit_code(exc: BaseException) -> int:
    """The exit code of an exception (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return 128 + getattr(exc, "signum", signal.SIGINT)
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, SolveError):
        return EXIT_NO_STEADY_STATE
    if isinstance(exc, ConvergenceError):
        return EXIT_NOT_CONVERGED
    return EXIT_INTERNAL


def one_line(exc: BaseException) -> str:
    """The user-facing message of an exception: one line, prefixed by its kind."""
    code = exit_code(exc)
    if isinstance(exc, KeyboardInterrupt):
        name = signal.Signals(code - 128).name
        return (f"interrupted by {name}{' (Ctrl-C)' if name == 'SIGINT' else ''}: the output "
                "folder is as it was before the run (a sweep keeps its finished points); rerun "
                "the command to start again")
    text = " ".join(str(exc).split()) or type(exc).__name__
    if code == EXIT_CONFIG:
        return f"{'output' if isinstance(exc, OutputError) else 'config'} error: {text}"
    if code == EXIT_NO_STEADY_STATE:
        where = exc.diagnosis.outdir
        return f"{text}" + (f" (summary in {where}/summary.json)" if where else "")
    if code == EXIT_NOT_CONVERGED:
        where = exc.diagnosis.outdir
        good = exc.diagnosis.good_state
        what = "last good state and diagnosis" if good else "diagnosis"
        tail = f" ({what} in {where}/summary.json)" if where else ""
        return f"not converged: {text}{tail}"
    return f"internal error: {type(exc).__name__}: {text} (run with -v for the traceback)"


class ErrorReporter:
    """Turns an exception into one printed line and an exit code, once per MPI job.

    Create it collectively (it duplicates the communicator) before the work starts::

        reporter = ErrorReporter(comm)
        try:
            return work()
        except Exception as exc:
            return reporter.fail(exc)

    Args:
        comm: the job's communicator (mpi4py), or None in a process without MPI.
        stream: where the message goes (stderr).
        prefix: start of the printed line.
        wait_s: how long a failing rank waits for the others before aborting (s).
    """

    def __init__(self, comm=None, stream=None, prefix: str = "fem-sse: error",
                 wait_s: float = COLLECTIVE_WAIT_S):
        self.comm = comm
        self.stream = stream
        self.prefix = prefix
        self.wait_s = wait_s
        self._private = comm.Dup() if comm is not None and comm.size > 1 else None

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stderr, flush=True)

    def _all_failed(self) -> bool:
        """True when every rank reaches :meth:`fail` within ``wait_s`` (no other rank can:
        the barrier lives on a private communicator that only failing ranks use)."""
        request = self._private.Ibarrier()
        deadline = time.monotonic() + self.wait_s
        while not request.Test():
            if time.monotonic() > deadline:
                return False  # the request is left pending: the job is about to be aborted
            time.sleep(0.01)
        return True

    def fail(self, exc: BaseException) -> int:
        """Print ``exc`` once for the whole job and return its exit code; abort the job when
        only some ranks failed (does not return then)."""
        code = exit_code(exc)
        message = one_line(exc)
        if self._private is None:
            self._print(f"{self.prefix}: {message}")
            return code
        if self._all_failed():
            if self.comm.rank == 0:
                self._print(f"{self.prefix}: {message}")
            return code
        self._print(f"{self.prefix} (rank {self.comm.rank} of {self.comm.size}): {message}")
        self.comm.Abort(code)
        return code  # not reached

    def close(self) -> None:
        """Free the private communicator (collective; only after a successful run)."""
        if self._private is not None:
            self._private.Free()
            self._private = None
