"""PETSc linear-solver plumbing shared by the transport and elastic solves (style rule 4).

A leaf module: a KSP whose options are set under one prefix while it reads them (a solve, or
the set-up of a KSP kept across solves) and removed afterwards, so the global options database
never keeps a solver's settings.
"""

from __future__ import annotations

import contextlib

from petsc4py import PETSc

__all__ = ["configured_ksp", "prefixed_ksp"]


@contextlib.contextmanager
def _options_under(prefix: str, options: dict):
    """``options`` in the PETSc options database under ``prefix`` for the ``with`` block."""
    database = PETSc.Options()
    for key, value in options.items():
        database[prefix + key] = value
    try:
        yield
    finally:
        for key in options:
            del database[prefix + key]


def _ksp(comm, A, prefix: str) -> PETSc.KSP:
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setOptionsPrefix(prefix)
    return ksp


def configured_ksp(comm, A, prefix: str, options: dict) -> PETSc.KSP:
    """A KSP for the assembled operator ``A``, configured from ``options`` under ``prefix`` and
    set up (factorised) while they are in the database; the caller destroys it.

    Set up here because preconditioners read part of their options only then (GAMG its level
    smoothers, MUMPS its controls). A KSP kept across solves with an operator of unchanged
    sparsity refactors numerically only (a direct solver's ordering and symbolic
    factorisation are reused: most of its cost on small meshes).
    """
    ksp = _ksp(comm, A, prefix)
    try:
        with _options_under(prefix, options):
            ksp.setFromOptions()
            ksp.setUp()
    except Exception:
        ksp.destroy()
        raise
    return ksp


@contextlib.contextmanager
def prefixed_ksp(comm, A, prefix: str, options: dict):
    """Yield a KSP for one or more solves with ``A``; ``options`` stay in the database under
    ``prefix`` until the ``with`` block ends, and the KSP is destroyed then."""
    with _options_under(prefix, options):
        ksp = _ksp(comm, A, prefix)
        try:
            ksp.setFromOptions()
            yield ksp
        finally:
            ksp.destroy()
