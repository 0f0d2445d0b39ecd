"""Design study (issue 6, item 6), 1D: single layer vs bilayer vs thin anodic layer (3:1).

    docker/run python3 bench/mechanics_study.py

Same cell for every design: 100 um, j = 10 A/m^2, mu_cathode = -3 eV, mu_anode = 0 eV (the
single layer: -1.78 / -1.18 eV, see WINDOWS), and a
polycrystal represented in 1D by GB strips (0.1 um, sigma_li x 1e-2) every 25 um and the phase
boundary (x 1e-4) at the layer interface. Elastic data are the same LLZO-like values in every
layer (E 149.8 GPa, nu 0.26, strength 150 MPa), so differences come from mu_Li0 alone.
mu_Li0 is the exact 1D solution (fem_sse.transport.exact1d); stresses are the laterally constrained film
(fem_sse.mechanics.film) with the cathode on rollers and a 5 MPa stack pressure on the anode.
Both required laws are run: "dilute" (delta0 from A, cap 0.05) and "two_state" (limits
+-0.05 at mu_half = B, width kT); expansion 0.03 per unit delta; stress-free at delta = 0.

Writes bench/results/mechanics_study.json and docs/img/mechanics_study.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parent.parent
UM = 1e-6


def design(name: str, layers: list[tuple[str, float]], law: str,
           window: tuple[float, float] = (-3.0, 0.0)) -> dict:
    """The configuration dict of one design (layers: (material, thickness um); window: mu at
    the cathode and the anode (eV))."""
    edges = np.cumsum([0.0] + [t for _, t in layers])
    strips = [{"center": c * UM, "width": 0.1 * UM, "sigma_li_factor": 1e-2, "name": f"GB{i}"}
              for i, c in enumerate((25.0, 50.0, 75.0)) if not np.any(np.isclose(c, edges))]
    strips += [{"center": e * UM, "width": 0.1 * UM, "sigma_li_factor": 1e-4, "name": "PB"}
               for e in edges[1:-1]]
    materials = {"SE_single": {"sigma_li": 0.1, "A": 1e-17, "B": -1.48},
                 "SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3},
                 "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}}
    used = {m for m, _ in layers}
    return {"name": name,
            "cell": {"current_density": 10.0, "mu_cathode": window[0], "mu_anode": window[1]},
            "materials": {m: {**v, "strain_law": law} for m, v in materials.items() if m in used},
            "geometry": {"dim": 1, "layers": [{"material": m, "thickness": t * UM}
                                              for m, t in layers],
                         "bottlenecks": sorted(strips, key=lambda s: s["center"])},
            "mechanics": {"stack_pressure": 5e6}}


#: A single layer cannot hold the 3 eV window at 10 A/m^2 (fem_sse.transport.exact1d: no steady state with
#: 0 < t_Li < 1 for B = -2.3, -1.48 or -0.7 eV), so it runs at the paper's Fig. 2 window.
WINDOWS = {"single layer": (-1.78, -1.18)}
DESIGNS = {"single layer": [("SE_single", 100.0)],
           "bilayer 1:1": [("SE_cathodic", 50.0), ("SE_anodic", 50.0)],
           "thin anodic 3:1": [("SE_cathodic", 75.0), ("SE_anodic", 25.0)]}


def largest_step(x, lateral, jumps, length: float) -> dict:
    """The largest change of the lateral stress across one mu_Li0 jump (Pa) and where: lateral
    stress at x_jump + d minus at x_jump - d, d = min(0.5 um, distance to the nearer electrode)."""
    best = {"step_Pa": 0.0, "x_m": None}
    for jump in jumps:
        d = min(0.5 * UM, jump["x"], length - jump["x"])
        left = np.interp(jump["x"] - d, x, lateral)
        right = np.interp(jump["x"] + d, x, lateral)
        if abs(right - left) > abs(best["step_Pa"]):
            best = {"step_Pa": float(right - left), "x_m": jump["x"]}
    return best


def main() -> None:
    from mpi4py import MPI

    from fem_sse.spec.config import parse_config
    from fem_sse.app.run import solve_case

    comm = MPI.COMM_SELF
    records, profiles = [], {}
    for law in ("dilute", "two_state"):
        for label, layers in DESIGNS.items():
            config = parse_config(design(label.replace(" ", "_"), layers, law,
                                         WINDOWS.get(label, (-3.0, 0.0))))
            summary, extras = solve_case(config, comm, "exact")
            rows = extras.rows
            order = np.argsort(rows["x_m"], kind="stable")
            x = np.asarray(rows["x_m"])[order]
            lateral = np.asarray(rows["sigma_lateral_Pa"])[order]
            mech = summary["mechanics"]
            step = largest_step(x, lateral, summary["jumps"], config.thickness)
            edge = None if step["x_m"] is None else min(step["x_m"], config.thickness - step["x_m"])
            records.append({
                "law": law, "design": label, "t_li": summary["t_li"],
                "window_eV": [config.cell.mu_cathode, config.cell.mu_anode],
                "jumps_x_over_L": [j["x"] / config.thickness for j in summary["jumps"]],
                "max_von_mises_MPa": mech["max_von_mises"] / 1e6,
                "max_principal_MPa": mech["max_principal"] / 1e6,
                "min_principal_MPa": mech["min_principal"] / 1e6,
                "crack_risk_index": mech["crack_risk_index"],
                "crack_risk_basis": mech["crack_risk_basis"],
                "crack_risk_index_local": mech["crack_risk_index_local"],
                "crack_risk_x_over_L": mech["crack_risk_location"][0] / config.thickness,
                "crack_risk_distance_to_electrode_um": mech["crack_risk_distance_to_electrode"]
                / UM,
                "fraction_over_strength": float(np.trapezoid(
                    (np.asarray(rows["crack_risk_local"])[order] > 1.0).astype(float), x)
                    / config.thickness),
                "largest_jump_stress_step_MPa": step["step_Pa"] / 1e6,
                "largest_step_distance_to_electrode_um": None if edge is None else edge / UM})
            profiles[(law, label)] = (x / config.thickness,
                                      np.asarray(rows["mu_Li0_eV"])[order], lateral / 1e6)
            print(json.dumps(records[-1]))
    (ROOT / "bench" / "results" / "mechanics_study.json").write_text(
        json.dumps(records, indent=1) + "\n")
    plot(profiles, ROOT / "docs" / "img" / "mechanics_study.png")


def plot(profiles: dict, path: Path) -> None:
    """mu_Li0 and the lateral stress vs x/L for each design and law."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(DESIGNS), figsize=(12, 7.5), sharex=True, dpi=120)
    for col, label in enumerate(DESIGNS):
        x, mu, _ = profiles[("dilute", label)]
        axes[0, col].plot(x, mu, color="#b2182b")
        axes[0, col].set_title(label)
        for row, law in ((1, "dilute"), (2, "two_state")):
            x, _, lateral = profiles[(law, label)]
            axes[row, col].plot(x, lateral, color="#2166ac")
            axes[row, col].axhline(150.0, color="0.4", ls="--", lw=0.8)
            axes[row, col].text(0.01, 150.0, " strength", fontsize=7, va="bottom")
        axes[2, col].set_xlabel("x / L")
    axes[0, 0].set_ylabel(r"$\mu_{Li^0}$ (eV)")
    axes[1, 0].set_ylabel("sigma_yy = sigma_zz (MPa)\ndilute law")
    axes[2, 0].set_ylabel("sigma_yy = sigma_zz (MPa)\ntwo-state law")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
