"""Progress of long commands, in the form that suits where it prints (docs/commands/run.md).

* ``bar``: one line redrawn in place (``\\r``, erase-line), for a person at a terminal;
* ``lines``: a timestamped line at most every ``interval`` seconds (and at every event), for
  log files, ``mpirun``/Slurm output and CI: no escape codes, no carriage returns;
* ``off``: nothing.

``auto`` (the default) picks ``bar`` only when the stream is a terminal *and* the process was
not started by an MPI launcher or a batch system: ``mpirun`` hands its ranks a pseudo-terminal
even when its own output goes to a file, so ``isatty()`` alone would fill the log with one long
line of escape codes. The mode comes from the argument, else ``--progress`` (via
:func:`configure`), else ``FEM_SSE_PROGRESS``, else ``auto``.

Only one process prints: rank 0 of the job (the communicator given to :func:`configure`, else
the launcher's rank variables). Library code reports through :func:`activity` (a long step
without a count, e.g. meshing) or a :class:`Progress` (counted work); a nested activity becomes
the note of the enclosing progress instead of a second line. A ticker thread re-draws while
the main thread is busy in C code (Gmsh, PETSc release the GIL), so even one long step shows
that the program is alive; it only writes to the stream and calls no MPI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time

__all__ = ["MODES", "Progress", "activity", "clock", "configure", "configured", "is_printer",
           "message", "resolve_mode"]

MODES = ("auto", "bar", "lines", "off")
ENV_MODE = "FEM_SSE_PROGRESS"
ENV_INTERVAL = "FEM_SSE_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 5.0
#: set by MPI launchers (Open MPI, MPICH/Hydra, PMIx) and batch systems: output goes to a log
LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS",
                 "SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "CI")
#: the launcher's rank of this process, where no communicator was configured
RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID")

_settings: dict = {"mode": None, "stream": None, "interval": None, "printer": None}
_active: list[Progress] = []


def configure(mode: str | None = None, comm=None, stream=None,
              interval: float | None = None) -> None:
    """Set the process-wide defaults (the CLI calls this once).

    Args:
        mode: one of :data:`MODES` (None: ``FEM_SSE_PROGRESS`` or ``auto``).
        comm: the job's communicator: only its rank 0 prints.
        stream: where to print (default ``sys.stdout`` at print time).
        interval: seconds between lines in ``lines`` mode (default 5, or
            ``FEM_SSE_PROGRESS_INTERVAL``).
    """
    if mode is not None and mode not in MODES:
        raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
    _settings.update(mode=mode, stream=stream, interval=interval,
                     printer=None if comm is None else comm.rank == 0)


@contextlib.contextmanager
def configured(mode: str | None = None, comm=None, stream=None, interval: float | None = None):
    """:func:`configure` for the duration of a ``with`` block (one CLI command), then the
    settings from before: a command run in-process (tests, scripts calling ``main``) leaves
    no mode behind for the next one."""
    saved = dict(_settings)
    configure(mode, comm=comm, stream=stream, interval=interval)
    try:
        yield
    finally:
        _settings.clear()
        _settings.update(saved)


def _env_rank() -> int:
    for name in RANK_VARS:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def is_printer(comm=None) -> bool:
    """True on the one process that prints: rank 0 of the configured communicator (else of the
    launcher), and rank 0 of ``comm`` when given."""
    job = _settings["printer"]
    if job is None:
        job = _env_rank() == 0
    return job and (comm is None or comm.rank == 0)


def _launched() -> bool:
    return any(os.environ.get(name) for name in LAUNCHER_VARS)


def resolve_mode(mode: str | None = None, stream=None) -> str:
    """``bar``, ``lines`` or ``off`` for ``stream`` (see the module docstring)."""
    mode = mode or _settings["mode"] or os.environ.get(ENV_MODE, "").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"{ENV_MODE} must be one of {MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    stream = stream or _settings["stream"] or sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a file
        tty = False
    dumb = os.environ.get("TERM", "") in ("", "dumb")
    return "bar" if tty and not dumb and not _launched() else "lines"


def _interval() -> float:
    if _settings["interval"] is not None:
        return float(_settings["interval"])
    try:
        return max(0.1, float(os.environ.get(ENV_INTERVAL, DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


def clock(seconds: float) -> str:
    """``H:MM:SS``."""
    minutes, sec = divmod(int(round(max(seconds, 0.0))), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{sec:02d}"


class Progress:
    """Counted (``total``) or open-ended (``total=None``) progress of one task.

    Args:
        label: what is running ("sweep", "design map", "meshing").
        total: number of steps, or None.
        done: steps already done (e.g. cached sweep points): the ETA counts only the others.
        comm: only its rank 0 (and the job's rank 0) prints; None: the job's rank 0.
        mode, stream, interval: override :func:`configure`.
        ticker: re-draw from a thread while the caller is busy (off in tests).
    """

    def __init__(self, label: str, total: int | None = None, done: int = 0, comm=None,
                 mode: str | None = None, stream=None, interval: float | None = None,
                 width: int = 24, ticker: bool = True):
        self.label, self.total, self.done, self.first, self.width = label, total, done, done, width
        self.stream = stream or _settings["stream"] or sys.stdout
        self.mode = resolve_mode(mode, self.stream) if is_printer(comm) else "off"
        self.interval = interval if interval is not None else _interval()
        self.start = time.perf_counter()
        self.shown = self.start  # time of the last line (lines mode): the first after interval
        self.current = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._drawn = False  # bar mode: a bar is on the screen
        self._lines_done = None  # lines mode: ``done`` at the last line (None: no line yet)
        if self.mode != "off" and ticker:
            self._thread = threading.Thread(target=self._tick, daemon=True,
                                            name="fem_sse-progress")
            self._thread.start()

    # -- numbers ------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def eta(self) -> float | None:
        """Seconds left at the mean pace of the steps done here (None before the first)."""
        computed = self.done - self.first
        if self.total is None or computed <= 0:
            return None
        return self.elapsed() / computed * (self.total - self.done)

    def status(self) -> str:
        """The progress text without decoration (``12/81 15% 0:00:10 elapsed, ETA ...``)."""
        elapsed = clock(self.elapsed())
        if self.total is None:
            count = f"{self.done} done, " if self.done else ""
            text = f"{count}{elapsed} elapsed"
        else:
            eta = self.eta()
            frac = self.done / self.total if self.total else 1.0
            text = (f"{self.done}/{self.total} {100 * frac:3.0f}% {elapsed} elapsed, ETA "
                    f"{clock(eta) if eta is not None else '?'}")
        return text + (f" | {self.current}" if self.current else "")

    # -- drawing ------------------------------------------------------------------------------
    def _bar(self) -> str:
        if self.total:
            filled = int(round(self.done / self.total * self.width))
            body = "#" * filled + "." * (self.width - filled)
        else:  # open-ended: a block moving back and forth
            pos = int(self.elapsed() * 4) % (2 * self.width - 6)
            pos = pos if pos < self.width - 3 else 2 * self.width - 6 - pos
            body = "." * pos + "###" + "." * (self.width - 3 - pos)
        return f"[{body}] {self.label}: {self.status()}"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop a solve
            self.mode = "off"

    def _draw(self, force: bool = False) -> None:
        """Caller holds the lock. Bar: redraw; lines: a line if forced or ``interval`` passed."""
        now = time.perf_counter()
        if self.mode == "bar":  # cut to the terminal's width: a wrapped line cannot be redrawn
            self._write("\r\033[K" + self._bar()[:shutil.get_terminal_size().columns - 1])
            self._drawn = True
        elif self.mode == "lines" and (force or now - self.shown >= self.interval):
            self.shown, self._lines_done = now, self.done
            self._write(f"{time.strftime('%H:%M:%S')} {self.label}: {self.status()}\n")

    def _tick(self) -> None:
        step = 1.0 if self.mode == "bar" else min(1.0, max(0.05, self.interval / 5.0))
        while not self._stop.wait(step):
            with self._lock:
                if self.mode != "off":
                    self._draw()

    # -- API ----------------------------------------------------------------------------------
    def update(self, advance: int = 1, note: str | None = None) -> None:
        """``advance`` more steps done; ``note`` says the latest (shown with the status). The
        first and the last step always print a line."""
        with self._lock:
            self.done += advance
            if note is not None:
                self.current = note
            edge = self.done - advance == self.first or self.done == self.total
            self._draw(force=edge)

    def note(self, text: str) -> None:
        """What runs now (shown with the next line or redraw)."""
        with self._lock:
            self.current = text

    def message(self, text: str) -> None:
        """A one-off event line (e.g. an adaptive refinement step), timestamped in lines mode;
        on a terminal printed above the bar."""
        with self._lock:
            if self.mode == "lines":
                self._write(f"{time.strftime('%H:%M:%S')} {self.label}: {text}\n")
                self.shown, self._lines_done = time.perf_counter(), self.done
            elif self.mode == "bar":
                self._write(("\r\033[K" if self._drawn else "") + text + "\n")
                self._draw()

    def close(self, note: str | None = None) -> None:
        """Stop the ticker; end the bar's line, or in lines mode a last line when a line was
        printed before and something changed since (more steps done, or ``note``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if note is not None:
                self.current = note
            if self.mode == "bar" and self._drawn:
                self._draw()
                self._write("\n")
            elif self.mode == "lines" and self._lines_done is not None and (
                    note is not None or self.done != self._lines_done):
                self._draw(force=True)
            self.mode = "off"

    def __enter__(self) -> Progress:
        _active.append(self)
        return self

    def __exit__(self, kind, *exc) -> None:
        _active.remove(self)
        self.close(None if kind is None or self.total is not None else "stopped")


@contextlib.contextmanager
def activity(label: str, comm=None, **kwargs):
    """Report a long step without a count (meshing, a solve): inside a running
    :class:`Progress` it becomes that one's note; otherwise its own lines (the first after
    ``interval`` s, so quick steps print nothing) or a moving bar. Yields the Progress or None."""
    if _active:
        outer = _active[-1]
        before = outer.current
        outer.note(label)
        try:
            yield outer
        finally:
            outer.note(before)
        return
    progress = Progress(label, None, comm=comm, **kwargs)
    with progress:
        yield progress
        progress.close("done")  # lines mode: a closing line only if one was printed


def message(text: str, comm=None) -> None:
    """An event line: through the innermost running :class:`Progress` (above its bar,
    timestamped in lines mode, dropped when it is off), else printed by the printing rank."""
    if _active:
        _active[-1].message(text)
    elif is_printer(comm):
        print(text, flush=True)
