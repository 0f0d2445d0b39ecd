"""The closed form against independent numerical integration and the paper's values."""

import math

import numpy as np
import pytest

from fem_sse.spec.config import parse_config
from fem_sse.transport.exact1d import SolveError, solve_exact


def test_profile_satisfies_ode_pointwise(bilayer_data):
    config = parse_config(bilayer_data)
    sol = solve_exact(config)
    x = np.linspace(2e-6, 48e-6, 50)
    h = 1e-9
    slope = (sol.mu(x + h) - sol.mu(x - h)) / (2 * h)
    m = config.segments()[0].material
    rhs = -sol.j_ionic / m.sigma_li + sol.j_electronic / m.sigma_eh(sol.mu(x), config.cell.kT)
    np.testing.assert_allclose(slope, rhs, rtol=1e-4, atol=1.0)


def test_fig3_values(bilayer_data):
    sol = solve_exact(parse_config(bilayer_data))
    assert math.isclose(sol.t_li, 0.9812, abs_tol=1e-3)  # paper: 0.9812
    jumps = [x / 100e-6 for x, _, _ in sol.crossings(lambda s: s.material.B)]
    assert jumps[0] < 0.01 and jumps[1] > 0.99  # the paper's "x/L < 0.01 and > 0.99"
    assert math.isclose(sol.mu_edges[1], -1.5, abs_tol=1e-4)  # paper Fig. 8a: -1.5000


def test_potentiostatic_is_the_inverse_of_galvanostatic(bilayer_data):
    galv = solve_exact(parse_config(bilayer_data))
    del bilayer_data["cell"]["current_density"]
    bilayer_data["cell"]["ionic_potential_drop"] = galv.ionic_potential_drop
    pot = solve_exact(parse_config(bilayer_data))
    assert math.isclose(pot.j_ionic + pot.j_electronic, 10.0, rel_tol=1e-9)
    assert math.isclose(pot.one_minus_t_li, galv.one_minus_t_li, rel_tol=1e-8)


def test_no_steady_state_is_reported(bilayer_data):
    bilayer_data["materials"] = {"S": {"sigma_li": 0.1, "A": 1e-17, "B": -1.48}}
    bilayer_data["geometry"]["layers"] = [{"material": "S", "thickness": 100e-6}]
    with pytest.raises(SolveError, match="no steady state"):
        solve_exact(parse_config(bilayer_data))


def _shoot_backward(config, j_ionic, j_electronic):
    """mu at x = 0 by stiff numerical integration from the anode towards the cathode.

    Independent of the closed form: it integrates dW/dx = j_e - (j_i / sigma_li) sigma_eh(W) in
    the Kirchhoff variable W = 2 A kT sinh((mu - B)/kT) (smooth where mu jumps), backwards,
    which is the stable direction in strongly blocking strips.
    """
    from scipy.integrate import solve_ivp

    kT = config.cell.kT
    mu = config.cell.mu_anode
    for seg in reversed(config.segments()):
        m = seg.material
        scale = 2.0 * m.A * kT
        drift = j_ionic / m.sigma_li

        def rhs(x, v, m=m, scale=scale, drift=drift):
            return [(j_electronic - drift * 2.0 * m.A * math.sqrt(v[0] ** 2 + 1.0)) / scale]

        v0 = math.sinh((mu - m.B) / kT)
        sol = solve_ivp(rhs, (seg.x1, seg.x0), [v0], method="Radau", rtol=1e-11, atol=1e-6)
        mu = m.B + kT * math.asinh(sol.y[0, -1])
    return mu


@pytest.mark.parametrize("case", ["fig3_bilayer", "fig6_thin_anodic", "fig7_sigma_x0.1",
                                  "fig7_sigma_x10"])
def test_closed_form_against_backward_integration(case):
    """The currents of the closed form carry a numerical integration from mu_a back to mu_c."""
    from pathlib import Path

    from fem_sse.spec.config import load_config

    config = load_config(Path(__file__).parent.parent / "cases" / f"{case}.toml")
    sol = solve_exact(config)
    mu0 = _shoot_backward(config, sol.j_ionic, sol.j_electronic)
    assert abs(mu0 - config.cell.mu_cathode) < 1e-6
    # and the check can fail: 1 % less electronic current misses the cathode by far more
    assert abs(_shoot_backward(config, sol.j_ionic, 0.99 * sol.j_electronic)
               - config.cell.mu_cathode) > 1e-3
