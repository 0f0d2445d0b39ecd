"""Ctrl-C for an MPI job: one line and exit status 130, as without ``mpirun``.

    python3 -m fem_sse.app.mpirun mpirun -n 2 fem-sse run CASE.toml -o OUTDIR

(``docker/run mpirun ...`` does this by itself.) Open MPI's ``mpirun`` handles Ctrl-C on its
own: it sends SIGTERM to every rank, drops their output, prints its own abort text and exits
with 1, and it refuses to forward SIGINT (``ess_base_forward_signals``). This supervisor starts
``mpirun`` in its own session, so that the terminal's Ctrl-C reaches only the supervisor, which:

1. sends :data:`FORWARD` (SIGUSR2) to ``mpirun``; Open MPI forwards it to every rank on every
   node, and fem-sse treats it as Ctrl-C (:mod:`fem_sse.errors`): clean-up, one line from rank
   0, exit 130 on every rank;
2. from then on passes on only the first ``fem-sse: error`` line of ``mpirun``'s stderr and
   drops the launcher's text about ranks that exited non-zero or were aborted;
3. prints a line itself if no rank did (a program that is not fem-sse dies of SIGUSR2), and
   exits 130 (0 if the job finished anyway).

A second Ctrl-C sends SIGINT to ``mpirun`` (Open MPI's own stop: SIGTERM to every rank).
SIGTERM and SIGHUP to the supervisor go to ``mpirun`` as they are (exit 143 / 129). Standard
output is not touched; standard error is copied as it arrives until the first interrupt.
Standard library only: it runs before (and without) DOLFINx.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

__all__ = ["FORWARD", "main", "supervise"]

#: the signal that carries Ctrl-C through mpirun to the ranks (forwarded by Open MPI 5 and 6)
FORWARD = signal.SIGUSR2
#: seconds to wait for the rest of the launcher's stderr after it exited
JOIN_S = 10.0
#: the line fem-sse's ranks print on an interrupt (or any other error) starts with this
OURS = b"fem-sse: error"


class _Filter(threading.Thread):
    """Copies ``source`` to ``sink``; once :attr:`quiet` is set, only the first line that
    starts with :data:`OURS` gets through."""

    def __init__(self, source, sink):
        super().__init__(daemon=True)
        self.source, self.sink = source, sink
        self.quiet = threading.Event()
        self.passed = False  # a fem-sse error line went through after the interrupt
        self._buffer = b""

    def run(self) -> None:
        while chunk := os.read(self.source.fileno(), 65536):
            if not self.quiet.is_set():
                self._write(chunk)
                continue
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                if line.startswith(OURS) and not self.passed:
                    self.passed = True
                    self._write(line + b"\n")

    def _write(self, data: bytes) -> None:
        try:
            self.sink.write(data)
            self.sink.flush()
        except (OSError, ValueError):  # the terminal went away: keep draining the pipe
            pass


def supervise(argv: list[str], stderr=None) -> int:
    """Run the launcher command ``argv`` (e.g. ``["mpirun", "-n", "2", ...]``); returns the
    exit status (130 after Ctrl-C, see the module docstring)."""
    sink = stderr or sys.stderr.buffer
    try:
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        print(f"fem-sse: error: cannot start {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127 if isinstance(exc, FileNotFoundError) else 126
    relay = _Filter(proc.stderr, sink)
    relay.start()
    caught: list[int] = []

    def on_signal(signum, frame):
        first = not caught
        caught.append(signum)
        relay.quiet.set()
        if signum != signal.SIGINT:
            proc.send_signal(signum)  # SIGTERM / SIGHUP: as they are
        else:  # Ctrl-C: the ranks' own clean-up; a second one: Open MPI's stop
            proc.send_signal(FORWARD if first else signal.SIGINT)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    code = proc.wait()
    relay.join(timeout=JOIN_S)  # a process left holding the pipe must not hang us
    if not caught:
        return code if code >= 0 else 128 - code
    if code == 0:
        return 0  # it finished before the interrupt reached it
    if not relay.passed:
        name = signal.Signals(caught[0]).name
        line = (f"fem-sse: error: interrupted by {name}{' (Ctrl-C)' if name == 'SIGINT' else ''}"
                f": {os.path.basename(argv[0])} stopped the job\n")
        relay._write(line.encode())
    return 128 + caught[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python3 -m fem_sse.app.mpirun mpirun [ARGS...]", file=sys.stderr)
        return 2
    return supervise(argv)


if __name__ == "__main__":
    sys.exit(main())
