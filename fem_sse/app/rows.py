"""The profile rows of a 1D run (profile.csv): x, mu_Li0, eta_i, eta_e, sigma_eh and the layer
of every sample, from the exact solution or a 1D FEM state (W linear per cell)."""

from __future__ import annotations

import numpy as np

from fem_sse.materials.conductivity import mu_from_kirchhoff, sigma_eh
from fem_sse.spec.config import Config

__all__ = ["fem_rows", "profile_rows", "segment_of"]


def _segment_table(config: Config) -> dict[str, np.ndarray]:
    """A (S/m), B (eV) and layer material name of every segment, for indexing by segment."""
    segments = config.segments()
    return {"A": np.array([s.material.A for s in segments]),
            "B": np.array([s.material.B for s in segments]),
            "layer": np.array([config.layers[s.layer].material for s in segments], dtype=object)}


def profile_rows(config: Config, x: np.ndarray, mu: np.ndarray, segment: np.ndarray,
                 eta_i: np.ndarray) -> dict:
    """Profile rows at x (m) with mu_Li0 (eV), the segment index and eta_i (eV) of each."""
    table = _segment_table(config)
    A, B = table["A"][segment], table["B"][segment]  # noqa: N806
    return {"x_m": x, "x_over_L": x / config.thickness, "mu_Li0_eV": mu, "eta_i_eV": eta_i,
            "eta_e_eV": mu - eta_i, "sigma_eh_S_per_m": sigma_eh(mu, A, B, config.cell.kT),
            "layer": table["layer"][segment].tolist()}


def segment_of(config: Config, x: np.ndarray) -> np.ndarray:
    """Segment index of positions x (m)."""
    edges = np.array([s.x0 for s in config.segments()])
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 1)


def fem_rows(config: Config, profile, phi: float) -> dict:
    """Profile rows of a 1D FEM state (rank 0): ``profile`` from gather_profile, Phi (V)."""
    x, w, seg = _subsample(profile)
    table = _segment_table(config)
    mu = mu_from_kirchhoff(w, table["A"][seg], table["B"][seg], config.cell.kT)
    eta_i = phi * (1.0 - config.ionic_resistance(x) / config.ionic_resistance(config.thickness))
    return profile_rows(config, x, mu, seg, eta_i)


def _subsample(profile, per_interval: int = 8):
    """W is linear between the nodes of a cell: sample it densely so that mu(W), which is not,
    shows the jumps sharply. Returns flat (x (m), W (A/m), segment) arrays."""
    t = np.linspace(0.0, 1.0, per_interval + 1)[:-1]
    x0, x1 = profile.x[:, :-1], profile.x[:, 1:]
    w0, w1 = profile.w[:, :-1], profile.w[:, 1:]
    xs = (x0[..., None] + (x1 - x0)[..., None] * t).reshape(len(x0), -1)
    ws = (w0[..., None] + (w1 - w0)[..., None] * t).reshape(len(w0), -1)
    xs = np.concatenate([xs, profile.x[:, -1:]], axis=1)
    ws = np.concatenate([ws, profile.w[:, -1:]], axis=1)
    seg = np.repeat(profile.segment, xs.shape[1])
    return xs.ravel(), ws.ravel(), seg
