"""Mechanics (issue 6): config, chemical-strain laws, analytic anchors, MMS rates, MPI invariance.

Analytic anchors (docs/mechanics.md):
* laterally constrained film with a uniform eigenstrain e*: sigma_yy = sigma_zz = -E e*/(1 - nu)
  (plane strain, sigma_xx = 0) and -E e* (plane stress);
* bonded, laterally constrained bilayer with a step in e*, E and nu, under stack pressure p:
  sigma_xx = -p everywhere, sigma_yy,i = (-nu_i p - E_i e*_i)/(1 - nu_i) in layer i; the finite
  element solution is exact (piecewise-linear u_x), so it must agree to round-off.
"""

import copy
import math

import numpy as np
import pytest
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI

from fem_sse.materials.strain import DiluteLaw, TableLaw, TwoStateLaw
from fem_sse.spec.config import ConfigError, parse_config
from fem_sse.geometry import build_mesh
from fem_sse.materials.conductivity import Material
from fem_sse.mechanics import film_stress, run_mechanics, solve_mechanics
from fem_sse.mechanics.elasticity import ElasticProblem, stress_components
from fem_sse.app.run import solve_case

KT = 0.025679
LLZO = Material("x", 0.1, 1e-17, -1.5)


def _layer(material, thickness):
    return {"material": material, "thickness": thickness}


def _config(data, dim=2, width=4e-6, layers=None, mechanics=None, grains=False):
    data = copy.deepcopy(data)
    data["geometry"] = {"dim": dim, "layers": layers or data["geometry"]["layers"]}
    if dim == 2:
        data["geometry"]["width"] = width
        data["mesh"] = {"size_bulk": 2e-6}
    data["mechanics"] = mechanics if mechanics is not None else {}
    return parse_config(data)


def _constant_law(delta):
    return {"kind": "table", "mu": [-10.0, 10.0], "delta": [delta, delta]}


def _mu(smesh, fn):
    V = fem.functionspace(smesh.mesh, ("DG", 1))
    mu = fem.Function(V)
    mu.interpolate(fn)
    return mu


def _stress_at_nodes(result):
    s = result.fields["stress [Pa]"].x.array.reshape(-1, 4)
    x = result.fields["von_mises [Pa]"].function_space.tabulate_dof_coordinates()
    return s, x


# -- config and laws ------------------------------------------------------------------------------


def test_config_defaults_and_errors(bilayer_data):
    config = parse_config(bilayer_data)
    assert config.mechanics is None
    bilayer_data["mechanics"] = {}
    spec = parse_config(bilayer_data).mechanics
    assert spec.model == "film" and spec.bc == {"cathode": "roller", "anode": "pressure"}
    assert spec.materials["SE_cathodic"].E == pytest.approx(149.8e9)
    bilayer_data["materials"]["SE_anodic"]["preset"] = "lpscl"
    spec = parse_config(bilayer_data).mechanics
    assert spec.materials["SE_anodic"].E == pytest.approx(22.1e9)
    assert spec.materials["SE_anodic"].nu == pytest.approx(0.37)
    cases = [
        ({"mechanics": {"stack_presure": 1.0}}, "mechanics.stack_presure: unknown key; did you "
                                                "mean 'stack_pressure'?"),
        ({"mechanics": {"model": "plane_strain"}}, "mechanics.model"),
        ({"mechanics": {"bc": {"cathode": "free", "anode": "pressure"}}}, "mechanics.bc"),
        ({"mechanics": {"bc": {"cathode": "rollr"}}}, "did you mean 'roller'"),
        ({"materials": {"SE_cathodic": {"nu": 0.6}}}, "materials.SE_cathodic.nu"),
        ({"materials": {"SE_cathodic": {"strain_law": "fermi"}}}, "strain_law.kind"),
        ({"materials": {"SE_cathodic": {"strain_law": {"kind": "table", "mu": [0, -1],
                                                       "delta": [0, 1]}}}}, "increasing"),
        ({"materials": {"SE_cathodic": {"youngs": 1.0}}}, "materials.SE_cathodic.youngs"),
    ]
    for patch, message in cases:
        data = copy.deepcopy(bilayer_data)
        data.setdefault("mechanics", {}).update(patch.get("mechanics", {}))
        for name, keys in patch.get("materials", {}).items():
            data["materials"][name].update(keys)
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            parse_config(data)


def test_strain_laws():
    mu = np.linspace(-5.0, 5.0, 2001)
    dilute = DiluteLaw(cap=0.05).delta(mu, LLZO, KT)
    assert np.all(np.abs(dilute) <= 0.05) and dilute[0] == -0.05 and dilute[-1] == 0.05
    assert DiluteLaw().delta(LLZO.B, LLZO, KT) == 0.0
    assert np.all(np.diff(dilute) >= 0.0)
    # delta0 from A: A / (e u_e N) with the documented assumptions
    # delta0 = 2 A / (e u N): n_e - n_h = (A / (e u)) (e^y - e^-y) from sigma_eh = 2 A cosh(y)
    assert DiluteLaw().prefactor(LLZO) == pytest.approx(
        2e-17 / (1.602176634e-19 * 1e-4 * 4e27), rel=1e-12, abs=0)
    two = TwoStateLaw(-0.02, 0.04).delta(mu, LLZO, KT)
    assert two[0] == pytest.approx(-0.02) and two[-1] == pytest.approx(0.04)
    assert TwoStateLaw(-0.02, 0.04).delta(LLZO.B, LLZO, KT) == pytest.approx(0.01)
    table = TableLaw((-1.0, 0.0), (0.0, 0.1)).delta([-2.0, -0.5, 1.0], LLZO, KT)
    assert table == pytest.approx([0.0, 0.05, 0.1])


# -- analytic anchors -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["plane_strain", "plane_stress"])
def test_uniform_eigenstrain_constrained_film(bilayer_data, comm, model):
    bilayer_data["materials"]["SE_cathodic"].update(
        {"E": 150e9, "nu": 0.26, "expansion": 0.05, "strain_law": _constant_law(0.02)})
    config = _config(bilayer_data, layers=[_layer("SE_cathodic", 10e-6)],
                     mechanics={"model": model})
    smesh = build_mesh(config, comm)
    result = solve_mechanics(smesh, _mu(smesh, lambda x: -2.0 + 0.0 * x[0]), config, comm)
    estar = 0.05 * 0.02
    expected = -150e9 * estar / ((1.0 - 0.26) if model == "plane_strain" else 1.0)
    s, _ = _stress_at_nodes(result)
    tol = 1e-9 * abs(expected)
    assert np.allclose(s[:, 1], expected, atol=tol, rtol=0)
    assert np.allclose(s[:, 0], 0.0, atol=tol) and np.allclose(s[:, 2], 0.0, atol=tol)
    assert np.allclose(s[:, 3], expected if model == "plane_strain" else 0.0, atol=tol)
    assert result.summary["max_principal"] == pytest.approx(0.0 if estar > 0 else -expected,
                                                            abs=tol)
    assert result.summary["min_principal"] == pytest.approx(expected, rel=1e-9)


def test_bilayer_step_eigenstrain_under_pressure(bilayer_data, comm):
    mats = bilayer_data["materials"]
    mats["SE_cathodic"].update({"E": 150e9, "nu": 0.26, "expansion": 0.03,
                                "strain_law": _constant_law(-0.05), "strength": 150e6})
    mats["SE_anodic"].update({"E": 22e9, "nu": 0.37, "expansion": 0.03,
                              "strain_law": _constant_law(0.05), "strength": 30e6})
    p = 5e6
    config = _config(bilayer_data, layers=[_layer("SE_cathodic", 6e-6), _layer("SE_anodic", 4e-6)],
                     mechanics={"stack_pressure": p})
    smesh = build_mesh(config, comm)
    result = solve_mechanics(smesh, _mu(smesh, lambda x: 0.0 * x[0]), config, comm)
    s, x = _stress_at_nodes(result)
    cells = result.fields["stress [Pa]"].function_space.dofmap.list
    lower = np.zeros(len(x), dtype=bool)
    midpoints = x[cells].mean(axis=1)[:, 0]
    lower[cells[midpoints < 6e-6].ravel()] = True
    for sel, E, nu, estar in ((lower, 150e9, 0.26, -0.0015), (~lower, 22e9, 0.37, 0.0015)):
        expected = (-nu * p - E * estar) / (1.0 - nu)
        assert np.allclose(s[sel, 1], expected, rtol=1e-9, atol=1e-9 * p)
    assert np.allclose(s[:, 0], -p, rtol=1e-9)
    # the tensile, strong cathodic layer: crack risk (sigma_yy / 150 MPa) peaks there
    top = (-0.26 * p + 150e9 * 0.0015) / 0.74
    assert result.summary["crack_risk_index"] == pytest.approx(top / 150e6, rel=1e-9)
    assert result.summary["crack_risk_location"][0] <= 6e-6 + 1e-12
    loc = result.summary["crack_risk_location"][0]
    assert result.summary["crack_risk_distance_to_electrode"] == pytest.approx(
        min(loc, 10e-6 - loc), abs=1e-12)
    pb = result.summary["tractions"]["pb0"]
    assert pb["normal_mean"] == pytest.approx(-p, rel=1e-8)
    assert pb["shear_max"] < 1e-8 * p
    assert pb["length"] == pytest.approx(4e-6, rel=1e-12)


@pytest.mark.parametrize("bc", ["pressure", "roller"])
def test_film_fem_matches_closed_form(bilayer_data, comm, bc):
    """The 1D FE solve (model "film", CG2) reproduces the closed-form film pointwise: a linear
    mu(x) and a linear delta(mu) make e* linear in each layer, which CG2 represents exactly."""
    law = {"kind": "table", "mu": [-3.0, 0.0], "delta": [-0.05, 0.05]}
    bilayer_data["materials"]["SE_cathodic"].update({"strain_law": law, "expansion": 0.03})
    bilayer_data["materials"]["SE_anodic"].update({"strain_law": law, "expansion": 0.01,
                                                    "E": 22e9, "nu": 0.37})
    bilayer_data["mesh"] = {"size": 5e-6}
    config = _config(bilayer_data, dim=1, mechanics={"bc": {"anode": bc}, "degree": 2,
                                                      "stack_pressure": 2e6})
    smesh = build_mesh(config, comm)
    result = solve_mechanics(smesh, _mu(smesh, lambda x: -3.0 + 3.0 * x[0] / 100e-6),
                             config, comm)
    s, x = _stress_at_nodes(result)
    mu = result.fields["mu_Li0 [eV]"].x.array
    cells = result.fields["stress [Pa]"].function_space.dofmap.list
    layer = np.zeros(len(x), dtype=int)
    layer[cells[x[cells].mean(axis=1)[:, 0] > 50e-6].ravel()] = 1
    xs = np.concatenate([np.linspace(0.0, 50e-6, 11), np.linspace(50e-6, 100e-6, 11)])
    closed_sxx = film_stress(config, config.mechanics, xs, -3.0 + 3.0 * xs / 100e-6,
                             np.repeat([0, 1], 11))["sigma_xx_Pa"][0]  # trapezoid: exact
    closed = film_stress(config, config.mechanics, x[:, 0], mu, layer)
    scale = np.abs(closed["sigma_lateral_Pa"]).max()
    assert np.allclose(s[:, 0], closed_sxx, rtol=0, atol=1e-9 * scale)
    lateral = (np.where(layer, 0.37, 0.26) * s[:, 0] - np.where(layer, 22e9, 149.8e9)
               * closed["eigenstrain"]) / (1.0 - np.where(layer, 0.37, 0.26))
    assert np.allclose(s[:, 1], lateral, rtol=0, atol=1e-9 * scale)
    assert np.allclose(s[:, 3], s[:, 1], rtol=0, atol=1e-9 * scale)
    if bc == "pressure":
        assert closed_sxx == -2e6


# -- manufactured solutions -----------------------------------------------------------------------


def _u_exact(x, module):
    return (1e-3 * module.sin(2.0 * x[0]) * module.cos(3.0 * x[1]),
            1e-3 * module.cos(x[0]) * module.sin(2.0 * x[1]) + 5e-4 * x[0] ** 2)


@pytest.mark.parametrize("degree", [1, 2])
def test_manufactured_solution_rates(comm, degree):
    """Clamped square, smooth u and eigenstrain; observed L2 rate >= p + 1 - 0.2."""
    E0, nu0 = 150e9, 0.3  # noqa: N806
    errors, sizes = [], [8, 16, 32]
    for n in sizes:
        msh = mesh.create_unit_square(comm, n, n)
        fdim = msh.topology.dim - 1
        msh.topology.create_connectivity(fdim, msh.topology.dim)
        facets = mesh.exterior_facet_indices(msh.topology)
        tags = mesh.meshtags(msh, fdim, facets, np.full(len(facets), 1, dtype=np.int32))
        Q0 = fem.functionspace(msh, ("DG", 0))
        E, nu = fem.Function(Q0), fem.Function(Q0)
        E.x.array[:], nu.x.array[:] = E0, nu0
        x = ufl.SpatialCoordinate(msh)
        estar = 1e-3 * ufl.sin(x[0]) * ufl.cos(x[1])
        u_ex = ufl.as_vector(_u_exact(x, ufl))
        lam = E0 * nu0 / ((1 + nu0) * (1 - 2 * nu0))
        shear = E0 / (2 * (1 + nu0))
        sxx, syy, sxy, _ = stress_components(u_ex, estar, lam, shear, "plane_strain")
        force = -ufl.div(ufl.as_matrix([[sxx, sxy], [sxy, syy]]))
        V = fem.functionspace(msh, ("Lagrange", degree, (2,)))
        g = fem.Function(V)
        g.interpolate(lambda p: np.vstack(_u_exact(p, np)))
        problem = ElasticProblem(msh, tags, {"cathode": 1}, E, nu, estar, model="plane_strain",
                                 degree=degree, bc={"cathode": "clamped"}, body_force=force,
                                 clamped_value=g, solver="direct")
        problem.solve()
        err = fem.form(ufl.inner(problem.u - u_ex, problem.u - u_ex)
                       * ufl.dx(metadata={"quadrature_degree": degree + 4}))
        errors.append(math.sqrt(comm.allreduce(fem.assemble_scalar(err), MPI.SUM)))
    rates = [math.log2(a / b) for a, b in zip(errors[:-1], errors[1:])]
    assert min(rates) >= degree + 1 - 0.2, (errors, rates)


# -- solvers, MPI, outputs ------------------------------------------------------------------------


def _gb_case(bilayer_data, model="interface"):
    data = copy.deepcopy(bilayer_data)
    for m in data["materials"].values():
        m["strain_law"] = "two_state"
    data["geometry"] = {"dim": 2, "width": 10e-6, "layers": [
        {"material": "SE_cathodic", "thickness": 5e-6, "grains": {"count": 4, "seed": 1}},
        {"material": "SE_anodic", "thickness": 5e-6, "grains": {"count": 4, "seed": 2}}],
        "grain_boundaries": {"model": model, "sigma_li_factor": 1e-2,
                             **({"width": 0.2e-6} if model == "strip" else {})}}
    data["mesh"] = {"size_bulk": 0.5e-6, "size_gb": 0.25e-6}
    data["mechanics"] = {"stack_pressure": 1e6}
    return parse_config(data)


def _front(x):
    return -3.0 + 3.0 * 0.5 * (1.0 + np.tanh((x[0] - 4e-6) / 0.3e-6))


def test_one_rank_equals_n_ranks(bilayer_data, comm):
    """The same summary on COMM_WORLD as on one rank (every rank solves it alone too)."""
    config = _gb_case(bilayer_data)
    results = []
    for c in (comm, MPI.COMM_SELF):
        smesh = build_mesh(config, c)
        results.append(solve_mechanics(smesh, _mu(smesh, _front), config, c).summary)
    for key in ("max_von_mises", "max_principal", "crack_risk_index", "min_principal"):
        assert results[0][key] == pytest.approx(results[1][key], rel=1e-10), key
    assert np.allclose(results[0]["crack_risk_location"], results[1]["crack_risk_location"],
                       rtol=0, atol=1e-15)
    gb0, gb1 = results[0]["tractions"]["gb"], results[1]["tractions"]["gb"]
    for key in ("normal_max", "normal_mean", "shear_max", "length"):
        assert gb0[key] == pytest.approx(gb1[key], rel=1e-9), key
    assert results[0]["max_von_mises"] > 1e8  # a 0.3 % eigenstrain swing: hundreds of MPa


def test_iterative_solver_matches_direct(bilayer_data, comm):
    config = _gb_case(bilayer_data, model="strip")
    smesh = build_mesh(config, comm)
    mu = _mu(smesh, _front)
    out = {}
    for solver in ("direct", "iterative"):
        spec = config.mechanics.__class__(**{**config.mechanics.__dict__, "solver": solver})
        out[solver] = solve_mechanics(smesh, mu, config, comm, spec=spec).summary
    assert out["iterative"]["solver"] == "iterative"
    assert 1 < out["iterative"]["ksp_iterations"] < 200
    assert out["iterative"]["max_von_mises"] == pytest.approx(out["direct"]["max_von_mises"],
                                                              rel=1e-6)


def test_run_mechanics_writes_files(bilayer_data, comm, shared_tmp):
    config = _gb_case(bilayer_data)
    smesh = build_mesh(config, comm)
    summary, files = run_mechanics(smesh, _mu(smesh, _front), config, shared_tmp, comm,
                                   png=False)
    assert {"max_von_mises", "max_principal", "crack_risk_index",
            "crack_risk_location"} <= set(summary)
    comm.barrier()
    for name in files:
        assert (shared_tmp / name).exists(), name


@pytest.mark.serial
def test_png_map(bilayer_data, comm, tmp_path):
    from fem_sse.mechanics import plot_mechanics

    config = _gb_case(bilayer_data)
    smesh = build_mesh(config, comm)
    result = solve_mechanics(smesh, _mu(smesh, _front), config, comm)
    plot_mechanics(tmp_path / "m.png", result, deformed=True)
    assert (tmp_path / "m.png").stat().st_size > 20000


def test_fem_sse_run_1d_has_mechanics(bilayer_data, comm):
    for m in bilayer_data["materials"].values():
        m["strain_law"] = "two_state"
    bilayer_data["mechanics"] = {}
    summary, extras = solve_case(parse_config(bilayer_data), comm, "exact")
    for key in ("max_von_mises", "max_principal", "crack_risk_index", "crack_risk_location"):
        assert key in summary
    rows = extras.rows
    # free anode face: sigma_lateral = -E e*/(1 - nu) pointwise (model.md's anchor)
    assert np.allclose(rows["sigma_lateral_Pa"], -149.8e9 * rows["eigenstrain"] / 0.74)
    assert np.allclose(rows["sigma_xx_Pa"], 0.0)
