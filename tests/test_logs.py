"""Warnings print once under MPI (fem_sse.app.logs): the leader prints, the others only errors."""

import logging

from fem_sse.app import logs


def _passes(level: int) -> bool:
    record = logging.LogRecord("fem_sse.x", level, __file__, 1, "message", None, None)
    return logs._FILTER.filter(record)


def test_only_the_leader_prints_warnings():
    try:
        logs.set_leader(False)
        assert not _passes(logging.WARNING) and not _passes(logging.INFO)
        assert _passes(logging.ERROR)
        logs.set_leader(True)
        assert _passes(logging.WARNING) and _passes(logging.ERROR)
    finally:
        logs.set_leader(True)


def test_handlers_of_an_embedding_program_are_left_alone():
    root = logging.getLogger()
    before = [(h, list(h.filters)) for h in root.handlers]
    assert before  # pytest's capture handlers: no filter added to them, no handler added
    logs.configure_logging("WARNING", rank=1)
    assert [(h, list(h.filters)) for h in root.handlers] == before
    logs.set_leader(True)
