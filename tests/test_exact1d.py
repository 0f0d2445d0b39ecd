"""The closed form against independent numerical integration and the paper's values."""

import json
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


# -- continuity: random stacks 31 and 122 of bench/stress1d.py (seed 16) ------------------------
# On these, mu(L) moves by 0.1-1 eV within one ulp of ln(j_e/j_i) (a jump that ends right at a
# segment end before a layer near its lower fixed point), so the march from the cathode misses
# mu_anode and the march from the anode misses mu_cathode at the root: the state is the cathode
# march up to the end where the two meet and the anode march after it.

def _bench(name):
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    return importlib.import_module(name)


def _stress_stack(index):
    import json

    data = _bench("stress1d").random_stack(16, index)
    return parse_config(json.loads(json.dumps(data)), data["name"])


@pytest.mark.parametrize("index", [31, 122])
def test_stress_stack_state_against_two_sided_integration(index):
    """Every segment end, and mu(x) inside the segments, agree with a Radau integration
    (bench/exact1d_continuity.py, no closed form) from the cathode up to the end where the
    integrations from both sides meet and from the anode after it: a continuous state meeting
    both electrode potentials. Before the fix the end of the
    first segment came from the anode march, 0.11 eV (stack 31) off the cathode's trajectory."""
    config = _stress_stack(index)
    sol = solve_exact(config)
    edges = sol.x_edges()
    # inside the segments: 3 points each
    x_in = [x for a, b in zip(edges[:-1], edges[1:]) for x in np.linspace(a, b, 5)[1:-1]]
    _, ref = _bench("exact1d_continuity").two_sided(config, sol, x_in)
    for k, x in enumerate(edges):
        assert abs(sol.mu_edges[k] - ref[x]) < 1e-9, (k, sol.mu_edges[k], ref[x])  # 1.2e-11
    err = max(abs(mu - ref[x]) for mu, x in zip(sol.mu(x_in), x_in))  # 2e-8 eV measured
    assert err < 1e-6, err
    from fem_sse.transport.exact1d import CONTINUITY_TOL_EV, _join_defects

    joins = _join_defects(sol.segments, sol.log_ratio, sol.j_electronic, sol.kT, sol.mu_edges)
    assert max(joins) < 1e-3 * CONTINUITY_TOL_EV  # 8e-14 eV measured


def test_discontinuous_state_is_a_defect(monkeypatch):
    """The continuity self-check raises (exit 3, with its stage) instead of returning a state
    whose segments do not join: here the anode march at every end (the pre-fix choice at the
    first end of stack 31), 0.11 eV off at x = 0."""
    from fem_sse.errors import ConvergenceError
    from fem_sse.transport import exact1d

    monkeypatch.setattr(exact1d, "_best_edges", lambda *args: list(args[-1]))
    with pytest.raises(ConvergenceError, match="not continuous") as failed:
        solve_exact(_stress_stack(31))
    assert failed.value.diagnosis.stage == "exact solver continuity check"
    assert failed.value.diagnosis.segment == 0 and failed.value.diagnosis.miss_eV > 0.1


def test_docs_continuity_table_is_the_bench_json():
    """docs/robustness.md's continuity table is `bench/exact1d_continuity.py --table`."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- exact1d-continuity-table -->\n(.*?)"
                      r"<!-- /exact1d-continuity-table -->", text, re.S)
    assert block is not None
    table = _bench("exact1d_continuity").table(root / "bench" / "results" /
                                               "exact1d_continuity.json")
    assert block[1].strip() == table.strip()


def test_a_segment_leaving_a_plateau_is_drawn_from_its_end():
    """Stack 34 of bench/stress1d.py (seed 17): segment 8 (half of strip S3) starts on the
    plateau y = -y* to round-off and ends at y = 8.5 on the layer interface. Measured from
    its start, x(y) put the jump at the segment's start, 89 nm before the end: the start value
    cannot tell where the trajectory leaves the plateau. Its end value can, and the jump sits
    at the end. The FEM failed from the misplaced start (exit 3) and is certified since."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import stress1d

    data = stress1d.random_stack(17, 34)
    sol = solve_exact(parse_config(data, data["name"]))
    seg, branch = sol.segments[8], sol.branch(8)
    y0, y1 = sol.y_edges(8)
    length = sol.config.thickness
    assert sol.pinned_at_end(8)
    assert seg.x0 + branch.x_of(y1, y0) < seg.x1 - 5e-8  # from the start: 89 nm short
    assert abs(sol.x_of(8, [y1])[0] - seg.x1) <= 1e-12 * length
    # the jump (mu = B) within 1e-8 L of the segment's end, and the plateau before it
    jump = [x for x, i, _ in sol.crossings(lambda s: s.material.B) if i == 8]
    assert len(jump) == 1 and seg.x1 - jump[0] <= 1e-8 * length
    middle = sol.mu([0.5 * (seg.x0 + seg.x1)])[0]
    assert abs(middle - (seg.material.B - sol.kT * branch.ystar)) <= 1e-6


def test_docs_pinned_summary_is_the_bench_json():
    """docs/robustness.md's list of segments measured from their end is
    `bench/exact1d_pinned.py --text` of the committed JSON, and stack 34 of seed 17 is in it."""
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "bench"))
    import exact1d_pinned

    path = root / "bench" / "results" / "exact1d_pinned.json"
    text = (root / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- exact-pinned -->\n(.*?)<!-- /exact-pinned -->", text, re.S)
    assert block is not None and block[1].strip() == exact1d_pinned.text(path)
    stacks = {e["stack"] for e in json.loads(path.read_text())["stacks"]}
    assert "stress1d seed 17 stack 34" in stacks
