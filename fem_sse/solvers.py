"""PETSc linear-solver plumbing shared by the transport and elastic solves (style rule 4).

A leaf module: a KSP whose options are set under one prefix for the duration of a solve and
removed afterwards, so the global options database never keeps a solver's settings.
"""

from __future__ import annotations

import contextlib

from petsc4py import PETSc

__all__ = ["prefixed_ksp"]


@contextlib.contextmanager
def prefixed_ksp(comm, A, prefix: str, options: dict):
    """Yield a KSP for operator ``A`` configured from ``options`` under ``prefix``.

    The options are removed from the database and the KSP destroyed on exit.
    """
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setOptionsPrefix(prefix)
    opts = PETSc.Options()
    for key, value in options.items():
        opts[prefix + key] = value
    try:
        ksp.setFromOptions()
        yield ksp
    finally:
        for key in options:
            del opts[prefix + key]
        ksp.destroy()
