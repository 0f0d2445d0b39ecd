"""Chemical strain of Li0(SE): off-stoichiometry laws delta(mu_Li0) and mechanical data (NumPy).

A leaf like :mod:`fem_sse.materials.conductivity` (no mesh, no DOLFINx). The isotropic
eigenstrain of a material is (docs/mechanics.md)::

    eps* = expansion * (delta(mu_Li0) - delta_ref) * I

with ``delta`` the excess Li0 per formula unit (-), ``expansion`` the linear chemical expansion per
unit delta (-) and ``delta_ref`` the stress-free (as-fabricated) state. Three laws:

* :class:`DiluteLaw`: dilute defect chemistry, electrons minus holes, with the transport A and B,
  ``delta = delta0 sinh((mu - B)/kT)`` capped at ``+-cap``; ``delta0 = 2 A / (e u N)`` by default
  (:meth:`DiluteLaw.prefactor` derives it from sigma_eh = 2 A cosh).
* :class:`TwoStateLaw`: bounded, Fermi-like between the fully oxidized and fully reduced limits,
  ``delta = d_ox + (d_red - d_ox) / (1 + exp(-(mu - mu_half)/width))``.
* :class:`TableLaw`: a user table delta(mu), linearly interpolated, constant beyond its ends.

Every default below is an assumption (materials.md: no measured Li0(SE) expansion exists) and can
be overridden per material in the config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fem_sse.materials.conductivity import Material

__all__ = ["DEFAULTS", "DiluteLaw", "MECHANICAL_PRESETS", "MechanicalMaterial", "TableLaw",
           "TwoStateLaw"]

ELEMENTARY_CHARGE = 1.602176634e-19  # C

#: Default assumptions (SI). See docs/mechanics.md for the reasoning.
DEFAULTS = {
    # Omega_Li ~ 21.6 A^3 (review-mixed-conductor-interlayers, Eq. 2) over 3 x ~240 A^3 per
    # formula unit: linear strain per Li0 per formula unit.
    "expansion": 0.03,
    # saturation of the dilute law / limits of the two-state law: +-0.05 Li0 per formula unit,
    # i.e. an eigenstrain swing of 0.3 % between the limits (materials.md: 0.1-0.3 %).
    "cap": 0.05,
    "electron_mobility": 1e-4,   # m^2/(V s), electrons and holes, converts A to a carrier
                                 # density (assumption)
    "site_density": 4e27,        # formula units per m^3 (~250 A^3 each, assumption)
    # largest flaw (m): of the order of the grain size of sintered garnets (Hu et al.: grains
    # up to 13 +- 5 um in hot-pressed LLZTO; assumption: 5 um)
    "flaw_size": 5e-6,
}


@dataclass(frozen=True)
class DiluteLaw:
    """delta = delta0 sinh((mu - B)/kT), capped at +-cap (-).

    Attributes:
        cap: saturation |delta| (-).
        delta0: prefactor (-); None derives it from the transport A: A / (e u_e N).
    """

    cap: float = DEFAULTS["cap"]
    delta0: float | None = None
    kind = "dilute"

    def prefactor(self, transport: Material) -> float:
        """delta0 (-), from A (S/m) when not given.

        sigma_eh = sigma_e + sigma_h = A e^y + A e^-y (y = (mu - B)/kT), and n = sigma / (e u)
        for each carrier (equal mobilities u), so the excess of electrons over holes per formula
        unit is (n_e - n_h) / N = (A / (e u N)) (e^y - e^-y) = (2 A / (e u N)) sinh(y).
        """
        if self.delta0 is not None:
            return self.delta0
        return 2.0 * transport.A / (ELEMENTARY_CHARGE * DEFAULTS["electron_mobility"]
                                    * DEFAULTS["site_density"])

    def cap_distance(self, transport: Material, kT: float) -> float:
        """|mu - B| (eV) at which the law reaches its cap: kT asinh(cap / delta0)."""
        return kT * math.asinh(self.cap / self.prefactor(transport))

    def delta(self, mu, transport: Material, kT: float) -> np.ndarray:
        """Off-stoichiometry (-) at mu_Li0 ``mu`` (eV); kT in eV."""
        y = np.clip((np.asarray(mu, dtype=float) - transport.B) / kT, -700.0, 700.0)
        return np.clip(self.prefactor(transport) * np.sinh(y), -self.cap, self.cap)


@dataclass(frozen=True)
class TwoStateLaw:
    """Bounded Fermi-like law between delta_oxidized and delta_reduced (-).

    Attributes:
        delta_oxidized: limit for mu -> -inf (-).
        delta_reduced: limit for mu -> +inf (-).
        mu_half: potential of the midpoint (eV); None = the material's B.
        width: transition width (eV); None = kT.
    """

    delta_oxidized: float = -DEFAULTS["cap"]
    delta_reduced: float = DEFAULTS["cap"]
    mu_half: float | None = None
    width: float | None = None
    kind = "two_state"

    def delta(self, mu, transport: Material, kT: float) -> np.ndarray:
        """Off-stoichiometry (-) at mu_Li0 ``mu`` (eV); kT in eV."""
        centre = transport.B if self.mu_half is None else self.mu_half
        width = kT if self.width is None else self.width
        z = (np.asarray(mu, dtype=float) - centre) / width
        fraction = 0.5 * (1.0 + np.tanh(0.5 * z))
        return self.delta_oxidized + (self.delta_reduced - self.delta_oxidized) * fraction


@dataclass(frozen=True)
class TableLaw:
    """delta(mu) from a table: mu (eV, increasing) and delta (-), linear, constant outside."""

    mu: tuple[float, ...]
    values: tuple[float, ...]
    kind = "table"

    def delta(self, mu, transport: Material, kT: float) -> np.ndarray:
        """Off-stoichiometry (-) at mu_Li0 ``mu`` (eV)."""
        return np.interp(np.asarray(mu, dtype=float), self.mu, self.values)


@dataclass(frozen=True)
class MechanicalMaterial:
    """Elastic and chemical-strain data of one material.

    Attributes:
        E: Young's modulus (Pa).
        nu: Poisson's ratio (-).
        strength: fracture strength (Pa), the denominator of the crack-risk index.
        toughness: fracture toughness K_IC (Pa m^0.5), the denominator of the fracture-risk
            index; None if unknown.
        expansion: linear chemical expansion per unit delta (-).
        law: the delta(mu) law.
        delta_ref: stress-free off-stoichiometry (-); None = from mechanics.mu_ref, else 0
            (the as-fabricated, stoichiometric SE: :meth:`reference`).
        source: where the numbers come from.
        flaw_size: size a of the largest flaw assumed (m): K_I = Y sigma_1 sqrt(pi a).
        flaw_shape_factor: the geometry factor Y of K_I (-; 1 = a through crack of half-length
            a in a wide plate, 1.12 = an edge crack of depth a).
    """

    E: float  # noqa: N815 - the usual symbol
    nu: float
    strength: float
    toughness: float | None = None
    expansion: float = DEFAULTS["expansion"]
    law: DiluteLaw | TwoStateLaw | TableLaw = DiluteLaw()
    delta_ref: float | None = None
    source: str = "assumption"
    flaw_size: float = DEFAULTS["flaw_size"]
    flaw_shape_factor: float = 1.0

    @property
    def flaw_factor(self) -> float:
        """Y sqrt(pi a) (m^0.5): K_I = flaw_factor x sigma_1."""
        return self.flaw_shape_factor * math.sqrt(math.pi * self.flaw_size)

    @property
    def fracture_toughness(self) -> float:
        """K_IC (Pa m^0.5), NaN when unknown (the fracture-risk index is then NaN)."""
        return math.nan if self.toughness is None else self.toughness

    @property
    def shear_modulus(self) -> float:
        """G = E / (2 (1 + nu)) (Pa)."""
        return self.E / (2.0 * (1.0 + self.nu))

    @property
    def lame_lambda(self) -> float:
        """lambda = E nu / ((1 + nu)(1 - 2 nu)) (Pa)."""
        return self.E * self.nu / ((1.0 + self.nu) * (1.0 - 2.0 * self.nu))

    def reference(self, transport: Material, kT: float, mu_ref: float | None) -> float:
        """delta_ref (-): explicit, else delta(mu_ref), else 0.

        The default 0 is the as-fabricated SE: synthesised stoichiometric (no excess Li0, equal
        electron and hole densities), before it meets Li metal or a cathode. That is mu_Li0 = B
        for the dilute and (default) two-state laws, so a layer is stress-free where mu_Li0 sits
        at its own GEB and strained in proportion to delta(mu) elsewhere (docs/mechanics.md).
        """
        if self.delta_ref is not None:
            return self.delta_ref
        if mu_ref is None:
            return 0.0
        return float(self.law.delta(mu_ref, transport, kT))

    def eigenstrain(self, mu, transport: Material, kT: float, mu_ref: float | None = None):
        """Isotropic eigenstrain eps* (-) at mu_Li0 ``mu`` (eV)."""
        delta = self.law.delta(mu, transport, kT)
        return self.expansion * (delta - self.reference(transport, kT, mu_ref))


_LLZO = ("E 149.8 GPa, nu 0.26 (Ni et al., resonant ultrasound, hot pressed); flexural strength "
         "150 MPa (LLCZN garnet); K_IC 1.0 MPa m^0.5 within the 0.44-1.51 of Hu et al. "
         "(nanoindentation, LLZTO, density-dependent); flaw 5 um, of the order of the grain "
         "size (Hu et al.: up to 13 +- 5 um), is an assumption (materials.md)")
_LPSCL = ("E 22.1 GPa, nu 0.37 (review-li-argyrodite Table 2, DFT); strength 30 MPa, K_IC "
          "0.2 MPa m^0.5 and flaw 2 um (cold-pressed particle size) are assumptions (no "
          "measured value in materials.md)")

#: Elastic data per transport preset name; other materials get ``MECHANICAL_PRESETS["default"]``.
MECHANICAL_PRESETS: dict[str, MechanicalMaterial] = {
    "llzo": MechanicalMaterial(149.8e9, 0.26, 150e6, 1.0e6, source=_LLZO),
    "lpscl": MechanicalMaterial(22.1e9, 0.37, 30e6, 0.2e6, source=_LPSCL, flaw_size=2e-6),
    "default": MechanicalMaterial(
        149.8e9, 0.26, 150e6, 1.0e6,
        source="assumption: LLZO-like (the paper's model SE is garnet-like); " + _LLZO),
}
