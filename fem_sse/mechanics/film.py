"""The 1D laterally constrained film in closed form (NumPy only): stresses from mu_Li0(x).

The film is constrained laterally (eps_yy = eps_zz = 0). Equilibrium makes sigma_xx uniform:

* one electrode face free: sigma_xx = 0; "pressure": sigma_xx = -p (stack pressure);
* both electrodes held (roller or clamped, u(0) = u(L) = 0): int eps_xx dx = 0 gives
  sigma_xx = -int (3K/M) e* dx / int (1/M) dx, with M = lambda + 2G.

Then Hooke's law with eps_yy = eps_zz = 0 gives the lateral stress pointwise,

    sigma_yy = sigma_zz = (nu sigma_xx - E e*) / (1 - nu)

(-E e*/(1 - nu) with free faces: model.md's sanity anchor). The FE solve of the same film
(:class:`~fem_sse.mechanics.elasticity.ElasticProblem`, model "film") is checked against this.

The held-faces integral is taken per layer (1/M and 3K/M are constant in a layer, so int 1/M dx
is exact from the thicknesses) over samples of mu_Li0 that are dense in mu as well as in x
(:func:`exact_samples`, :func:`kirchhoff_samples`): the eigenstrain is a function of mu, which
jumps by eV over nanometres, so a rule in x alone misses the steps (3 % on sigma_xx measured
with the 8-per-cell profile points).
"""

from __future__ import annotations

import math

import numpy as np

from fem_sse.mechanics.post import invariants
from fem_sse.mechanics.results import FilmSummary

__all__ = ["exact_samples", "film_stress", "film_summary", "held_axial_stress",
           "kirchhoff_samples", "row_layers"]

#: Largest step in y = (mu - B)/kT between samples of the held-faces integral (-).
DY_MAX = 0.02


def _moduli(mech):
    """(M = lambda + 2G, 3K) (Pa) of a material."""
    lam, shear = mech.lame_lambda, mech.shear_modulus
    return lam + 2.0 * shear, 3.0 * lam + 2.0 * shear


def held_axial_stress(config, spec, samples) -> float:
    """sigma_xx (Pa) of the film with both electrode faces held (u(0) = u(L) = 0).

    Args:
        config: the configuration (layers, materials, kT).
        spec: the :class:`~fem_sse.spec.mechanics.MechanicsSpec`.
        samples: iterable of (layer index, x (m), mu (eV)) pieces, each inside one layer,
            x increasing, dense in mu where mu varies fast (trapezoid rule in x).
    """
    kT = config.cell.kT  # noqa: N806
    compliance = 0.0
    for layer in config.layers:
        modulus, _ = _moduli(spec.materials[layer.material])
        compliance += layer.thickness / modulus
    load = 0.0
    for index, x, mu in samples:
        name = config.layers[index].material
        mech = spec.materials[name]
        modulus, bulk3 = _moduli(mech)
        estar = mech.eigenstrain(np.asarray(mu, float), config.materials[name], kT, spec.mu_ref)
        load += bulk3 / modulus * float(np.trapezoid(estar, np.asarray(x, float)))
    return -load / compliance


def _layer_pieces(config, x, mu, layer):
    """Fallback samples: the given points grouped by layer (sorted in x)."""
    for index in np.unique(layer):
        sel = layer == index
        order = np.argsort(x[sel], kind="stable")
        yield int(index), x[sel][order], mu[sel][order]


def _axial_stress(config, spec, x, mu, layer, samples) -> float:
    kinds = (spec.bc.get("cathode", "roller"), spec.bc.get("anode", "pressure"))
    if all(k in ("roller", "clamped") for k in kinds):
        pieces = samples if samples is not None else _layer_pieces(config, x, mu, layer)
        return held_axial_stress(config, spec, pieces)
    return -spec.stack_pressure if "pressure" in kinds else 0.0


def film_stress(config, spec, x, mu, layer, samples=None) -> dict[str, np.ndarray]:
    """Stresses of the laterally constrained film at points ``x`` (m).

    Args:
        config: the configuration (materials, kT).
        spec: the :class:`~fem_sse.spec.mechanics.MechanicsSpec`.
        x: positions (m); mu: mu_Li0 there (eV); layer: layer index of each point (a point on
            an interface takes the law of the layer it is labelled with).
        samples: pieces for the held-faces sigma_xx (:func:`held_axial_stress`); default: the
            points themselves, grouped by layer.

    Returns:
        Profile columns: eigenstrain, sigma_xx_Pa, sigma_lateral_Pa (= sigma_yy = sigma_zz),
        von_mises_Pa, max_principal_Pa, hydrostatic_Pa, crack_risk (-), stress_intensity_Pa_m05
        (K_I = Y sigma_1 sqrt(pi a)), fracture_risk (K_I / K_IC, -).
    """
    x, mu, layer = np.asarray(x, float), np.asarray(mu, float), np.asarray(layer, int)
    kT = config.cell.kT  # noqa: N806
    E, nu, strength, estar, k_factor, toughness = (  # noqa: N806
        np.zeros_like(x) for _ in range(6))
    for i, spec_layer in enumerate(config.layers):
        sel = layer == i
        mech = spec.materials[spec_layer.material]
        E[sel], nu[sel], strength[sel] = mech.E, mech.nu, mech.strength
        k_factor[sel], toughness[sel] = mech.flaw_factor, mech.fracture_toughness
        estar[sel] = mech.eigenstrain(mu[sel], config.materials[spec_layer.material], kT,
                                      spec.mu_ref)
    sxx = np.full_like(x, _axial_stress(config, spec, x, mu, layer, samples))
    lateral = (nu * sxx - E * estar) / (1.0 - nu)
    inv = invariants(np.column_stack([sxx, lateral, np.zeros_like(x), lateral]))
    k_one = k_factor * inv["max_principal"]
    return {"eigenstrain": estar, "sigma_xx_Pa": sxx, "sigma_lateral_Pa": lateral,
            "von_mises_Pa": inv["von_mises"], "max_principal_Pa": inv["max_principal"],
            "hydrostatic_Pa": inv["hydrostatic"],
            "crack_risk": inv["max_principal"] / strength,
            "stress_intensity_Pa_m05": k_one, "fracture_risk": k_one / toughness}


def row_layers(config, x, materials) -> np.ndarray:
    """Layer index of profile rows from their position (m) and their material name: a row on a
    layer interface belongs to the layer of its own material (rows come in pairs there)."""
    x = np.asarray(x, float)
    edges = np.asarray(config.layer_edges())
    tol = 1e-12 * config.thickness
    layer = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(config.layers) - 1)
    names = np.asarray([config.layers[i].material for i in range(len(config.layers))])
    for k in np.flatnonzero(names[layer] != np.asarray(materials, dtype=object)):
        near = [i for i in range(len(config.layers)) if names[i] == materials[k]
                and edges[i] - tol <= x[k] <= edges[i + 1] + tol]
        if near:
            layer[k] = near[0]
    return layer


def _y_points(y0: float, y1: float) -> np.ndarray:
    n = max(2, int(math.ceil(abs(y1 - y0) / DY_MAX)) + 1)
    return np.linspace(y0, y1, n)


def exact_samples(sol, n_uniform: int = 64):
    """Held-faces samples of an :class:`~fem_sse.transport.exact1d.ExactSolution`: per segment,
    points uniform in x and points every :data:`DY_MAX` in y along the closed form x(y)."""
    kT = sol.kT  # noqa: N806
    for i, seg in enumerate(sol.segments):
        y0, y1 = sol.y_edges(i)
        branch = sol.branch(i)
        ys = _y_points(y0, y1)[1:-1]
        xs = seg.x0 + np.array([branch.x_of(y, y0) for y in ys])
        keep = np.isfinite(xs) & (xs > seg.x0) & (xs < seg.x1)
        xu = np.linspace(seg.x0, seg.x1, n_uniform)[1:-1]
        x = np.concatenate([[seg.x0], xs[keep], xu, [seg.x1]])
        mu = np.concatenate([[sol.mu_edges[i]], seg.material.B + kT * ys[keep],
                             sol.mu(xu), [sol.mu_edges[i + 1]]])
        order = np.argsort(x, kind="stable")
        yield seg.layer, x[order], mu[order]


def kirchhoff_samples(config, profile, per_cell: int = 4):
    """Held-faces samples of a 1D FEM state: W linear in every cell (``profile``: nodal x (m),
    W (A/m) per cell and segment index), sampled uniformly in x and every :data:`DY_MAX` in
    y = asinh(W / (2 A kT)), so that mu(W(x)) is integrated as the FE state represents it."""
    segments = config.segments()
    kT = config.cell.kT  # noqa: N806
    for (x0, x1), (w0, w1), s in zip(profile.x[:, [0, -1]], profile.w[:, [0, -1]],
                                     profile.segment, strict=True):
        mat = segments[int(s)].material
        scale = 2.0 * mat.A * kT
        t = np.linspace(0.0, 1.0, per_cell + 1)
        if w1 != w0:
            ys = _y_points(math.asinh(w0 / scale), math.asinh(w1 / scale))
            t = np.union1d(t, np.clip((scale * np.sinh(ys) - w0) / (w1 - w0), 0.0, 1.0))
        w = w0 + (w1 - w0) * t
        yield segments[int(s)].layer, x0 + (x1 - x0) * t, mat.B + kT * np.arcsinh(w / scale)


def _arg_first_max(values: np.ndarray, x: np.ndarray, rtol: float) -> int:
    """Index of the smallest x where ``values`` is within ``rtol`` of its maximum."""
    top = float(values.max())
    near = np.flatnonzero(values >= top - rtol * abs(top))
    return int(near[np.argmin(x[near])])


def film_summary(config, columns: dict, x, rtol: float = 1e-2) -> FilmSummary:
    """Summary of the film (:class:`~fem_sse.mechanics.results.FilmSummary`): peaks (Pa),
    crack-risk and fracture-risk indices (-), their locations (m) and distances to both
    electrodes (m). A location is the smallest x whose value
    is within ``rtol`` of the peak (a plateau is reported where it starts, as in 2D)."""
    x = np.asarray(x, float)
    length = config.thickness

    def where(key):
        return [float(x[_arg_first_max(columns[key], x, rtol)])]

    k = _arg_first_max(columns["crack_risk"], x, rtol)
    f = _arg_first_max(columns["fracture_risk"], x, rtol)
    return FilmSummary(
        model="film",
        max_von_mises=float(columns["von_mises_Pa"].max()),
        max_von_mises_location=where("von_mises_Pa"),
        max_principal=float(columns["max_principal_Pa"].max()),
        max_principal_location=where("max_principal_Pa"),
        min_principal=float(np.minimum(columns["sigma_xx_Pa"],
                                       columns["sigma_lateral_Pa"]).min()),
        max_hydrostatic=float(columns["hydrostatic_Pa"].max()),
        sigma_xx=float(columns["sigma_xx_Pa"][0]),
        crack_risk_index=float(columns["crack_risk"].max()),
        crack_risk_location=[float(x[k])],
        crack_risk_distance_to_electrode=float(min(x[k], length - x[k])),
        crack_risk_distances={"cathode": float(x[k]), "anode": float(length - x[k])},
        crack_risk_nearest_electrode="cathode" if x[k] <= 0.5 * length else "anode",
        max_stress_intensity=float(columns["stress_intensity_Pa_m05"].max()),
        fracture_risk_index=float(columns["fracture_risk"].max()),
        fracture_risk_location=[float(x[f])],
        fracture_risk_distances={"cathode": float(x[f]), "anode": float(length - x[f])})
