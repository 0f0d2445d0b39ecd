"""Log records on the ranks that should print them.

Under MPI every rank runs the same code, so a warning decided from globally reduced numbers
(a cap stop, a flagged result) would print once per rank. Only the *leader* prints records
below ERROR: rank 0 of the job, and in a sweep with ``--ranks-per-run`` rank 0 of each group
(a warning about a point is known to its group only). Errors print on every rank: a failure
seen by one rank alone must not be lost.
"""

from __future__ import annotations

import logging

__all__ = ["configure_logging", "set_leader"]

FORMAT = "%(levelname)s %(name)s: %(message)s"


class _LeaderFilter(logging.Filter):
    leader = True

    def filter(self, record: logging.LogRecord) -> bool:
        return self.leader or record.levelno >= logging.ERROR


_FILTER = _LeaderFilter()


def configure_logging(level: str, rank: int) -> None:
    """Root logging at ``level`` (a name such as "INFO") to stderr, below ERROR on the leader
    only (above). Handlers an embedding program (or pytest) installed are left as they are."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(_FILTER)
        root.addHandler(handler)
        root.setLevel(getattr(logging, level.upper(), logging.WARNING))
    set_leader(rank == 0)


def set_leader(leader: bool) -> None:
    """Whether this process prints records below ERROR (e.g. a sweep group's rank 0)."""
    _FILTER.leader = bool(leader)
