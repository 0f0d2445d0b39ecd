"""The 1D exponentially fitted (EAFE / Scharfetter-Gummel) scheme against the exact solution.

- the edge current of two points of the exact state equals the exact electronic current where
  one carrier carries it (the scheme is exact for exponential profiles), whatever the cell;
- mesh convergence on uniform meshes of the paper's Fig. 3 bilayer (order ~2);
- random stacks of bench/stress1d.py that the W formulation refuses (cancellation ratio of the
  exact state 1e13-1e36): certified within the issue's targets, on 1 and 2 ranks;
- the same result on N ranks as on one (COMM_SELF on every rank);
- ``fem-sse run --solver fem-eafe`` and its config key (2D: tests/test_eafe2d.py).
"""

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import eafe_cases  # noqa: E402
import eafe_rates  # noqa: E402
import stress1d  # noqa: E402

from fem_sse.transport.certify1d import compare  # noqa: E402
from fem_sse.transport.results import TransportResult  # noqa: E402
from fem_sse.spec.config import ConfigError, load_config, parse_config  # noqa: E402
from fem_sse.transport.eafe import bernoulli, edge_current  # noqa: E402
from fem_sse.errors import ConvergenceError  # noqa: E402
from fem_sse.app.run import solve_case  # noqa: E402
from fem_sse.app.transport_case import solve_exact_case  # noqa: E402
from fem_sse.transport.start1d import CANCELLATION_LIMIT  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = 16
# stacks of bench/results/stress1d.json refused by the W formulation (ratio > 1e12), galvanostatic
# and potentiostatic, 1-6 layers
REFUSED = [2, 3, 11, 14]


def _stack(index):
    data = stress1d.random_stack(SEED, index)
    return parse_config(json.loads(json.dumps(data)), data["name"])


def test_bernoulli():
    z = np.array([-60.0, -3.0, -1e-3, -1e-6, 0.0, 1e-6, 1e-3, 0.5, 3.0, 60.0])
    ref = np.array([v / np.expm1(v) if v != 0.0 else 1.0 for v in z])
    assert np.allclose(bernoulli(z), ref, rtol=1e-10, atol=0.0)
    assert np.isfinite(bernoulli(np.array([800.0, -800.0]))).all()


def test_edge_current_exact_for_one_carrier():
    """Between two points of the exact Fig. 3 state (holes carry the current on the cathode's
    side of the jump, electrons after it), G / h is the exact electronic current for cells of
    1 nm to 100 nm, also where mu changes by 2 eV across the cell."""
    config = load_config(ROOT / "cases" / "fig3_bilayer.toml")
    _, extras = solve_exact_case(config)
    sol = extras.exact
    mat, kT = sol.segments[0].material, config.cell.kT
    for x0 in (1e-7, 5e-7, 1e-6, 2e-5):
        for h in (1e-7, 1e-8, 1e-9):
            x = np.array([x0, x0 + h])
            y = (sol.mu(x) - mat.B) / kT
            d = (sol.eta_i(x)[1] - sol.eta_i(x)[0]) / kT
            g = edge_current(y[0], y[1], d, mat.A, kT)[0]
            assert abs(g / h / sol.j_electronic - 1.0) < 1e-8, (x0, h)


def test_uniform_mesh_convergence(comm):
    """Fig. 3 on uniform meshes (no points from the exact state): the errors of 1 - t_Li and
    of the jumps fall at order >= 1.5 (2 expected; the jump moves across cells) and the
    finest mesh is within 1e-7."""
    config = load_config(ROOT / "cases" / "fig3_bilayer.toml")
    exact, extras = solve_exact_case(config)
    rows = [eafe_rates.errors(config, comm, n, exact, extras.exact)
            for n in (100, 200, 400, 800, 1600)]
    for key in ("rel_err_one_minus_t", "jump_err_over_L"):
        errs = np.array([r[key] for r in rows])
        slope = -np.polyfit(np.log([r["cells"] for r in rows]), np.log(errs), 1)[0]
        assert slope >= 1.5, (key, errs)
        assert errs[-1] < 1e-7, (key, errs)


@pytest.mark.mpi
@pytest.mark.parametrize("index", REFUSED)
def test_refused_stack_certified(index, comm):
    """The W formulation refuses it (precision limit, and its hint names fem-eafe); the EAFE
    scheme is certified within the issue's targets, in 1 - t_Li and in t_Li, asked for or as
    the fallback of the default "fem" (which says so)."""
    config = _stack(index)
    exact, _ = solve_case(config, comm, "exact")
    strict = dataclasses.replace(config, solver=dataclasses.replace(config.solver,
                                                                    fallback="none"))
    with pytest.raises(ConvergenceError) as refused:
        solve_case(strict, comm, "fem")
    assert refused.value.diagnosis.exact_cancellation_ratio > CANCELLATION_LIMIT
    assert "fem-eafe" in str(refused.value)
    fallback, _ = solve_case(config, comm, "fem")
    assert fallback["solver"] == "fem-eafe" and fallback["fallback"]["from"] == "fem"
    assert fallback["fallback"]["stage"].startswith("precision check")
    fem, _ = solve_case(config, comm, "fem-eafe")
    assert fallback["t_li"] == pytest.approx(fem["t_li"], rel=1e-12)
    errors = compare(TransportResult.from_summary(fem), TransportResult.from_summary(exact), config.thickness)
    for key, limit in stress1d.TARGETS.items():
        assert errors[key] is not None and errors[key] <= limit, (key, errors)
    assert abs(fem["t_li"] / exact["t_li"] - 1.0) <= 1e-4
    assert fem["exact_check"]["passed"] and fem["converged"] and fem["solver"] == "fem-eafe"
    assert fem["ranks"] == comm.size


@pytest.mark.mpi
@pytest.mark.parametrize("case", ["fig4c", REFUSED[0]])
def test_same_on_one_and_n_ranks(case, comm):
    """t_Li, the jumps and the interface potentials on comm.size ranks equal those of one rank
    (every rank solves alone on COMM_SELF too), to 1e-9 also on a stack with a cancellation
    ratio of 5e32."""
    rtol = 1e-9
    config = (load_config(ROOT / "cases" / "fig4c_bilayer_bottlenecks.toml")
              if case == "fig4c" else _stack(case))
    many, _ = solve_case(config, comm, "fem-eafe")
    one, _ = solve_case(config, MPI.COMM_SELF, "fem-eafe")
    assert many["cells"] == one["cells"]
    assert abs(many["one_minus_t_li"] / one["one_minus_t_li"] - 1.0) < rtol
    assert abs(many["t_li"] / one["t_li"] - 1.0) < rtol
    for a, b in zip(many["jumps"], one["jumps"], strict=True):
        assert abs(a["x"] - b["x"]) < rtol * config.thickness
    for a, b in zip(many["mu_interfaces"], one["mu_interfaces"], strict=True):
        assert abs(a["mu"] - b["mu"]) < rtol


def test_config_key_also_2d(bilayer_data):
    bilayer_data["solver"] = {"kind": "fem-eafe"}
    assert parse_config(bilayer_data).solver.kind == "fem-eafe"
    bilayer_data["solver"] = {"kind": "eafe"}
    with pytest.raises(ConfigError, match="fem-eafe"):
        parse_config(bilayer_data)
    import tomllib

    data = tomllib.loads((ROOT / "cases" / "2d" / "partial_contact.toml").read_text())
    data["solver"] = {**data.get("solver", {}), "kind": "fem-eafe"}
    assert parse_config(data).solver.kind == "fem-eafe"  # 2D: tests/test_eafe2d.py


@pytest.mark.mpi
def test_cli_run(shared_tmp, comm):
    """`fem-sse run CASE --solver fem-eafe` writes a certified summary and the profile."""
    from fem_sse.app.cli import main

    out = shared_tmp / "eafe"
    assert main(["run", str(ROOT / "cases" / "fig4c_bilayer_bottlenecks.toml"), "-o", str(out),
                 "--solver", "fem-eafe", "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solver"] == "fem-eafe" and summary["exact_check"]["passed"]
    assert summary["exact_check"]["rel_err_one_minus_t"] < 1e-4
    assert (out / "profile.csv").exists()


def test_docs_table_is_the_bench_json():
    """docs/robustness.md's EAFE tables are `bench/stress1d.py --table --versus` of the
    committed JSONs."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- stress1d-table:(\w+) -->\n(.*?)<!-- /stress1d-table -->", text,
                      re.S)
    assert block is not None
    path = ROOT / "bench" / "results" / f"{block[1]}.json"
    expected = (stress1d.table(path) + "\n\n"
                + stress1d.versus(path, ROOT / "bench" / "results" / "stress1d.json"))
    assert block[2].strip() == expected.strip()


def test_docs_fallback_table_is_the_bench_json():
    """docs/robustness.md's table of default 1D runs (W formulation + fallback) is
    `bench/stress1d.py --table --versus` of the JSON its marker names."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- stress1d-fallback-table:(\w+) -->\n(.*?)"
                      r"<!-- /stress1d-fallback-table -->", text, re.S)
    assert block is not None
    path = ROOT / "bench" / "results" / f"{block[1]}.json"
    summary = json.loads(path.read_text())["summary"]
    assert summary["solver"] == "fem" and summary["fallback"] == "fem-eafe"
    expected = (stress1d.table(path) + "\n\n"
                + stress1d.versus(path, ROOT / "bench" / "results" / "stress1d.json"))
    assert block[2].strip() == expected.strip()


def test_docs_rates_table_is_the_bench_json():
    """docs/robustness.md's mesh-convergence table is `bench/eafe_rates.py --table`."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- eafe-rates-table -->\n(.*?)<!-- /eafe-rates-table -->", text, re.S)
    assert block is not None
    path = ROOT / "bench" / "results" / "eafe_rates.json"
    assert block[1].strip() == eafe_rates.table(path).strip()


@pytest.mark.mpi
@pytest.mark.parametrize("index", [31, 122])
def test_stacks_with_an_ulp_sensitive_root_certified(index, comm):
    """Stacks 31 and 122: mu(L) moves by 0.1-1 eV within one ulp of ln(j_e/j_i), and the
    exact solver used to return a discontinuous state on them (the end of the first segment
    from the anode march, 0.11 / 0.27 eV off the cathode's trajectory), from which EAFE
    stalled. Now the state is continuous (the end of the first segment on the cathode's
    trajectory; tests/test_exact1d.py checks all ends against Radau) and EAFE is certified."""
    from fem_sse.transport.exact1d import solve_exact

    config = _stack(index)
    sol = solve_exact(config)
    seg = sol.segments[0]
    y0, y1 = sol.y_edges(0)
    assert abs(sol.branch(0).advance(y0, seg.x1 - seg.x0) - y1) * sol.kT < 1e-12
    exact, _ = solve_case(config, comm, "exact")
    fem, _ = solve_case(config, comm, "fem-eafe")
    errors = compare(TransportResult.from_summary(fem), TransportResult.from_summary(exact), config.thickness)
    for key, limit in stress1d.TARGETS.items():
        assert errors[key] is not None and errors[key] <= limit, (key, errors)
    assert fem["exact_check"]["passed"] and fem["converged"]


def test_docs_cases_table_is_the_bench_json():
    """docs/robustness.md's paper-case table is `bench/eafe_cases.py --table`."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- eafe-cases-table -->\n(.*?)<!-- /eafe-cases-table -->", text, re.S)
    assert block is not None
    assert block[1].strip() == eafe_cases.table(ROOT / "bench" / "results" /
                                                "eafe_cases.json").strip()


def test_forced_failure_exits_3(comm):
    """A Newton budget of 1 iteration (also the pseudo-transient continuation's) cannot
    converge from the exact state of a stack that needs several: a ConvergenceError (exit 3)
    with its stage, not a hang or another exception."""
    data = json.loads(json.dumps(stress1d.random_stack(SEED, REFUSED[0])))
    data["solver"] = {"max_newton_iterations": 1}
    config = parse_config(data, data["name"])
    with pytest.raises(ConvergenceError) as failed:
        solve_case(config, comm, "fem-eafe")
    assert failed.value.diagnosis.stage == "EAFE Newton from the exact state"


@pytest.mark.mpi
def test_one_vertex_per_electrode_and_interface(comm):
    """Vertices closer than 1e-9 L to an electrode or interface (the adaptive loop puts them
    there in boundary layers) are not tagged with it: one vertex per point, over all ranks.
    Tagged, they were Dirichlet nodes at mu_cathode (2e-13 m of cathode held flat) and the EAFE
    current came from their cells: t_Li 6e-7 where the exact value is 1.6e-19 (stack 7)."""
    from dolfinx.mesh import compute_midpoints

    from fem_sse.geometry.line import ANODE, CATHODE, INTERFACE0, _line_mesh

    config = _stack(7)
    length, x1 = config.thickness, config.interfaces[0]
    near = [0.0, 1e-19, 2e-16, 1e-13, x1 - 1e-15, x1, x1 + 3e-17, length - 1e-14, length]
    nodes = np.unique(np.concatenate([np.linspace(0.0, length, 11), near, config.interfaces]))
    segments = config.segments()
    parents = np.array([seg.x0 for seg in segments])
    tags = np.arange(1, len(segments) + 1, dtype=np.int32)
    msh, _, points = _line_mesh(comm, config, nodes if comm.rank == 0 else None, parents, tags)
    owned = points.indices < msh.topology.index_map(0).size_local
    for tag, x0 in ((CATHODE, 0.0), (ANODE, length), (INTERFACE0, x1)):
        mine = points.indices[owned & (points.values == tag)]
        assert comm.allreduce(len(mine), op=MPI.SUM) == 1, tag
        assert np.all(np.abs(compute_midpoints(msh, 0, mine)[:, 0] - x0) <= 1e-12 * length)


@pytest.mark.mpi
def test_boundary_layer_below_1e_9_L_certified(comm):
    """Stack 7 (potentiostatic, exact t_Li = 1.6e-19, a cathode boundary layer ~1e-20 m
    thick): refined cells near the cathode stay free nodes, and EAFE's t_Li meets the exact
    check in its own digits (rel_err_t), not only 1 - t_Li."""
    config = _stack(7)
    fem, _ = solve_case(config, comm, "fem-eafe")
    check = fem["exact_check"]
    assert check["passed"] and fem["converged"]
    assert check["rel_err_t"] <= 1e-4 and check["mu_interface_err_eV"] <= 1e-4


@pytest.mark.mpi
def test_plateau_stack_converges_after_the_continuation(comm):
    """Stack 141 (potentiostatic, six layers, exact t_Li = 1.2e-14): on its first refinement
    Newton and the pseudo-transient continuation stop at a merit of 2e-8 V, where plain
    Newton steps (0.06 eV at plateau nodes whose cells carry less than their round-off) fail
    the line search; the loop used to keep step 0 and say "refinement failed". Newton in the
    Kirchhoff variable finishes it: converged on the tolerance and certified, t_Li included."""
    config = _stack(141)
    fem, _ = solve_case(config, comm, "fem-eafe")
    assert fem["converged"] and fem["stop_reason"] == "tolerance", fem["stop_reason"]
    assert fem["refinement_steps"] >= 1
    check = fem["exact_check"]
    assert check["passed"] and check["rel_err_t"] <= 1e-4, check
    # the continuation gives up after 100 steps without progress (eafe_newton: patience);
    # with all 300 of them the loop took 458 Newton iterations (session 11), 159 in session
    # 12, 254 with a point every kT on the first mesh (session 13)
    assert fem["newton_iterations"] < 300, fem["newton_iterations"]


@pytest.mark.serial
def test_stalled_continuation_then_kirchhoff_newton(comm, caplog):
    """Stack 51 of seed 17 (unseen by the earlier benches; five layers, cancellation ratio
    9e25) on a first mesh with a point every 2 kT of the exact mu (the first meshes before
    session 13): Newton from the exact state and the pseudo-transient continuation both stall,
    and the run failed (exit 3; the W formulation refused it too). Newton in the Kirchhoff
    variable from the exact state converges to the exact value. With a point every kT
    (start1d.EAFE_MAX_DY) Newton from the exact state converges and the loop certifies it.
    Serial: on 2 ranks Newton from the exact state converges on that mesh too (4 iterations,
    the same 1 - t_Li to 1e-13), so the path this test is about is not taken there."""
    import logging

    from fem_sse.transport import eafe_solve
    from fem_sse.transport.discretisation import Line1D
    from fem_sse.transport.eafe import EafeProblem
    from fem_sse.transport.exact1d import solve_exact

    data = stress1d.random_stack(17, 51)
    config = parse_config(json.loads(json.dumps(data)), data["name"])
    exact = solve_exact(config)
    problem = EafeProblem(config, Line1D().first_mesh(config, comm, exact, check=False,
                                                      max_dy=2.0))
    with caplog.at_level(logging.INFO, logger="fem_sse.transport.eafe_newton"):
        result = eafe_solve.solve(problem, exact)
    problem.destroy()
    assert "Newton in the Kirchhoff variable from the start" in caplog.text
    reference, _ = solve_case(config, comm, "exact")
    assert abs(result.one_minus_t_li / reference["one_minus_t_li"] - 1.0) <= 1e-4
    fem, _ = solve_case(config, comm, "fem-eafe")
    assert fem["converged"] and fem["stop_reason"] == "tolerance", fem["stop_reason"]
    check = fem["exact_check"]
    assert check["passed"] and check["rel_err_one_minus_t"] <= 1e-6, check


@pytest.mark.mpi
def test_a_point_every_kT_puts_the_jump_where_it_is(comm):  # noqa: N802
    """Stack 68 of seed 17 (six layers, three strips): with a point every 2 kT its first mesh
    had 1.8e-12 m between two points across 13 kT of a jump, the discrete state put the
    front 3 nm upstream (1.2e-3 from exact in 1 - t_Li), and the loop took 21 refinement
    steps (60-100 s) to reach exact. With a point every kT (start1d.EAFE_MAX_DY) it is
    certified at step 2, near round-off."""
    data = stress1d.random_stack(17, 68)
    config = parse_config(json.loads(json.dumps(data)), data["name"])
    fem, _ = solve_case(config, comm, "fem-eafe")
    assert fem["converged"] and fem["stop_reason"] == "tolerance", fem["stop_reason"]
    assert fem["refinement_steps"] <= 3, fem["refinement_steps"]
    check = fem["exact_check"]
    assert check["passed"] and check["rel_err_one_minus_t"] <= 1e-8, check


def test_docs_stacks_table_is_the_bench_json():
    """docs/robustness.md's per-stack rerun tables are `bench/stress1d.py --stacks-table`."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    blocks = re.findall(r"<!-- stress1d-stacks:(\w+) -->\n(.*?)<!-- /stress1d-stacks -->", text,
                        re.S)
    assert blocks
    for name, block in blocks:
        path = ROOT / "bench" / "results" / f"{name}.json"
        assert block.strip() == stress1d.stacks_table(path).strip(), name


def test_docs_versus_tables_are_the_bench_json():
    """docs/robustness.md's ``stress1d-versus:NAME:OTHER`` blocks are `bench/stress1d.py --table
    --name NAME --versus OTHER.json` of the committed JSONs (every block)."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    blocks = re.findall(r"<!-- stress1d-versus:(\w+):(\w+) -->\n(.*?)<!-- /stress1d-versus -->",
                        text, re.S)
    assert blocks
    results = ROOT / "bench" / "results"
    for name, other, block in blocks:
        path = results / f"{name}.json"
        expected = stress1d.table(path) + "\n\n" + stress1d.versus(path, results / f"{other}.json")
        assert block.strip() == expected.strip(), name


def test_docs_unseen_table_is_the_bench_json():
    """docs/robustness.md's table of the stacks of seed 17 (default path) is `bench/stress1d.py
    --table` of its JSON."""
    import re

    text = (ROOT / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- stress1d-unseen-table:(\w+) -->\n(.*?)"
                      r"<!-- /stress1d-unseen-table -->", text, re.S)
    assert block is not None
    path = ROOT / "bench" / "results" / f"{block[1]}.json"
    summary = json.loads(path.read_text())["summary"]
    assert summary["seed"] == 17 and summary["fallback"] == "fem-eafe"
    first = ROOT / "bench" / "results" / "stress1d_fallback_seed17_s11.json"
    expected = stress1d.table(path) + "\n\n" + stress1d.versus(path, first)
    assert block[2].strip() == expected.strip()

@pytest.mark.mpi
def test_triplet_rows_set_the_matrix_per_triple_insertion_does(comm):
    """transport/linear.TripletRows (one CSR call) gives the matrix that inserting each
    (row, column, value) triple with ADD_VALUES gave: the same to the bit on one rank (the
    repeated pairs are summed in the same order), to round-off on two."""
    from petsc4py import PETSc

    from fem_sse.transport.eafe import EafeProblem
    from fem_sse.transport.linear import TripletRows
    from fem_sse.transport.discretisation import Line1D
    from fem_sse.transport.exact1d import solve_exact

    config = load_config(ROOT / "cases" / "fig4c_bilayer_bottlenecks.toml")
    smesh = Line1D().first_mesh(config, comm, solve_exact(config), check=False)
    problem = EafeProblem(config, smesh)
    rng = np.random.default_rng(7)
    values = rng.normal(size=problem._rows.size) * 10.0 ** rng.integers(-8, 8, problem._rows.size)
    per_triple = problem.A.duplicate()
    per_triple.zeroEntries()
    per_triple.setValuesLocalRCV(problem._rows[:, None], problem._cols[:, None],
                                 values[:, None], addv=PETSc.InsertMode.ADD_VALUES)
    per_triple.assemble()
    TripletRows(problem._rows, problem._cols, problem.n_local).set(problem.A, values)
    dense = [m.convert("dense").getDenseArray() for m in (per_triple, problem.A)]
    tol = 0.0 if comm.size == 1 else 1e-12 * np.abs(dense[0]).max()
    assert np.abs(dense[0] - dense[1]).max() <= tol
    assert np.count_nonzero(dense[0]) > problem.n_owned


def test_docs_stop_rule_is_the_bench_json():
    """docs/robustness.md's summary of the change rule's stops is `bench/stop_rule.py --text`
    of the committed JSON, and the JSON judges every stack but the failing one."""
    import re

    import stop_rule

    path = ROOT / "bench" / "results" / "stop_rule.json"
    text = (ROOT / "docs" / "robustness.md").read_text()
    block = re.search(r"<!-- stop-rule -->\n(.*?)<!-- /stop-rule -->", text, re.S)
    assert block is not None and block[1].strip() == stop_rule.text(path)
    totals = json.loads(path.read_text())["totals"]
    assert totals["judged"] + len(totals["not_judged"]) == totals["with_exact_steady_state"]
