"""The linear solves of the transport problem: a direct LU, the Jacobian's factorisation kept.

Every Newton step solves with a Jacobian of the same sparsity; its KSP is configured once and
kept (PETSc refactors the new values). Any other matrix (the ionic problem) gets a KSP of its
own for one solve.
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.solvers import configured_ksp, prefixed_ksp
from fem_sse.transport.discretisation import for_dimension

__all__ = ["MUMPS_WORKSPACE_PERCENT", "LinearSolver", "TripletRows", "default_petsc_options"]

#: MUMPS ICNTL(14): extra workspace over its estimate (%), for delayed pivots
MUMPS_WORKSPACE_PERCENT = 200


def default_petsc_options(comm=None, tdim: int = 2) -> dict:
    """Linear solver of every Newton step on a ``tdim``-dimensional mesh (a new dict: callers
    may change it).

    A direct LU: KLU on one rank for a banded discretisation (:class:`Line1D`: block-tridiagonal
    matrices, where it refactors about 5 times faster than MUMPS: 1.5 vs 7.8 ms at 14k DOFs),
    MUMPS otherwise (parallel, and supernodal for the fill of 2D meshes). A PETSc built without
    KLU (SuiteSparse) gets MUMPS.
    """
    serial = comm is None or comm.size == 1
    banded = for_dimension(tdim).banded
    solver = "klu" if serial and banded and _petsc_has("klu") else "mumps"
    options = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": solver,
               "ksp_error_if_not_converged": True}
    if solver == "mumps":
        # the exponential weights of EAFE Jacobians make MUMPS delay pivots beyond its default
        # workspace (+20 %): INFOG(1) = -9 on cases/2d/defects.toml; this only lets it finish
        options["mat_mumps_icntl_14"] = MUMPS_WORKSPACE_PERCENT
    return options


def _petsc_has(package: str) -> bool:
    """Whether this PETSc was configured with the external solver package (e.g. "klu")."""
    return bool(PETSc.Sys.hasExternalPackage(package))


class LinearSolver:
    """Direct solves on ``comm`` with ``petsc_options`` (:func:`default_petsc_options`)."""

    def __init__(self, comm, petsc_options: dict):
        self.comm = comm
        self.petsc_options = petsc_options
        self._kept = None  # the matrix whose KSP is kept
        self._ksp = None

    def keep(self, A) -> None:  # noqa: N803
        """Keep the factorisation of ``A`` (the Jacobian) between solves."""
        self._kept = A

    @property
    def factorised(self) -> bool:
        """Whether a kept KSP exists (dropped after a failed factorisation)."""
        return self._ksp is not None

    def solve(self, A, b, x, prefix: str) -> int:  # noqa: N803
        """Solve A x = b; the Jacobian's KSP is kept. Returns the Krylov iterations.

        Raises:
            ConvergenceError: when PETSc fails (e.g. a singular Jacobian far from the
                solution): a failed Newton step, which the continuations may get around.
        """
        try:
            if A is not self._kept:
                with prefixed_ksp(self.comm, A, prefix, self.petsc_options) as ksp:
                    ksp.solve(b, x)
                    return ksp.getIterationNumber()
            if self._ksp is None:
                self._ksp = configured_ksp(self.comm, A, prefix, self.petsc_options)
            self._ksp.solve(b, x)
            return self._ksp.getIterationNumber()
        except PETSc.Error as exc:
            if A is self._kept and self._ksp is not None:  # a failed factorisation: start afresh
                self._ksp.destroy()
                self._ksp = None
            raise ConvergenceError(f"linear solve failed (PETSc error {exc.ierr})",
                                   Diagnosis(petsc_error=exc.ierr)) from None


class TripletRows:
    """Local (row, column, value) triples with repeated pairs, set into an AIJ matrix as local
    CSR rows in one call (``MatSetValuesLocal`` per triple took a third of a pseudo-transient
    step of the 1D EAFE scheme). The values of repeated pairs are summed by ``np.bincount``
    in the order of the triples, the order in which ``MatSetValues`` added them: the matrix
    is the same to the bit on one rank."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, n_local: int):
        key = rows.astype(np.int64) * n_local + cols
        unique, self._entry = np.unique(key, return_inverse=True)
        unique_rows, unique_cols = np.divmod(unique, n_local)
        self._ptr = np.searchsorted(unique_rows, np.arange(n_local + 1)).astype(PETSc.IntType)
        self._cols = unique_cols.astype(PETSc.IntType)

    def set(self, A: PETSc.Mat, values: np.ndarray) -> None:  # noqa: N803
        """Zero ``A``, add the triples' ``values`` (one per triple) and assemble it."""
        summed = np.bincount(self._entry, weights=values, minlength=len(self._cols))
        A.zeroEntries()
        A.setValuesLocalCSR(self._ptr, self._cols, summed.astype(PETSc.ScalarType),
                            addv=PETSc.InsertMode.ADD_VALUES)
        A.assemble()
