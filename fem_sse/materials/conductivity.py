"""Solid-electrolyte transport parameters and presets (no mesh, no DOLFINx).

The electronic conductivity follows the paper's defect-chemistry law (Kim & Li 2025, Eqs. 14-15)::

    sigma_eh(mu) = sigma_e + sigma_h = 2 A cosh((mu - B) / kT)        (S/m)

with ``mu`` the Li0 chemical potential (eV) and ``B`` (eV) the potential of the generic electronic
bottleneck (GEB), where sigma_eh is smallest. The Kirchhoff variable of a material,
``W(mu) = int sigma_eh dmu = 2 A kT sinh((mu - B)/kT)`` (S/m * V = A/m), is what the finite
element solver discretises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Boltzmann constant (eV/K).
BOLTZMANN_EV = 8.617333262e-5

__all__ = ["BOLTZMANN_EV", "Material", "PRESETS", "kirchhoff", "mu_from_kirchhoff", "sigma_eh"]


def sigma_eh(mu, A, B, kT: float):  # noqa: N803
    """sigma_e + sigma_h = 2 A cosh((mu - B)/kT) (S/m); A (S/m) and B (eV) may be arrays."""
    return 2.0 * np.asarray(A) * np.cosh((np.asarray(mu) - B) / kT)


def kirchhoff(mu, A, B, kT: float):  # noqa: N803
    """W(mu) = 2 A kT sinh((mu - B)/kT) (A/m); A (S/m) and B (eV) may be arrays (per cell)."""
    return 2.0 * np.asarray(A) * kT * np.sinh((np.asarray(mu) - B) / kT)


def mu_from_kirchhoff(w, A, B, kT: float):  # noqa: N803
    """Inverse of :func:`kirchhoff`: mu = B + kT asinh(W / (2 A kT)) (eV), elementwise."""
    return B + kT * np.arcsinh(np.asarray(w) / (2.0 * np.asarray(A) * kT))


@dataclass(frozen=True)
class Material:
    """Transport data of one solid electrolyte.

    Attributes:
        name: label used in outputs.
        sigma_li: Li+ conductivity (S/m), independent of mu_Li0.
        A: electronic prefactor (S/m); sigma_eh = 2 A cosh((mu - B)/kT).
        B: Li0 potential of the generic electronic bottleneck (eV).
        source: where the numbers come from.
    """

    name: str
    sigma_li: float
    A: float  # noqa: N815 - the paper's symbol
    B: float  # noqa: N815
    source: str = "user"

    @staticmethod
    def config_keys() -> tuple[str, ...]:
        """Keys accepted in a ``[materials.NAME]`` table."""
        return ("preset", "sigma_li", "A", "B", "source")

    @classmethod
    def from_table(cls, name: str, table: dict, number: Callable) -> Material:
        """Build from a config table; ``number(key, **bounds)`` reads and range-checks a value.

        A ``preset`` supplies defaults that the table's own keys override.
        """
        base = {}
        if "preset" in table:
            preset = table["preset"]
            if not isinstance(preset, str) or preset not in PRESETS:
                from fem_sse.spec.config import ConfigError  # leaf module: import only on error

                raise ConfigError(f"materials.{name}.preset",
                                  f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
            base = dataclasses.asdict(PRESETS[preset])
        get = {key: (lambda key=key, **kw: number(key, default=base.get(key), **kw))
               for key in ("sigma_li", "A", "B")}
        return cls(
            name=name,
            sigma_li=get["sigma_li"](lo=0.0, lo_open=True, hi=1e4),
            A=get["A"](lo=0.0, lo_open=True, hi=1e4),
            B=get["B"](lo=-20.0, hi=20.0),
            source=str(table.get("source", base.get("source", "user"))),
        )

    def with_sigma_li(self, sigma_li: float) -> Material:
        """A copy with another Li+ conductivity (S/m), e.g. inside a bottleneck strip."""
        return dataclasses.replace(self, sigma_li=sigma_li)

    def sigma_eh(self, mu, kT: float):
        """Electronic conductivity sigma_e + sigma_h (S/m) at Li0 potential ``mu`` (eV)."""
        return sigma_eh(mu, self.A, self.B, kT)

    def kirchhoff(self, mu, kT: float):
        """Kirchhoff variable W(mu) = 2 A kT sinh((mu - B)/kT) (A/m)."""
        return kirchhoff(mu, self.A, self.B, kT)

    def mu_from_kirchhoff(self, w, kT: float):
        """Inverse of :meth:`kirchhoff`: mu = B + kT asinh(W / (2 A kT)) (eV)."""
        return mu_from_kirchhoff(w, self.A, self.B, kT)


_PAPER = "Kim & Li, Acta Mater. 2025 (Secs. 3.1-3.5); A calibrated to the reported t_Li"

#: Material presets usable as ``[materials.NAME] preset = "..."``. B is the layer's GEB (eV).
PRESETS: dict[str, Material] = {
    "paper_cathodic": Material("paper_cathodic", 0.1, 1e-17, -2.3, _PAPER),
    "paper_anodic": Material("paper_anodic", 0.1, 1e-17, -0.7, _PAPER),
    "llzo_like": Material("llzo_like", 0.1, 1e-17, -1.48, _PAPER + " (Fig. 2, LLZO-like GEB)"),
    "llzo": Material("llzo", 0.03, 1e-17, -1.48,
                     "sigma_li 0.3 mS/cm and GEB -1.48 eV: kim-li-2025; A assumed as the paper's"),
    "lpscl": Material("lpscl", 0.09, 1e-17, -1.7,
                      "sigma_li 0.9 mS/cm: Dandena et al. 2025 (3.1.1); B at the ~1.7 V "
                      "reduction limit and A are assumptions"),
}
