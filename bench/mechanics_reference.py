"""Sensitivity of the stresses to the stress-free reference state delta_ref (issue 17, item 3).

    docker/run python3 bench/mechanics_reference.py

The paper's Fig. 3 bilayer in 1D (exact solver; the laterally constrained film, which is also
the interior of a laterally uniform 2D stack), cathode on rollers, 5 MPa stack pressure on the
anode, LLZO-like elastic data, expansion 0.03 per unit delta; the two-state law (+-0.05) and
the dilute law (delta0 = 2 A / (e u N), cap 0.05), for delta_ref = -0.05 ... +0.05 in every
layer. Also records the dilute law's derived numbers (delta0, the distance from B at which it
reaches its cap) next to the closed form. Writes bench/results/mechanics_reference.json.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "mechanics_reference.json"
DELTA_REFS = (-0.05, -0.025, 0.0, 0.025, 0.05)


def _data(law: str, delta_ref: float) -> dict:
    data = tomllib.loads((ROOT / "cases" / "fig3_bilayer.toml").read_text())
    for m in data["materials"].values():
        m.update(strain_law=law, delta_ref=delta_ref)
    data["mechanics"] = {"stack_pressure": 5e6}
    return data


def dilute_check() -> dict:
    """delta0 and the cap distance of the dilute law, from the code and from the derivation
    n_e - n_h = (sigma_e - sigma_h) / (e u), sigma_e,h = A exp(+-y)."""
    from fem_sse.materials.strain import DEFAULTS, ELEMENTARY_CHARGE, DiluteLaw
    from fem_sse.materials.conductivity import PRESETS

    mat, kT = PRESETS["paper_cathodic"], 8.617333262e-5 * 298.0  # noqa: N806
    law = DiluteLaw()
    per_carrier = mat.A / (ELEMENTARY_CHARGE * DEFAULTS["electron_mobility"]
                           * DEFAULTS["site_density"])
    y = 3.0
    derived = per_carrier * (math.exp(y) - math.exp(-y))
    return {"A_S_per_m": mat.A, "delta0": law.prefactor(mat),
            "delta_at_y3_code": float(law.delta(mat.B + y * kT, mat, kT)),
            "delta_at_y3_derivation": derived,
            "cap": law.cap, "cap_distance_eV": law.cap_distance(mat, kT)}


def main() -> None:
    from mpi4py import MPI

    from fem_sse.spec.config import parse_config
    from fem_sse.app.run import solve_case

    comm = MPI.COMM_SELF
    rows = []
    for law in ("two_state", "dilute"):
        for delta_ref in DELTA_REFS:
            summary, _ = solve_case(parse_config(_data(law, delta_ref)), comm, "exact")
            mech = summary["mechanics"]
            rows.append({"law": law, "delta_ref": delta_ref,
                         **{k: mech[k] for k in (
                             "max_principal", "min_principal", "max_von_mises",
                             "crack_risk_index", "fracture_risk_index",
                             "crack_risk_distance_to_cathode", "crack_risk_distance_to_anode")},
                         "reference": mech["stress_free_reference"]["materials"]})
            print(json.dumps(rows[-1]))
    OUT.write_text(json.dumps({"case": "cases/fig3_bilayer.toml (1D, exact)", "rows": rows,
                               "dilute_law": dilute_check()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
