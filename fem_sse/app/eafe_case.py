"""The ``fem-eafe`` run of a 1D case: the exponentially fitted solve
(:mod:`fem_sse.transport.eafe_solve`) turned into the summary keys of the W-FEM's runs."""

from __future__ import annotations

import time

from fem_sse.spec.config import Config
from fem_sse.transport.eafe_solve import solve_adaptive_eafe

__all__ = ["solve_eafe_case"]


def solve_eafe_case(config: Config, comm, exact_summary: dict, exact, progress=None):
    """The 1D EAFE run: (summary, extras) with the keys of the W-FEM's summary."""
    from fem_sse.app.run import _exact_acceptance, _fem_rows, adaptive_summary

    start = time.perf_counter()
    out = solve_adaptive_eafe(config, comm, exact, _exact_acceptance(config, exact_summary),
                              progress)
    res, problem = out.result, out.problem
    summary = {
        **adaptive_summary(out, problem.imap.size_global,
                           problem.mesh.topology.index_map(1).size_global),
        "scheme": "EAFE (exponentially fitted, mu at P1 nodes)",
        "wall_time_s": time.perf_counter() - start,
    }
    rows = (_fem_rows(config, out.profile, res["ionic_potential_drop"])
            if comm.rank == 0 else None)
    problem.destroy()  # the PETSc solver only: mu, w, Phi and the mesh stay for the field files
    return summary, {"rows": rows, "profile": out.profile, "exact_summary": exact_summary,
                     "problem": problem}
