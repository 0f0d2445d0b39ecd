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

The crack and fracture risk are taken from the lateral stress averaged over the flaw size
(:func:`flaw_average_lateral`: the Helmholtz filter of :mod:`.average` along x within each
material, the same as in 2D, so a laterally uniform 2D stack gives these values): the film
stress is piecewise constant on plateaus, where the average equals it; it differs within a
few filter lengths of a step (a GEB jump, a phase boundary), and a tensile skin thinner than
the flaw averages to less.
"""

from __future__ import annotations

import math

import numpy as np

from fem_sse.mechanics.average import filter_length, helmholtz_1d
from fem_sse.mechanics.post import invariants
from fem_sse.mechanics.results import FilmSummary

__all__ = ["exact_samples", "film_stress", "film_summary", "flaw_average_lateral",
           "held_axial_stress", "kirchhoff_samples", "row_layers"]

#: Largest step in y = (mu - B)/kT between samples of the held-faces integral (-).
DY_MAX = 0.02

#: Nodes of the 1D flaw-size filter per filter length (its P1 error on a step is ~1e-4 of the
#: step, and nil on a plateau).
NODES_PER_LENGTH = 40


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


def _axial_stress(config, spec, pieces) -> float:
    kinds = (spec.bc.get("cathode", "roller"), spec.bc.get("anode", "pressure"))
    if all(k in ("roller", "clamped") for k in kinds):
        return held_axial_stress(config, spec, pieces)
    return -spec.stack_pressure if "pressure" in kinds else 0.0


def _material_runs(config) -> list[list[int]]:
    """Layer indices grouped into runs of adjacent layers of one material (the filter acts
    within a material, as in 2D: :mod:`.average`)."""
    runs: list[list[int]] = []
    for i, layer in enumerate(config.layers):
        if runs and config.layers[runs[-1][-1]].material == layer.material:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _filter_grid(config, spec, run) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (m) of the 1D filter over the layers ``run``, :data:`NODES_PER_LENGTH` per filter
    length and on every layer edge, and the filter length l (m) of each cell."""
    edges = config.layer_edges()
    ell = filter_length(spec.materials[config.layers[run[0]].material].flaw_size)
    nodes, lengths = [np.array([edges[run[0]]])], []
    for i in run:
        n = max(4, int(math.ceil((edges[i + 1] - edges[i]) / ell * NODES_PER_LENGTH)))
        nodes.append(np.linspace(edges[i], edges[i + 1], n + 1)[1:])
        lengths.append(np.full(n, ell))
    return np.concatenate(nodes), np.concatenate(lengths)


def _hat_load(grid: np.ndarray, pieces) -> np.ndarray:
    """int s phi_i dx (Pa m) on the nodes ``grid`` for s linear between the samples of each
    piece (x (m), s (Pa)), exact for that s (Simpson on the pieces split at the nodes)."""
    load = np.zeros(len(grid))
    for xs, values in pieces:
        inner = grid[(grid > xs[0]) & (grid < xs[-1])]
        xm = np.union1d(xs, inner)
        sm = np.interp(xm, xs, values)
        xa, xb, sa, sb = xm[:-1], xm[1:], sm[:-1], sm[1:]
        j = np.clip(np.searchsorted(grid, 0.5 * (xa + xb)) - 1, 0, len(grid) - 2)
        h = grid[j + 1] - grid[j]
        for node, phi in ((j, lambda x: (grid[j + 1] - x) / h),
                          (j + 1, lambda x: (x - grid[j]) / h)):
            pa, pb = phi(xa), phi(xb)
            np.add.at(load, node, (xb - xa) / 6.0 * (2 * sa * pa + sa * pb + sb * pa
                                                     + 2 * sb * pb))
    return load


def flaw_average_lateral(config, spec, pieces, sxx: float, x, layer) -> np.ndarray:
    """The film's lateral stress averaged over the flaw size (Pa) at the points ``x`` (m) of
    layer index ``layer``: s_bar - (l^2 s_bar')' = s within each run of one material, natural
    ends (:mod:`.average`); ``pieces``: (layer index, x (m), mu (eV)) samples dense in mu
    (:func:`exact_samples`), ``sxx``: the axial stress (Pa)."""
    kT = config.cell.kT  # noqa: N806
    stresses = {}
    for index, xs, mus in pieces:
        name = config.layers[index].material
        mech = spec.materials[name]
        estar = mech.eigenstrain(np.asarray(mus, float), config.materials[name], kT,
                                 spec.mu_ref)
        stresses.setdefault(int(index), []).append(
            (np.asarray(xs, float), (mech.nu * sxx - mech.E * estar) / (1.0 - mech.nu)))
    out = np.zeros(len(x))
    for run in _material_runs(config):
        grid, lengths = _filter_grid(config, spec, run)
        load = _hat_load(grid, [p for i in run for p in stresses.get(i, [])])
        rows = np.isin(layer, run)
        out[rows] = np.interp(x[rows], grid, helmholtz_1d(grid, lengths, load))
    return out


def film_stress(config, spec, x, mu, layer, samples=None) -> dict[str, np.ndarray]:
    """Stresses of the laterally constrained film at points ``x`` (m).

    Args:
        config: the configuration (materials, kT).
        spec: the :class:`~fem_sse.spec.mechanics.MechanicsSpec`.
        x: positions (m); mu: mu_Li0 there (eV); layer: layer index of each point (a point on
            an interface takes the law of the layer it is labelled with).
        samples: (layer index, x (m), mu (eV)) pieces for the held-faces sigma_xx
            (:func:`held_axial_stress`) and the flaw-size average (:func:`flaw_average_lateral`);
            default: the points themselves, grouped by layer.

    Returns:
        Profile columns: eigenstrain, sigma_xx_Pa, sigma_lateral_Pa (= sigma_yy = sigma_zz),
        von_mises_Pa, max_principal_Pa, hydrostatic_Pa (pointwise), the same averaged over the
        flaw size (:func:`flaw_average_lateral`): max_principal_flaw_average_Pa,
        von_mises_flaw_average_Pa, and from it crack_risk (-), stress_intensity_Pa_m05
        (K_I = Y sigma_1 sqrt(pi a)), fracture_risk (K_I / K_IC, -); crack_risk_local (the
        pointwise max principal stress over the strength, -), flaw_average_length_m (l).
    """
    x, mu, layer = np.asarray(x, float), np.asarray(mu, float), np.asarray(layer, int)
    kT = config.cell.kT  # noqa: N806
    E, nu, strength, estar, k_factor, toughness, ell = (  # noqa: N806
        np.zeros_like(x) for _ in range(7))
    for i, spec_layer in enumerate(config.layers):
        sel = layer == i
        mech = spec.materials[spec_layer.material]
        E[sel], nu[sel], strength[sel] = mech.E, mech.nu, mech.strength
        k_factor[sel], toughness[sel] = mech.flaw_factor, mech.fracture_toughness
        ell[sel] = filter_length(mech.flaw_size)
        estar[sel] = mech.eigenstrain(mu[sel], config.materials[spec_layer.material], kT,
                                      spec.mu_ref)
    pieces = list(samples) if samples is not None else list(_layer_pieces(config, x, mu, layer))
    axial = _axial_stress(config, spec, pieces)
    sxx = np.full_like(x, axial)
    lateral = (nu * sxx - E * estar) / (1.0 - nu)
    inv = invariants(np.column_stack([sxx, lateral, np.zeros_like(x), lateral]))
    smooth = flaw_average_lateral(config, spec, pieces, axial, x, layer)
    avg = invariants(np.column_stack([sxx, smooth, np.zeros_like(x), smooth]))
    k_one = k_factor * avg.max_principal
    return {"eigenstrain": estar, "sigma_xx_Pa": sxx, "sigma_lateral_Pa": lateral,
            "von_mises_Pa": inv.von_mises, "max_principal_Pa": inv.max_principal,
            "hydrostatic_Pa": inv.hydrostatic,
            "max_principal_flaw_average_Pa": avg.max_principal,
            "von_mises_flaw_average_Pa": avg.von_mises,
            "crack_risk": avg.max_principal / strength,
            "crack_risk_local": inv.max_principal / strength,
            "stress_intensity_Pa_m05": k_one, "fracture_risk": k_one / toughness,
            "flaw_average_length_m": ell}


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
        ys = _y_points(y0, y1)[1:-1]
        xs = sol.x_of(i, ys)
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
    """Summary of the film (:class:`~fem_sse.mechanics.results.FilmSummary`): peaks (Pa;
    pointwise and averaged over the flaw size), crack-risk and fracture-risk indices (-, from
    the averaged stress, as in 2D), their locations (m) and distances to both electrodes (m).
    A location is the smallest x whose value
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
        crack_risk_basis="flaw_average",
        crack_risk_index_local=float(columns["crack_risk_local"].max()),
        max_principal_flaw_average=float(columns["max_principal_flaw_average_Pa"].max()),
        max_principal_flaw_average_location=where("max_principal_flaw_average_Pa"),
        max_von_mises_flaw_average=float(columns["von_mises_flaw_average_Pa"].max()),
        flaw_average_length=float(columns["flaw_average_length_m"].max()),
        max_stress_intensity=float(columns["stress_intensity_Pa_m05"].max()),
        fracture_risk_index=float(columns["fracture_risk"].max()),
        fracture_risk_location=[float(x[f])],
        fracture_risk_distances={"cathode": float(x[f]), "anode": float(length - x[f])})
