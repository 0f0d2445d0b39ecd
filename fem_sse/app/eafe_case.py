"""The ``fem-eafe`` run of a 1D case: the exponentially fitted solve
(:mod:`fem_sse.transport.eafe_solve`) turned into the summary keys of the W-FEM's runs."""

from __future__ import annotations

import time

from fem_sse.spec.config import Config
from fem_sse.transport.eafe_solve import solve_adaptive_eafe

__all__ = ["solve_eafe_case"]


def solve_eafe_case(config: Config, comm, exact_summary: dict, exact, progress=None):
    """The 1D EAFE run: (summary, extras) with the keys of the W-FEM's summary."""
    from fem_sse.app.run import _exact_acceptance, _fem_rows

    start = time.perf_counter()
    out = solve_adaptive_eafe(config, comm, exact, _exact_acceptance(config, exact_summary),
                              progress)
    res, met, problem = out.result, out.metrics, out.problem
    summary = {
        "t_li": res["t_li"], "one_minus_t_li": res["one_minus_t_li"],
        "j_ionic_A_per_m2": res["j_ionic"], "j_electronic_A_per_m2": res["j_electronic"],
        "ionic_potential_drop_V": res["ionic_potential_drop"],
        "mu_interfaces": met["mu_interfaces"], "jumps": met["jumps"],
        "overshoot_fraction": met["overshoot_fraction"],
        "undershoot_fraction": met["undershoot_fraction"],
        "dofs": problem.imap.size_global,
        "cells": problem.mesh.topology.index_map(1).size_global,
        "newton_iterations": out.newton_iterations,
        "refinement_steps": sum(1 for h in out.history if "cells" in h) - 1,
        "refinement_history": out.history,
        "converged": out.converged, "stop_reason": out.stop_reason,
        "last_change": out.last_change, "scheme": "EAFE (exponentially fitted, mu at P1 nodes)",
        "wall_time_s": time.perf_counter() - start,
    }
    rows = (_fem_rows(config, out.profile, res["ionic_potential_drop"])
            if comm.rank == 0 else None)
    problem.destroy()  # the PETSc solver only: mu, w, Phi and the mesh stay for the field files
    return summary, {"rows": rows, "profile": out.profile, "exact_summary": exact_summary,
                     "problem": problem}
