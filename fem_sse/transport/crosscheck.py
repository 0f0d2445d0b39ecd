"""The second-scheme check of a 2D state with GB interfaces (issue 16).

Where a GB interface carries a jump of eta_i, mu jumps with it, and sigma_eh (exponential in
mu) can change by orders of magnitude across one facet. Both 2D schemes were seen to stop on
their tolerance with a wrong 1 - t_Li there, each in its own way:

* the W formulation penalises the jump of W measured in the other side's material; where W
  differs by many orders of magnitude across the GB, the small side's rows are round-off of
  the large side's terms, and Newton stops in two iterations on a state 3 % or 21 % off the
  exact interface solution (a transverse GB with a 1 V jump across B, bench/gb_transverse.py);
* on stress2d seed 0 configuration 28 (a GB that ends in a corner of the anode), the two
  schemes converge on their adaptive meshes 10 % apart, and uniform refinement moves both.

Two discretisations as different as a DG Kirchhoff formulation with a Lax-Friedrichs drift flux
and an exponentially fitted nodal scheme do not share such errors. So a state on a mesh with GB
interfaces is solved once more, by the other scheme, on the same mesh; a relative difference
in 1 - t_Li above :data:`SCHEME_TOLERANCE` means the mesh does not resolve the solution or one
state is spurious, and the run is not converged (:meth:`fem_sse.transport.certificate.
Certificate.with_check`). Where the other scheme gives no state (the W formulation on a mesh cut
open along cracks, or beyond its precision), the state is reported as unchecked
(``scheme_check.failure``), not as wrong.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import ClassVar

from fem_sse.errors import ConvergenceError

__all__ = ["SCHEME_TOLERANCE", "SchemeCheck", "check_with_eafe", "check_with_w",
           "has_gb_interfaces"]

log = logging.getLogger(__name__)

#: largest relative difference in 1 - t_Li between the two schemes on one mesh (-); converged
#: states agree to 1e-3 or better on every other configuration measured (docs/transport2d.md)
SCHEME_TOLERANCE = 1e-2


@dataclass(frozen=True)
class SchemeCheck:
    """The other scheme's 1 - t_Li on the same mesh.

    Attributes:
        scheme: the scheme that checked ("fem-eafe" or "fem").
        one_minus_t_li: its 1 - t_Li (-), None when it failed.
        reference: the checked state's 1 - t_Li (-).
        cells: cells of the mesh both solved on.
        error: why the other scheme gave no state (None when it did).
    """

    #: the block's key in summary.json
    summary_key: ClassVar[str] = "scheme_check"

    scheme: str
    one_minus_t_li: float | None
    reference: float
    cells: int
    error: str | None = None

    @property
    def limit(self) -> float:
        """The largest relative difference that passes (-)."""
        return SCHEME_TOLERANCE

    @property
    def relative_difference(self) -> float | None:
        """|other / checked - 1| (-), None when the other scheme failed."""
        if self.one_minus_t_li is None:
            return None
        if self.reference == 0.0:
            return 0.0 if self.one_minus_t_li == 0.0 else math.inf
        return abs(self.one_minus_t_li / self.reference - 1.0)

    @property
    def disagrees(self) -> bool:
        """True when both solves gave a state and they differ by more than :attr:`limit`."""
        diff = self.relative_difference
        return diff is not None and diff > self.limit

    def reason(self) -> str:
        """The not-converged reason of a disagreement."""
        return (f"the {self.scheme} scheme on the same mesh ({self.cells} cells) gives "
                f"1 - t_Li = {self.one_minus_t_li:.6g}, {self.relative_difference:.2g} from "
                f"{self.reference:.6g} (more than {SCHEME_TOLERANCE:g}): the mesh does not "
                "resolve the solution at the GB interfaces, or a state is spurious")

    def to_summary(self) -> dict:
        """The ``scheme_check`` block of summary.json (its keys name the other scheme's
        values: they are not the run's own)."""
        return self.block({"other_one_minus_t_li": self.one_minus_t_li,
                           "relative_difference": self.relative_difference,
                           "tolerance": SCHEME_TOLERANCE, "mesh_cells": self.cells})

    def block(self, values: dict) -> dict:
        """A check's summary block: the checking scheme, ``values``, why it gave no state."""
        return {"scheme": self.scheme, **values, "failure": self.error}


def has_gb_interfaces(smesh) -> bool:
    """True when the mesh has zero-thickness GB facets (facet group ``gb``)."""
    return "gb" in smesh.facet_groups


def _single_mesh(config):
    """``config`` solved on the given mesh only (no refinement)."""
    return dataclasses.replace(config, solver=dataclasses.replace(config.solver, adaptive=False))


def _cells(smesh) -> int:
    return smesh.mesh.topology.index_map(smesh.mesh.topology.dim).size_global


def _failed(scheme: str, reference: float, cells: int, exc, comm) -> SchemeCheck:
    """The check of a scheme that gave no state, with a warning (rank 0)."""
    message = " ".join(str(exc).split())
    if comm.rank == 0:
        log.warning("the %s scheme could not check this state (%s)", scheme, message)
    return SchemeCheck(scheme, None, reference, cells, message)


def _announce(progress, scheme: str, cells: int) -> None:
    if progress is not None:
        progress(f"checking the state with the {scheme} scheme on the final mesh "
                 f"({cells} cells)")


def check_with_eafe(config, smesh, one_minus_t_li: float, progress=None) -> SchemeCheck:
    """The EAFE scheme's 1 - t_Li on the W formulation's final mesh ``smesh`` (``progress``:
    an optional callable(str) told that the check runs)."""
    from fem_sse.transport.eafe2d import unsupported
    from fem_sse.transport.eafe2d_gb import averaged_state
    from fem_sse.transport.eafe2d_solve import solve_adaptive_eafe_2d

    cells = _cells(smesh)
    reason = unsupported(config, smesh)
    if reason:
        return SchemeCheck("fem-eafe", None, one_minus_t_li, cells, reason)
    _announce(progress, "fem-eafe", cells)
    try:
        out = solve_adaptive_eafe_2d(_single_mesh(config), smesh.mesh.comm,
                                     averaged_state(config), None, smesh)
    except ConvergenceError as exc:
        return _failed("fem-eafe", one_minus_t_li, cells, exc, smesh.mesh.comm)
    out.problem.destroy()
    return SchemeCheck("fem-eafe", float(out.result.one_minus_t_li), one_minus_t_li, cells)


def check_with_w(config, smesh, one_minus_t_li: float, progress=None) -> SchemeCheck:
    """The W formulation's 1 - t_Li on the EAFE scheme's final mesh ``smesh`` (crack lines
    there are cut open, which the W formulation does not take: reported as a failure;
    ``progress`` as in :func:`check_with_eafe`)."""
    from fem_sse.transport.adapt import _solve_checked
    from fem_sse.transport.problem import TransportProblem

    cells = _cells(smesh)
    if any(name.startswith("crack") for name in smesh.facet_groups):
        return SchemeCheck("fem", None, one_minus_t_li, cells,
                           "crack lines are cut open on the EAFE mesh")
    _announce(progress, "fem (W formulation)", cells)
    problem = TransportProblem(config, smesh, degree=config.solver.degree)
    try:
        result = _solve_checked(problem)
    except ConvergenceError as exc:
        return _failed("fem", one_minus_t_li, cells, exc, smesh.mesh.comm)
    return SchemeCheck("fem", float(result.one_minus_t_li), one_minus_t_li, cells)
