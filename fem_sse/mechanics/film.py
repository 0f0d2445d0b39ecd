"""The 1D laterally constrained film in closed form (NumPy only): stresses from mu_Li0(x).

The film is constrained laterally (eps_yy = eps_zz = 0). Equilibrium makes sigma_xx uniform:

* one electrode face free: sigma_xx = 0; "pressure": sigma_xx = -p (stack pressure);
* both electrodes held (roller or clamped, u(0) = u(L) = 0): int eps_xx dx = 0 gives
  sigma_xx = -int (3K/M) e* dx / int (1/M) dx, with M = lambda + 2G.

Then Hooke's law with eps_yy = eps_zz = 0 gives the lateral stress pointwise,

    sigma_yy = sigma_zz = (nu sigma_xx - E e*) / (1 - nu)

(-E e*/(1 - nu) with free faces: model.md's sanity anchor). The FE solve of the same film
(:class:`~fem_sse.mechanics.elasticity.ElasticProblem`, model "film") is checked against this.
"""

from __future__ import annotations

import numpy as np

from fem_sse.mechanics.post import invariants

__all__ = ["film_stress", "film_summary"]


def _axial_stress(x, E, nu, estar, spec) -> float:  # noqa: N803
    kinds = (spec.bc.get("cathode", "roller"), spec.bc.get("anode", "pressure"))
    if all(k in ("roller", "clamped") for k in kinds):
        lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
        shear = E / (2.0 * (1.0 + nu))
        modulus, bulk3 = lam + 2.0 * shear, 3.0 * lam + 2.0 * shear
        order = np.argsort(x, kind="stable")
        xs = x[order]
        return -np.trapezoid((bulk3 * estar / modulus)[order], xs) / np.trapezoid(
            1.0 / modulus[order], xs)
    return -spec.stack_pressure if "pressure" in kinds else 0.0


def film_stress(config, spec, x, mu, layer) -> dict[str, np.ndarray]:
    """Stresses of the laterally constrained film at points ``x`` (m).

    Args:
        config: the configuration (materials, kT).
        spec: the :class:`~fem_sse.mechanics_spec.MechanicsSpec`.
        x: positions (m); mu: mu_Li0 there (eV); layer: layer index of each point.

    Returns:
        Profile columns: eigenstrain, sigma_xx_Pa, sigma_lateral_Pa (= sigma_yy = sigma_zz),
        von_mises_Pa, max_principal_Pa, hydrostatic_Pa, crack_risk (-).
    """
    x, mu, layer = np.asarray(x, float), np.asarray(mu, float), np.asarray(layer, int)
    kT = config.cell.kT  # noqa: N806
    E, nu, strength, estar = (np.zeros_like(x) for _ in range(4))  # noqa: N806
    for i, spec_layer in enumerate(config.layers):
        sel = layer == i
        mech = spec.materials[spec_layer.material]
        E[sel], nu[sel], strength[sel] = mech.E, mech.nu, mech.strength
        estar[sel] = mech.eigenstrain(mu[sel], config.materials[spec_layer.material], kT,
                                      spec.mu_ref)
    sxx = np.full_like(x, _axial_stress(x, E, nu, estar, spec))
    lateral = (nu * sxx - E * estar) / (1.0 - nu)
    inv = invariants(np.column_stack([sxx, lateral, np.zeros_like(x), lateral]))
    return {"eigenstrain": estar, "sigma_xx_Pa": sxx, "sigma_lateral_Pa": lateral,
            "von_mises_Pa": inv["von_mises"], "max_principal_Pa": inv["max_principal"],
            "hydrostatic_Pa": inv["hydrostatic"],
            "crack_risk": inv["max_principal"] / strength}


def film_summary(config, columns: dict, x) -> dict:
    """Summary keys of the film: peaks (Pa), crack-risk index (-), its location and distance to
    the nearest electrode (m)."""
    x = np.asarray(x, float)
    k = int(np.argmax(columns["crack_risk"]))
    length = config.thickness
    return {"model": "film",
            "max_von_mises": float(columns["von_mises_Pa"].max()),
            "max_von_mises_location": [float(x[int(np.argmax(columns["von_mises_Pa"]))])],
            "max_principal": float(columns["max_principal_Pa"].max()),
            "max_principal_location": [float(x[int(np.argmax(columns["max_principal_Pa"]))])],
            "min_principal": float(np.minimum(columns["sigma_xx_Pa"],
                                              columns["sigma_lateral_Pa"]).min()),
            "max_hydrostatic": float(columns["hydrostatic_Pa"].max()),
            "crack_risk_index": float(columns["crack_risk"][k]),
            "crack_risk_location": [float(x[k])],
            "crack_risk_distance_to_electrode": float(min(x[k], length - x[k])),
            "crack_risk_nearest_electrode": "cathode" if x[k] <= 0.5 * length else "anode"}
