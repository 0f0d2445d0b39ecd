"""DOLFINx's JIT compilation, safe against Ctrl-C and against the locks an interrupted compile
leaves behind.

FFCx marks a form it is compiling with an empty ``<module>.c`` in the JIT cache and fills it
when the C code is written. A compile stopped by Ctrl-C, SIGTERM or a kill leaves the empty file
behind (FFCx renames it only on an ``Exception``), and every later run that needs the same form
waits 10 s for a compile that never ends and fails with "JIT compilation timed out": an
"internal error" in every run of that case until someone deletes the file (seen on a fresh
machine, where the CI's signal tests interrupted the first compile of the 2D error indicator).

:func:`install` wraps ``dolfinx.jit.ffcx_jit`` once per process:

* signals that arrive during a compile are held until it ends (a compile takes seconds;
  :func:`fem_sse.errors.deferred_interrupts`), so Ctrl-C no longer leaves a lock;
* a compile that times out on a lock older than :data:`STALE_S` with nothing written in it
  (left by a process that was killed) removes that lock and compiles again, on every rank.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

__all__ = ["STALE_S", "install", "remove_stale_locks"]

log = logging.getLogger(__name__)

#: age (s) after which an empty ``.c`` lock without its ``.c.cached`` is a dead compile's:
#: FFCx writes the C code into it within seconds of creating it
STALE_S = 60.0


def remove_stale_locks(cache_dir: Path, older_than_s: float = STALE_S) -> list[Path]:
    """Remove the empty ``.c`` locks in ``cache_dir`` older than ``older_than_s`` whose compile
    never finished (no ``.c.cached``); the removed paths."""
    removed = []
    now = time.time()
    for lock in Path(cache_dir).glob("*.c"):
        try:
            stat = lock.stat()
            if (stat.st_size == 0 and now - stat.st_mtime > older_than_s
                    and not lock.with_suffix(".c.cached").exists()):
                lock.unlink()
                removed.append(lock)
        except FileNotFoundError:  # another process removed or finished it
            continue
    return removed


def _cache_dir(jit_options: dict | None) -> Path:
    """The JIT cache folder DOLFINx compiles into (its option, or the run's own)."""
    import dolfinx.jit

    return Path(dolfinx.jit.get_options(jit_options)["cache_dir"]).expanduser()


def install() -> None:
    """Wrap ``dolfinx.jit.ffcx_jit`` (see the module docstring); a second call does nothing."""
    import dolfinx.jit

    if getattr(dolfinx.jit.ffcx_jit, "fem_sse_guarded", False):
        return
    compile_ = dolfinx.jit.ffcx_jit

    @functools.wraps(compile_)
    def guarded(comm, ufl_object, form_compiler_options=None, jit_options=None):
        from fem_sse.errors import deferred_interrupts

        args = (comm, ufl_object, form_compiler_options, jit_options)
        with deferred_interrupts():
            try:
                return compile_(*args)
            except Exception as exc:
                # mpi_jit compiles on rank 0 and raises on every rank when it fails there
                removed = (remove_stale_locks(_cache_dir(jit_options))
                           if comm.rank == 0 and "timed out" in str(exc) else [])
                if not comm.bcast(bool(removed), root=0):
                    raise
                if comm.rank == 0:
                    log.warning("removed %d stale JIT lock(s) left by an interrupted compile "
                                "(%s); compiling again", len(removed), removed[0].name)
                return compile_(*args)

    guarded.fem_sse_guarded = True
    dolfinx.jit.ffcx_jit = guarded
