"""Weak form of the electronic transport in the Kirchhoff variable W (pure UFL, any dimension).

The PDE (model.md section 1 and 6), with W = 2 A kT sinh((mu - B)/kT) (A/m) of each material,
u = -grad(eta_i) = -Phi grad(w) (V/m) and the unknown scaled as omega = W / w_scale::

    div(j) = 0,     j = grad(omega) - sigma(omega) grad(eta_i),
    sigma(omega) = sqrt((omega/kT)^2 + (2 A / w_scale)^2)          (sigma_eh / w_scale)
    omega = omega_D(mu_e) = W(mu_e) / w_scale on each electrode,   j . n = 0 elsewhere.

Discretisation: omega in DG(p); for every test function v

    F(omega; v) = sum_K (j, grad v)_K
                + sum_F [ -<j.n> [v] - <grad v . n> [omega]_eff + alpha/h [omega]_eff [v] ]
                + sum_electrodes [ -q_n v - (grad v . n) (omega - omega_D) ]

with <j.n> the average diffusive flux plus the Lax-Friedrichs drift flux (:func:`drift_flux`),
[omega]_eff the jump inside a material and the mapped jump across materials (mu continuous:
:func:`electronic_forms`), alpha = 10 p (p + 1) and q_n the conservative outward electrode
flux (:class:`Electrode`). The Jacobian is the Gateaux derivative of F (``ufl.derivative``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ufl

from fem_sse.spec.config import MAX_SCALED_POTENTIAL
from fem_sse.transport.discretisation import discretisation_for

__all__ = ["PENALTY", "Coefficients", "Electrode", "ElectronicForms", "asinh", "drift_flux",
           "electronic_forms", "indicator_form", "scaled_kirchhoff"]

PENALTY = 10.0  # interior-penalty constant, times p (p + 1)


def asinh(z):
    """asinh for UFL: exact derivative at 0, no overflow or cancellation for large |z|."""
    az = abs(z)
    big = ufl.max_value(az, 1.0)
    large = ufl.sign(z) * (ufl.ln(big) + ufl.ln(1.0 + ufl.sqrt(1.0 + 1.0 / big**2)))
    small = ufl.ln(z + ufl.sqrt(z**2 + 1.0))  # accurate for |z| <= 1
    return ufl.conditional(ufl.gt(az, 1.0), large, small)


def scaled_kirchhoff(mu, A, B, kT, w_scale):  # noqa: N803
    """UFL W(mu) / w_scale = 2 A kT sinh((mu - B)/kT) / w_scale, the argument clamped to
    +-MAX_SCALED_POTENTIAL (sinh overflows beyond ~710; validated electrode potentials stay far
    inside)."""
    arg = ufl.max_value(ufl.min_value((mu - B) / kT, MAX_SCALED_POTENTIAL), -MAX_SCALED_POTENTIAL)
    return 2.0 * A * kT * ufl.sinh(arg) / w_scale


def drift_flux(un_in, un_out, sigma_in, sigma_out, omega_jump, kT):  # noqa: N803
    """Numerical drift flux sigma_eh u.n through a facet (Lax-Friedrichs).

    With j = grad W + sigma_eh(W) u, information travels with the velocity
    -d sigma_eh/dW u = -sign(W) |W| / (kT^2 sigma_eh) u: against u where W > 0 (electrons) and
    along u where W < 0 (holes). Upwinding by the sign of u.n alone is downwinding for one of
    the two carriers, which admits spurious discrete states in thin, strongly driven strips. The
    Lax-Friedrichs flux with the bound |d sigma_eh/dW| <= 1/kT upwinds both signs (it equals the
    Godunov flux where |W| >> 2 A kT) and stays smooth for Newton.

    Each side's flux is formed with its own u (sigma_li jumps across strips and layers): the
    average of the products, not the product of the averages, which would be inconsistent where
    both sigma_eh and sigma_li change at one facet (a layer interface between materials of
    different Li+ conductivity).

    Args:
        un_in, un_out: u.n on both sides, n the outward normal of the "in" side (V/m).
        sigma_in, sigma_out: sigma_eh / w_scale on both sides.
        omega_jump: omega_in - omega_out (the mapped jump across materials).
        kT: thermal energy (eV).
    """
    speed = ufl.max_value(abs(un_in), abs(un_out)) / kT
    return 0.5 * (sigma_in * un_in + sigma_out * un_out) - 0.5 * speed * omega_jump


def _side(f, s):
    return f if s is None else f(s)


@dataclass(frozen=True)
class Coefficients:
    """What the electronic form is built from (UFL objects on one mesh).

    Attributes:
        omega: the unknown W / w_scale (DG(p)); v: its test function.
        A, B, material_id: per-cell A (S/m), B (eV) and material index (DG0).
        w: the ionic shape function (eta_i = Phi w, dimensionless).
        phi: Phi (V); drift: drift strength (continuation, 1 = the problem); w_scale: the
            scaling W = w_scale omega (A/m): constants.
        kT: thermal energy (eV); degree: p; h_facet, h_cell: the facet and cell extents
            normal to the facet (m, :func:`fem_sse.transport.ionic.facet_lengths`).
    """

    omega: object
    v: object
    A: object  # noqa: N815
    B: object  # noqa: N815
    material_id: object
    w: object
    phi: object
    drift: object
    w_scale: object
    kT: float  # noqa: N815
    degree: int
    h_facet: object
    h_cell: object

    def sigma(self, s=None):
        """sigma_eh(W) / w_scale, on one side of a facet when ``s`` is given."""
        return ufl.sqrt((_side(self.omega, s) / self.kT) ** 2
                        + (2.0 * _side(self.A, s) / self.w_scale) ** 2)

    def mu(self, s=None):
        """mu_Li0 (eV) = B + kT asinh(W / (2 A kT))."""
        a = _side(self.A, s)
        return _side(self.B, s) + self.kT * asinh(self.w_scale * _side(self.omega, s)
                                                  / (2.0 * a * self.kT))

    def grad_eta(self):
        """grad(eta_i) (V/m) = drift Phi grad(w)."""
        return self.drift * self.phi * ufl.grad(self.w)

    @property
    def alpha(self) -> float:
        """The interior-penalty parameter PENALTY p (p + 1) (-)."""
        return PENALTY * self.degree * (self.degree + 1)


@dataclass
class Electrode:
    """A metal electrode in local equilibrium: mu_Li0 = ``mu`` (eV, a constant) on the facets
    tagged ``tag``, imposed weakly (Nitsche) on W of the adjacent material.

    It gives both the weak term of the residual and the outward electronic flux
    j_eh . n / w_scale that the currents and the bordered Newton row are assembled from, so
    the two are the same expression.
    """

    tag: int
    mu: object

    def target(self, c: Coefficients):
        """omega_D = W(mu_electrode) / w_scale of the adjacent material."""
        return scaled_kirchhoff(self.mu, c.A, c.B, c.kT, c.w_scale)

    def flux(self, c: Coefficients, n):
        """Conservative outward j_eh . n / w_scale (UFL integrand on the electrode)."""
        om_d = self.target(c)
        un_b = ufl.dot(-c.grad_eta(), n)
        sigma_d = ufl.sqrt((om_d / c.kT) ** 2 + (2.0 * c.A / c.w_scale) ** 2)
        qn = ufl.dot(ufl.grad(c.omega), n) + drift_flux(un_b, un_b, c.sigma(), sigma_d,
                                                         c.omega - om_d, c.kT)
        return qn - c.alpha / c.h_cell * (c.omega - om_d)

    def weak_term(self, c: Coefficients, n, conservative):
        """The Nitsche term of the residual (integrand), given :meth:`flux`."""
        return -conservative * c.v - ufl.dot(ufl.grad(c.v), n) * (c.omega - self.target(c))


@dataclass
class ElectronicForms:
    """The electronic residual and what the indicator and the currents need (UFL)."""

    residual: ufl.Form
    flux: object  # j_eh / w_scale
    jumps: list = field(default_factory=list)  # (effective jump, interior-facet measure)
    electrode_flux: dict = field(default_factory=dict)  # tag -> outward j_eh . n / w_scale ds
    targets: dict = field(default_factory=dict)  # tag -> omega_D


def _mapped_jump(c: Coefficients, d_eta=None):
    """Across a material interface the penalty acts on the jump of W measured in each side's
    own material: omega+ - T(omega-), with T the map W- -> mu -> W+ (mu continuous), averaged
    over both orientations. It vanishes exactly when mu is continuous, is nearly linear away
    from the GEB (Newton-friendly), and has no spurious state with both sides at their GEB (a
    [mu] penalty weighted by sigma_eh has one). Across a zero-thickness GB with a jump of
    eta_i, eta_e = mu - eta_i is continuous (the limit of a thin strip: the electrons cross it
    freely), so T maps mu- -> mu- + [eta_i] there (``d_eta`` = eta_i+ - eta_i-, eV)."""
    def w_of(s, mu_value):  # W of side s's material at mu_value, / w_scale
        return scaled_kirchhoff(mu_value, c.A(s), c.B(s), c.kT, c.w_scale)

    mu_p, mu_m = c.mu("+"), c.mu("-")
    if d_eta is not None:
        mu_p, mu_m = mu_p - d_eta, mu_m + d_eta
    return 0.5 * ((c.omega("+") - w_of("+", mu_m)) - (c.omega("-") - w_of("-", mu_p)))


def electronic_forms(c: Coefficients, dx, regular, gb_facets, ds, electrodes: list[Electrode],
                     source=None) -> ElectronicForms:
    """The residual F(omega; v) of the module docstring.

    Args:
        c: the coefficients.
        dx, ds: cell and tagged exterior-facet measures; regular: the interior facets that
            couple W; gb_facets: the zero-thickness GB facets (or None).
        electrodes: cathode and anode, in this order.
        source: optional UFL right-hand side f_W (A/m^3) of div(j_eh) + f_W = 0.
    """
    n = ufl.FacetNormal(c.omega.function_space.mesh)
    u = -c.grad_eta()  # the drift carries sigma_eh along -grad(eta_i)
    flux = ufl.grad(c.omega) - c.sigma() * c.grad_eta()  # j_eh / w_scale
    omega, v, kT = c.omega, c.v, c.kT

    def facet_terms(jump_eff, measure):
        flux_n = ufl.dot(ufl.avg(ufl.grad(omega)), n("+")) + drift_flux(
            ufl.dot(u("+"), n("+")), ufl.dot(u("-"), n("+")), c.sigma("+"), c.sigma("-"),
            jump_eff, kT)
        return (-flux_n * ufl.jump(v) - ufl.dot(ufl.avg(ufl.grad(v)), n("+")) * jump_eff
                + c.alpha / c.h_facet * jump_eff * ufl.jump(v)) * measure

    same = ufl.eq(c.material_id("+"), c.material_id("-"))
    jumps = [(ufl.conditional(same, omega("+") - omega("-"), _mapped_jump(c)), regular)]
    if gb_facets is not None:
        d_eta = c.drift * c.phi * (c.w("+") - c.w("-"))
        jumps.append((_mapped_jump(c, d_eta), gb_facets))
    F = ufl.inner(flux, ufl.grad(v)) * dx
    for jump, measure in jumps:
        F += facet_terms(jump, measure)
    if source is not None:  # a fixed degree: UFL over-estimates sinh(...)
        dx_src = dx(metadata={"quadrature_degree": 2 * c.degree + 4})
        F -= source / c.w_scale * v * dx_src
    out = ElectronicForms(F, flux, jumps)
    for electrode in electrodes:
        conservative = electrode.flux(c, n)  # outward j_eh . n / w_scale
        out.residual += electrode.weak_term(c, n, conservative) * ds(electrode.tag)
        out.electrode_flux[electrode.tag] = conservative * ds(electrode.tag)
        out.targets[electrode.tag] = electrode.target(c)
    return out


def indicator_form(c: Coefficients, forms: ElectronicForms, v0, dx, ds):
    """Residual-based error indicator per cell (DG0 test function ``v0``), squared.

    eta_K^2 = h^2 |div j|^2_K + sum over facets of (h |[j.n]|^2 + |[W]_eff|^2 / h) / 2, with
    j the scaled electronic current and [W]_eff the penalised jump (mu-jump across materials).
    """
    msh = c.omega.function_space.mesh
    n = ufl.FacetNormal(msh)
    flux = forms.flux
    h_cell = discretisation_for(msh).thin_extent(msh)
    form = h_cell**2 * ufl.div(flux) ** 2 * v0 * dx
    for jump_eff, measure in forms.jumps:
        form += (c.h_facet * ufl.jump(flux, n) ** 2 + jump_eff**2 / c.h_facet) * (
            v0("+") + v0("-")) * 0.5 * measure
    for tag, om_d in forms.targets.items():
        form += (c.omega - om_d) ** 2 / c.h_cell * v0 * ds(tag)
    return form
