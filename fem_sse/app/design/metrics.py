"""Design metrics of a 1D stack from the exact solver (milliseconds per design).

Everything is computed from :class:`~fem_sse.transport.exact1d.ExactSolution` without a mesh:

* GEB jumps: where mu_Li0 crosses the B of the layer it is in (the ``jumps`` of ``fem-sse run``)
  and the distance of each from the nearest electrode; the design rule "jumps at the edges"
  holds when every jump lies within ``edge_zone`` L of an electrode.
* Fractions of the thickness *open* to overshoot / undershoot: mu_Li0 within ``margin_eV`` of
  the anode / cathode potential (an ionic bottleneck there, with its typical 0.1 eV jump, can
  push mu_Li0 past the electrode's: Li metal islands or O2), and whether a bottleneck strip lies
  inside; the actual over/undershoot fractions (mu_Li0 beyond the electrode potentials).
* t_Li and the electronic leakage current, the area-specific ionic resistance (rate capability).
* The laterally constrained 1D film (fem_sse.mechanics.film) on points dense in mu_Li0: peak von
  Mises and principal stress, crack-risk index, and the tensile-over-strength fraction.
* How far inside the electrode window each layer's B lies (negative: outside).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fem_sse.spec.config import Config
from fem_sse.transport.exact1d import ExactSolution

__all__ = ["METRICS", "DesignOptions", "b_window_margin", "design_metrics", "failed_metrics",
           "film_points"]


@dataclass(frozen=True)
class DesignOptions:
    """What "at the edges" and "open to overshoot" mean.

    Attributes:
        edge_zone: a jump is at an edge when within edge_zone * L of an electrode (-).
        margin_eV: mu_Li0 within this of an electrode potential is open to over/undershoot (eV).
        film_points: samples per segment for the film stress (dense in mu_Li0, exact x(mu)).
    """

    edge_zone: float = 0.05
    margin_eV: float = 0.3
    film_points: int = 24


#: Scalar metrics: name -> (unit, meaning). Lists (``jump_x_over_L``...) are extra keys.
METRICS: dict[str, tuple[str, str]] = {
    "t_li": ("-", "ionic transference number"),
    "one_minus_t_li": ("-", "electronic fraction of the current (leakage)"),
    "leakage_A_per_m2": ("A/m^2", "electronic (electron + hole) current density"),
    "ionic_resistance_ohm_m2": ("Ohm m^2", "area-specific Li+ resistance sum L_k/sigma_k"),
    "ionic_potential_drop_V": ("V", "Li+ potential drop at the operating current"),
    "n_jumps": ("-", "number of GEB jumps (mu_Li0 crossing the layer's B)"),
    "max_jump_distance_over_L": ("-", "largest distance of a GEB jump from its nearest "
                                 "electrode, over L (0 without jumps)"),
    "max_jump_distance_m": ("m", "same, in metres"),
    "jumps_at_edges": ("0/1", "1 when every GEB jump lies within edge_zone L of an electrode"),
    "overshoot_open_fraction": ("-", "fraction of L with mu_Li0 > mu_anode - margin"),
    "undershoot_open_fraction": ("-", "fraction of L with mu_Li0 < mu_cathode + margin"),
    "bottlenecks_in_open_zone": ("-", "bottleneck strips overlapping the open zones"),
    "overshoot_fraction": ("-", "fraction of L with mu_Li0 > mu_anode"),
    "undershoot_fraction": ("-", "fraction of L with mu_Li0 < mu_cathode"),
    "b_window_margin_eV": ("eV", "min over layers of min(B - mu_cathode, mu_anode - B); "
                           "negative when some B lies outside the electrode window"),
    "max_von_mises_Pa": ("Pa", "peak von Mises stress of the laterally constrained film"),
    "max_principal_Pa": ("Pa", "peak max principal stress of the film (tension > 0)"),
    "crack_risk_index": ("-", "max principal stress averaged over the flaw size / strength, "
                         "peak (fem_sse.mechanics.average)"),
    "tensile_over_strength_fraction": ("-", "fraction of L where max principal > strength"),
}


def _open_zones(sol: ExactSolution, config: Config, margin: float) -> list[tuple[float, float]]:
    """x intervals (m) with mu_Li0 within ``margin`` of the anode or cathode potential."""
    return (sol.intervals_where(above=config.cell.mu_anode - margin)
            + sol.intervals_where(below=config.cell.mu_cathode + margin))


def film_points(sol: ExactSolution, n: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (m), mu_Li0 (eV) and layer index, ``n`` per segment equally spaced in mu_Li0.

    x(mu) is the closed form (no root search), so jumps of any width are sampled; both ends of
    every segment are included (a segment's extreme values of mu_Li0 sit at its ends).
    """
    xs, mus, layers = [], [], []
    for i, seg in enumerate(sol.segments):
        y0, y1 = sol.y_edges(i)
        ys = np.linspace(y0, y1, n)
        x = np.concatenate([[seg.x0], sol.x_of(i, ys[1:-1]), [seg.x1]])
        x = np.clip(np.where(np.isfinite(x), x, seg.x1), seg.x0, seg.x1)
        xs.append(x)
        mus.append(seg.material.B + sol.kT * ys)
        layers.append(np.full(n, seg.layer))
    x, mu, layer = (np.concatenate(v) for v in (xs, mus, layers))
    order = np.argsort(x, kind="stable")
    return x[order], mu[order], layer[order]


def _film(sol: ExactSolution, config: Config, n: int) -> dict:
    from fem_sse.mechanics import default_spec, film_stress

    x, mu, layer = film_points(sol, n)
    cols = film_stress(config, default_spec(config), x, mu, layer)
    risk = cols["crack_risk_local"]
    # length where risk > 1, from the sampled intervals (both ends above: whole interval)
    above = (risk[:-1] > 1.0) & (risk[1:] > 1.0)
    return {"max_von_mises_Pa": float(cols["von_mises_Pa"].max()),
            "max_principal_Pa": float(cols["max_principal_Pa"].max()),
            "crack_risk_index": float(cols["crack_risk"].max()),
            "tensile_over_strength_fraction": float(np.diff(x)[above].sum() / config.thickness)}


def b_window_margin(config: Config) -> float:
    """min over layers of min(B - mu_cathode, mu_anode - B) (eV); < 0: a B outside the window."""
    cell = config.cell
    return min(min(config.materials[layer.material].B - cell.mu_cathode,
                   cell.mu_anode - config.materials[layer.material].B)
               for layer in config.layers)


def design_metrics(sol: ExactSolution, options: DesignOptions | None = None) -> dict:
    """All design metrics of a solved 1D stack (see :data:`METRICS`; SI, potentials in eV).

    Extra (non-scalar) keys: ``jump_x_over_L`` (positions), ``jump_layers`` (material names),
    ``open_zone_bottleneck_names``.
    """
    options = options or DesignOptions()
    config = sol.config
    cell, L = config.cell, config.thickness  # noqa: N806
    jumps = sol.crossings(lambda seg: seg.material.B)
    distances = [min(x, L - x) for x, _, _ in jumps]
    worst = max(distances, default=0.0)
    zones = _open_zones(sol, config, options.margin_eV)
    inside = [b.name for b in config.bottlenecks
              if any(b.x0 < z1 and b.x1 > z0 for z0, z1 in zones)]
    metrics = {
        "t_li": sol.t_li, "one_minus_t_li": sol.one_minus_t_li,
        "leakage_A_per_m2": sol.j_electronic,
        "ionic_resistance_ohm_m2": float(config.ionic_resistance(L)[0]),
        "ionic_potential_drop_V": sol.ionic_potential_drop,
        "n_jumps": len(jumps),
        "max_jump_distance_over_L": worst / L, "max_jump_distance_m": worst,
        "jumps_at_edges": int(worst <= options.edge_zone * L),
        "overshoot_open_fraction": sol.length_where(above=cell.mu_anode - options.margin_eV) / L,
        "undershoot_open_fraction": sol.length_where(below=cell.mu_cathode + options.margin_eV)
        / L,
        "bottlenecks_in_open_zone": len(inside),
        "overshoot_fraction": sol.length_where(above=cell.mu_anode) / L,
        "undershoot_fraction": sol.length_where(below=cell.mu_cathode) / L,
        "b_window_margin_eV": b_window_margin(config),
        **_film(sol, config, options.film_points),
        "jump_x_over_L": [x / L for x, _, _ in jumps],
        "jump_layers": [config.layers[sol.segments[i].layer].material for _, i, _ in jumps],
        "open_zone_bottleneck_names": inside,
    }
    return metrics


def failed_metrics() -> dict:
    """The metrics of a design without a solution: NaN everywhere (lists empty)."""
    return {**{name: math.nan for name in METRICS}, "jump_x_over_L": [], "jump_layers": [],
            "open_zone_bottleneck_names": []}
