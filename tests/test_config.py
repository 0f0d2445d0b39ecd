"""Config validation: the issue's schema works as written; bad input gives one-line errors."""

import math

import pytest

from fem_sse.spec.config import ConfigError, load_config, parse_config

MINIMAL = """
[cell]
temperature = 298.0          # K
current_density = 10.0       # A/m^2, galvanostatic
mu_cathode = -3.0            # eV, Li0 potential at x = 0
mu_anode = 0.0               # eV, Li0 potential at x = L

[materials.SE_cathodic]
sigma_li = 0.1
A = 1e-17
B = -2.3

[materials.SE_anodic]
sigma_li = 0.1
A = 1e-17
B = -0.7

[geometry]
dim = 1
layers = [ { material = "SE_cathodic", thickness = 50e-6 },
           { material = "SE_anodic",   thickness = 50e-6 } ]
# thin ionic bottlenecks (grain or phase boundaries): Li+ conductivity times a factor
bottlenecks = [ { center = 25e-6, width = 0.1e-6, sigma_li_factor = 1e-2 } ]
"""


def test_minimal_schema_as_written(tmp_path):
    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert math.isclose(config.thickness, 100e-6)
    assert config.interfaces == [50e-6]
    segments = config.segments()
    assert len(segments) == 4  # lattice, strip, lattice | lattice
    strip = segments[1]
    assert strip.bottleneck == 0
    assert math.isclose(strip.material.sigma_li, 1e-3)
    assert strip.material.B == -2.3


def test_default_solver_per_dimension(tmp_path):
    """A 1D case without solver.kind runs the exponentially fitted scheme, a 2D case the W
    formulation (with its fallback); a stated kind is kept."""
    from fem_sse.spec.config import read_toml

    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL)
    assert load_config(path).solver.kind == "fem-eafe"
    data = read_toml(path)
    data["solver"] = {"kind": "fem"}
    assert parse_config(data).solver.kind == "fem"
    data["geometry"]["dim"] = 2
    data["geometry"]["width"] = 20e-6
    del data["solver"]
    assert parse_config(data).solver.kind == "fem"


def test_degree_without_kind_in_1d_warns(tmp_path, caplog):
    """A 1D case that sets solver.degree (the W formulation's) but no kind runs the 1D
    default, the exponentially fitted scheme: one warning says so."""
    import logging

    from mpi4py import MPI

    from fem_sse.app.run import solve_case

    path = tmp_path / "degree.toml"
    path.write_text(MINIMAL + "\n[solver]\ndegree = 2\n")
    with caplog.at_level(logging.WARNING):
        summary, _ = solve_case(load_config(path), MPI.COMM_SELF)
    assert summary["solver"] == "fem-eafe"
    assert [r for r in caplog.records if "solver.degree = 2" in r.getMessage()]


def test_strip_on_interface_is_split(bilayer_data):
    bilayer_data["geometry"]["bottlenecks"] = [
        {"center": 50e-6, "width": 1e-7, "sigma_li_factor": 1e-4}]
    segments = parse_config(bilayer_data).segments()
    strips = [s for s in segments if s.bottleneck is not None]
    assert len(strips) == 2
    assert [s.material.B for s in strips] == [-2.3, -0.7]
    assert all(math.isclose(s.material.sigma_li, 1e-5) for s in strips)
    assert math.isclose(sum(s.length for s in strips), 1e-7)


@pytest.mark.parametrize("path, value, key", [
    (("cell", "temperature"), -1.0, "cell.temperature"),
    (("materials", "SE_anodic", "sigma_li"), 0.0, "materials.SE_anodic.sigma_li"),
    (("materials", "SE_anodic", "A"), "big", "materials.SE_anodic.A"),
    (("cell", "mu_anode"), -3.5, "cell.mu_anode"),
    (("cell", "mu_anodee"), 0.0, "cell.mu_anodee"),
    (("geometry", "dim"), 4, "geometry.dim"),
])
def test_bad_values_name_the_key(bilayer_data, path, value, key):
    node = bilayer_data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as info:
        parse_config(bilayer_data)
    assert info.value.key == key
    assert "\n" not in str(info.value)


def test_unknown_key_suggests(bilayer_data):
    bilayer_data["cell"]["mu_anod"] = 0.0
    with pytest.raises(ConfigError, match="did you mean 'mu_anode'"):
        parse_config(bilayer_data)


def test_unknown_material_and_overlap(bilayer_data):
    bilayer_data["geometry"]["layers"][0]["material"] = "SE_cathodik"
    with pytest.raises(ConfigError, match="did you mean 'SE_cathodic'"):
        parse_config(bilayer_data)
    bilayer_data["geometry"]["layers"][0]["material"] = "SE_cathodic"
    bilayer_data["geometry"]["bottlenecks"] = [
        {"center": 20e-6, "width": 2e-6, "sigma_li_factor": 0.1},
        {"center": 21e-6, "width": 2e-6, "sigma_li_factor": 0.1}]
    with pytest.raises(ConfigError, match="overlap"):
        parse_config(bilayer_data)


def test_exactly_one_operating_mode(bilayer_data):
    bilayer_data["cell"]["ionic_potential_drop"] = 0.01
    with pytest.raises(ConfigError, match="exactly one"):
        parse_config(bilayer_data)
    del bilayer_data["cell"]["current_density"]
    assert not parse_config(bilayer_data).cell.galvanostatic


def test_bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[cell\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
