"""GB interfaces across the current against their exact 1D solution, and the second-scheme
check (issue 16; bench/gb_transverse.py, fem_sse/transport/crosscheck.py).

A full-width GB interface parallel to the electrodes (the Fig. 3 bilayer, 2 um wide, a
structured mesh) keeps the state 1D; its exact value is
:func:`fem_sse.transport.exact1d_interfaces.solve_exact_interfaces`. Measured
(bench/results/gb_transverse.json): where a scheme converges to the right state it is within
1e-5 of exact; the W formulation also stops on states 3 % and 21 % off (x = 25 um,
g = 10 S/m^2: a 1 V jump that takes mu across B, on 320 and 240 cells along x, DOLFINx 0.10;
with 0.11 on the right one: round-off decides), which the EAFE scheme on the same mesh flags.

Tests without the ``serial`` mark also run under ``mpirun -n 2``.
"""

import sys
from pathlib import Path

import pytest

from fem_sse.spec.config import parse_config
from fem_sse.transport.certificate import Certificate, CurrentBalance
from fem_sse.transport.crosscheck import (SCHEME_TOLERANCE, SchemeCheck, check_with_eafe,
                                          check_with_w)
from fem_sse.transport.exact1d import solve_exact
from fem_sse.transport.exact1d_interfaces import solve_exact_interfaces

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import gb_transverse as bench  # noqa: E402

UM = 1e-6
CASE = {"x_gb": 25 * UM, "g": 10.0, "temperature": 298.0, "current_density": 10.0}


def _exact(case):
    stack = parse_config(bench.case_data(case, False)).stack_1d()
    return solve_exact_interfaces(stack, [(case["x_gb"], case["g"])])


def test_interface_reference_is_the_thin_strip_limit_for_small_jumps():
    """A 4 kT jump (g = 100 S/m^2): the exact strip of width 1e-13 m and conductivity g d
    gives the same state; a 1 V jump across B (g = 10) already stops inside the strip (mu on
    its anode side 0.4 eV off), and a 2 V jump (g = 5) changes 1 - t_Li by 84 %: the strip's
    electronic resistance would need d below 1e-22 m to vanish."""
    def strip(case):
        data = bench.case_data(case, False)
        d, sigma = 1e-13, data["materials"]["SE_cathodic"]["sigma_li"]
        data["geometry"]["bottlenecks"] = [{"center": case["x_gb"], "width": d,
                                            "sigma_li_factor": case["g"] * d / sigma}]
        return solve_exact(parse_config(data).stack_1d())

    small = {**CASE, "g": 100.0}
    assert _exact(small).one_minus_t_li == pytest.approx(strip(small).one_minus_t_li, rel=1e-8)
    big = _exact(CASE)
    assert big.mu_left[0] - big.mu_right[0] == pytest.approx(big.j_ionic / CASE["g"], rel=1e-12)
    assert big.mu_right[0] < -2.3 < big.mu_left[0]  # across B of the cathodic layer
    assert abs(strip(CASE).mu_edges[2] - big.mu_right[0]) > 0.1
    bigger = {**CASE, "g": 5.0}
    assert abs(_exact(bigger).one_minus_t_li / strip(bigger).one_minus_t_li - 1.0) > 0.5


@pytest.mark.mpi
def test_both_schemes_match_the_exact_interface_state(comm):
    """160 cells along x: the EAFE scheme within 1e-5 of exact; the W formulation too with
    DOLFINx 0.9, and the check between them passes. With 0.11 round-off decides which of its
    states W stops on (module docstring): with the sid packages of 2026-11-27 it stops 2.0e-3
    off exact, inside the check's tolerance (1e-2), so the check passes it. A known gap
    (docs/transport2d.md, "GB interfaces"): asserted as it is, so that a change shows."""
    from fem_sse.compat import DOLFINX_VERSION

    config = parse_config(bench.case_data(CASE))
    smesh = bench.structured_mesh(config, comm, CASE["x_gb"], 160)
    exact = _exact(CASE).one_minus_t_li
    w = check_with_w(config, smesh, exact)
    eafe = check_with_eafe(config, smesh, exact)
    assert eafe.relative_difference < 1e-5
    assert w.relative_difference < (1e-5 if DOLFINX_VERSION < (0, 11) else 3e-3)
    assert not check_with_eafe(config, smesh, w.one_minus_t_li).disagrees


@pytest.mark.serial
def test_w_states_are_right_or_flagged(comm):
    """240 and 320 cells along x: the W formulation's Newton stopped on states 21 % and 3.2 %
    off exact with DOLFINx 0.10 (Debian trixie) and on the right one with 0.11 (sid): the small
    side's rows are round-off, so which state it finds depends on the build. Either way the
    EAFE scheme on the same mesh is within 1e-5 of exact, and a W state is either right
    (within 1e-5, the check agrees) or flagged by the check."""
    config = parse_config(bench.case_data(CASE))
    exact = _exact(CASE).one_minus_t_li
    for nx in (240, 320):
        smesh = bench.structured_mesh(config, comm, CASE["x_gb"], nx)
        w = check_with_w(config, smesh, exact)
        eafe = check_with_eafe(config, smesh, exact)
        assert eafe.relative_difference < 1e-5, nx
        check = SchemeCheck("fem-eafe", eafe.one_minus_t_li, w.one_minus_t_li, w.cells)
        if w.relative_difference < 1e-5:
            assert not check.disagrees, nx
        else:
            assert check.disagrees, (nx, w.relative_difference)


def _balanced() -> Certificate:
    """A certificate with a balanced state and no reason against it."""
    balance = CurrentBalance(ionic_cathode_A_per_m2=9.0, ionic_anode_A_per_m2=9.0,
                             electronic_cathode_A_per_m2=1.0, electronic_anode_A_per_m2=1.0,
                             relative_imbalance=0.0, electronic_relative_imbalance=0.0)
    return Certificate(balance, {}, None, [], [])


def test_a_disagreement_makes_the_state_not_converged():
    """The certificate with a check 21 % off (the W state of 240 cells on trixie): not
    certified, the reason names the other scheme, the block gives the difference."""
    check = SchemeCheck("fem-eafe", 0.0265373, 0.0209487, 960)
    cert = _balanced().with_check(check)
    assert not cert.certified and "fem-eafe" in cert.reasons[0]
    block = cert.to_summary()["scheme_check"]
    assert block["relative_difference"] == pytest.approx(0.2668, rel=1e-3)
    assert block["relative_difference"] > SCHEME_TOLERANCE


def test_a_failed_check_leaves_the_state_certified_but_says_so():
    cert = _balanced().with_check(
        SchemeCheck("fem-eafe", None, 0.1, 10, "stalled"))
    assert cert.certified and cert.to_summary()["scheme_check"]["failure"] == "stalled"
    assert cert.to_summary()["scheme_check"]["relative_difference"] is None


@pytest.mark.serial
def test_seeded_transverse_cases_are_never_silently_wrong(comm):
    """A seeded subset of bench/gb_transverse.py: no W or EAFE state off exact by more than
    1e-3 goes unflagged, and both schemes converge on these four (0.2-0.3 V jumps that the
    EAFE scheme failed on from the start without the GBs' drop,
    :func:`fem_sse.transport.eafe2d_solve.gb_start_state`), within 1e-5 of exact."""
    rows = [bench.run_case(bench.random_case(0, i), comm) for i in (1, 2, 3, 5)]
    totals = bench.totals(rows)
    assert totals["w_silent_off"] == 0 and totals["eafe_silent_off"] == 0, totals
    assert totals["w_failed"] == 0 and totals["eafe_failed"] == 0, rows
    assert max(r[f"{s}_error"] for r in rows for s in ("w", "eafe")) < 1e-5
