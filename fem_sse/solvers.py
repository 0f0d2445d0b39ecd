"""PETSc linear-solver plumbing shared by the transport and elastic solves (style rule 4).

A leaf module: a KSP whose options are set under one prefix for the duration of a solve and
removed afterwards, so the global options database never keeps a solver's settings.
"""

from __future__ import annotations

import contextlib

from petsc4py import PETSc

__all__ = ["configured_ksp", "prefixed_ksp"]


def configured_ksp(comm, A, prefix: str, options: dict) -> PETSc.KSP:
    """A KSP for operator ``A`` configured from ``options`` under ``prefix`` (caller destroys).

    The options are in the database only while the KSP reads them. A KSP kept across solves
    with an operator of unchanged sparsity refactors numerically only (a direct solver's
    ordering and symbolic factorisation are reused: most of its cost on small meshes).
    """
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setOptionsPrefix(prefix)
    opts = PETSc.Options()
    for key, value in options.items():
        opts[prefix + key] = value
    try:
        ksp.setFromOptions()
    except Exception:
        ksp.destroy()
        raise
    finally:
        for key in options:
            del opts[prefix + key]
    return ksp


@contextlib.contextmanager
def prefixed_ksp(comm, A, prefix: str, options: dict):
    """Yield a :func:`configured_ksp` for one solve; it is destroyed on exit."""
    ksp = configured_ksp(comm, A, prefix, options)
    try:
        yield ksp
    finally:
        ksp.destroy()
