"""Application layer: the ``fem-sse`` commands (cli, run, studies, design, restart, view) and
what only commands need (logging on the leader rank)."""
