"""Child processes started from inside an MPI job (pvbatch, pyvista checks).

A child must not inherit what the MPI runtime did to this process: the launcher's variables (a
child that initialises MPI would try to join this job and wait for, or abort on, the launcher),
and signal dispositions. (fem_sse's own PNGs use matplotlib and need no display.) Children that
need one (pvbatch) get their own Xvfb, started with
``-displayfd`` so that the display number is known exactly when the server is ready
(``xvfb-run -a`` raced on its display number). On a loaded machine VTK's XOpenDisplay still
fails now and then ("bad X server connection", seen in 1 of 4 pvbatch runs against one
long-lived Xvfb at load 8 on 2 cores); such a start is retried.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
from contextlib import contextmanager

__all__ = ["launcher_free_env", "run_child", "virtual_display"]

_LAUNCHER_PREFIXES = ("OMPI_", "PMIX_", "PRTE_", "HYDRA_", "PMI_", "MPI_")
_DISPLAY_ATTEMPTS = 5


def launcher_free_env() -> dict:
    """os.environ without the MPI launcher's variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_PREFIXES)}


def _default_signals() -> None:  # runs in the child, between fork and exec
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)


@contextmanager
def virtual_display(timeout: float = 60.0):
    """Yield the DISPLAY (":N") of a private Xvfb server, stopped on exit."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten",
         "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=launcher_free_env(), preexec_fn=_default_signals)
    os.close(write_fd)
    try:
        number = b""
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], timeout)
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                raise RuntimeError("Xvfb did not start (is the xvfb package installed?)")
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_fd)
        server.terminate()
        server.wait(timeout=30)


def run_child(command: list[str], timeout: float = 300.0,
              display: bool = False) -> subprocess.CompletedProcess:
    """Run ``command`` (captured text output) with a clean environment and signal state;
    ``display``: give it an X display (a private Xvfb when there is none)."""
    env = launcher_free_env()
    if not display or env.get("DISPLAY"):
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=env, preexec_fn=_default_signals)
    with virtual_display() as name:
        for _ in range(_DISPLAY_ATTEMPTS):
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env={**env, "DISPLAY": name}, preexec_fn=_default_signals)
            if done.returncode == 0 or "bad X server connection" not in done.stderr:
                break
        return done
