"""Bad input gives one clean ConfigError naming the key: every table, generated configs,
malformed TOML, malformed or missing mesh files (issue 8)."""

import copy
import math
from pathlib import Path

import pytest
from config_strategies import mutated, to_toml, valid_1d, valid_2d
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fem_sse.spec.config import Config, ConfigError, load_config, parse_config

ROOT = Path(__file__).parent.parent

FULL_1D = {
    "name": "full",
    "cell": {"temperature": 298.0, "current_density": 10.0, "mu_cathode": -3.0, "mu_anode": 0.0},
    "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3, "E": 1.5e11,
                                  "strain_law": {"kind": "two_state", "width": 0.05}},
                  "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}},
    "geometry": {"dim": 1, "thickness": 1e-4,
                 "layers": [{"material": "SE_cathodic", "thickness": 5e-5},
                            {"material": "SE_anodic", "thickness": 5e-5}],
                 "bottlenecks": [{"center": 2.5e-5, "width": 1e-7, "sigma_li_factor": 0.01}]},
    "mesh": {"size": 1e-6, "bottleneck_cells": 4},
    "solver": {"kind": "exact", "tolerance": 1e-5, "max_newton_iterations": 50},
    "mechanics": {"stack_pressure": 1e6, "bc": {"cathode": "roller", "anode": "pressure"}},
}
FULL_2D = {
    **copy.deepcopy(FULL_1D),
    "geometry": {"dim": 2, "width": 5e-5,
                 "layers": [{"material": "SE_cathodic", "thickness": 5e-5,
                             "grains": {"count": 8, "seed": 1}},
                            {"material": "SE_anodic", "thickness": 5e-5}],
                 "grain_boundaries": {"model": "interface", "conductance": 1e3},
                 "phase_boundaries": {"roughness": {"amplitude": 1e-6, "wavelength": 1e-5}},
                 "pores": [{"center": [7e-5, 2e-5], "radii": [3e-6, 2e-6]}],
                 "cracks": [{"start": [0.0, 1e-5], "end": [1e-5, 1e-5]}],
                 "asperities": [{"y": 2.5e-5, "depth": 5e-6, "width": 5e-6}]},
    "mesh": {"size_bulk": 5e-6, "grading": 0.5},
    "mechanics": {"model": "plane_strain", "bc": {"side_y0": "roller"}},
    "solver": {"kind": "fem"},
}


def _tables(node, path=""):
    """(dotted path, table) of every table of a config, lists of tables included."""
    if isinstance(node, dict):
        if path:
            yield path, node
        for key, value in node.items():
            yield from _tables(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _tables(value, f"{path}[{i}]")


def _cases():
    for data in (FULL_1D, FULL_2D):
        for path, table in _tables(data):
            key = next((k for k in table if len(k) > 3), None)
            if key is not None and path != "materials":  # material names are free
                yield data, path, key


@pytest.mark.parametrize("data, path, key", list(_cases()),
                         ids=[f"{d['geometry']['dim']}d:{p}" for d, p, _ in _cases()])
def test_unknown_key_in_every_table_gets_a_did_you_mean(data, path, key):
    assert isinstance(parse_config(copy.deepcopy(data)), Config)
    broken = copy.deepcopy(data)
    table = dict(_tables(broken))[path]
    typo = key[:-1] + key[-1] * 2  # "temperature" -> "temperaturee"
    table[typo] = table.pop(key)
    with pytest.raises(ConfigError) as info:
        parse_config(broken)
    assert info.value.key == f"{path}.{typo}"
    assert f"did you mean '{key}'" in str(info.value)


@pytest.mark.parametrize("where, key, value, expect", [
    ("cell", "mu_anode", -3.5, "charging"),  # Li+ driven into the anode: mu_a >= mu_c
    ("cell", "temperature", 0.0, "> 0 K"),
    ("materials.SE_anodic", "sigma_li", 0.0, "> 0 S/m"),
    ("materials.SE_anodic", "A", -1e-17, "> 0 S/m"),
    ("materials.SE_anodic", "B", -19.0, "kT"),  # sigma_eh not representable
    ("geometry", "thickness", 2e-4, "layers sum to"),
    ("geometry.layers[0]", "thickness", 50.0, "50 um is 5e-05"),
    ("geometry.layers[0]", "material", "SE_cathodik", "did you mean 'SE_cathodic'"),
    ("geometry.layers[0]", "material", ["x"], "unknown material"),
    ("geometry.layers[0]", "grains", {"count": 3}, "only for dim = 2"),
    ("geometry.bottlenecks[0]", "center", 1e-4, "inside"),
    ("geometry.bottlenecks[0]", "width", 1e-18, "shorter than"),
    ("geometry", "width", 1e-4, "only for dim = 2"),
    ("mesh", "size", 1e-9, "max_cells"),
    ("mesh", "size_bulk", 1e-6, "only for dim = 2"),
    ("solver", "max_newton_iterations", 0, ">= 1"),
    ("materials.SE_anodic", "preset", ["llzo"], "unknown preset"),
])
def test_bad_value_is_one_line_naming_the_key(where, key, value, expect):
    data = copy.deepcopy(FULL_1D)
    dict(_tables(data))[where][key] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    message = str(info.value)
    assert "\n" not in message and expect in message
    assert info.value.key.startswith(where)


def test_overlapping_strips_and_a_symmetric_cell():
    data = copy.deepcopy(FULL_1D)
    data["geometry"]["bottlenecks"].append({"center": 2.5e-5, "width": 1e-6,
                                            "sigma_li_factor": 1.0})
    with pytest.raises(ConfigError, match="overlap"):
        parse_config(data)
    data = copy.deepcopy(FULL_1D)
    data["cell"]["mu_anode"] = data["cell"]["mu_cathode"]  # Li | SE | Li: no cell voltage
    assert parse_config(data).cell.mu_anode == -3.0


def test_pieces_below_the_mesh_tolerance_are_for_the_exact_solver_only(comm):
    from fem_sse.transport.exact1d import solve_exact
    from fem_sse.geometry import build_mesh

    data = copy.deepcopy(FULL_1D)
    data["geometry"]["bottlenecks"][0]["width"] = 1e-11  # 1e-7 L: a vanishing strip
    config = parse_config(data)
    assert 0.0 < solve_exact(config).t_li < 1.0
    with pytest.raises(ConfigError, match="mesh generator's tolerance") as info:
        build_mesh(config, comm)
    assert info.value.key == "geometry.bottlenecks[0]"


def test_geometry_not_a_table_and_mesh_file_path():
    data = copy.deepcopy(FULL_1D)
    data["geometry"] = 5
    with pytest.raises(ConfigError, match="must be a table"):
        parse_config(data)
    data = copy.deepcopy(FULL_2D)
    data["geometry"]["mesh_file"] = "x.vtk"
    with pytest.raises(ConfigError, match=r"\.msh or \.geo"):
        parse_config(data)


def _clean(data) -> bool:
    """parse_config either validates or raises a one-line ConfigError naming a key."""
    try:
        parse_config(data)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
        return False
    return True


@settings(max_examples=120, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(valid_1d(), valid_1d(wide=True), valid_2d()).flatmap(
    lambda base: st.one_of(st.just(base), mutated(base))))
def test_generated_configs_validate_or_give_a_config_error(data):
    _clean(data)


@settings(max_examples=40, deadline=None, database=None, derandomize=True)
@given(valid_2d())
def test_generated_2d_configs_are_valid(data):
    assert _clean(data)


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(st.data())
def test_malformed_toml_gives_a_config_error(tmp_path_factory, data):
    text = to_toml(data.draw(valid_1d()))
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 12)))
    junk = data.draw(st.sampled_from(["", "[", "]", "=", "\"", "{", "}", ",", "\n", "[[x]]\n",
                                      "a = 1\n", "\\", "#", "'''", "nan", "\x00"]))
    path = tmp_path_factory.mktemp("toml") / "case.toml"
    path.write_text(text[:start] + junk + text[end:])
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_unreadable_config_files(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[cell]\n")
    for path, match in ((binary, "not UTF-8"), (tmp_path, "cannot read"),
                        (tmp_path / "missing.toml", "cannot read")):
        with pytest.raises(ConfigError, match=match):
            load_config(path)


def test_toml_writer_round_trips():
    import tomllib

    data = copy.deepcopy(FULL_2D)
    data["cell"]["temperature"] = math.inf
    assert tomllib.loads(to_toml(data)) == data


def _mesh_file_cases(folder):
    good = (ROOT / "meshes" / "2d_defects.msh").read_bytes()
    files = {"missing": None, "empty": b"", "garbage": b"garbage\x00\x01 not a mesh",
             "header_only": b"$MeshFormat\n4.1 0 8\n$EndMeshFormat\n"}
    for fraction in (0.1, 0.4, 0.8, 0.99):
        files[f"truncated_{fraction}"] = good[:int(fraction * len(good))]
    paths = {}
    for name, content in files.items():
        paths[name] = folder / f"{name}.msh"
        if content is not None:
            paths[name].write_bytes(content)
    return paths


def test_malformed_and_missing_mesh_files_are_clean_errors(shared_tmp, comm):
    import dataclasses

    from fem_sse.geometry import MeshError, build_mesh

    base = load_config(ROOT / "cases" / "2d" / "defects.toml")
    folder = shared_tmp / "meshes"
    if comm.rank == 0:
        folder.mkdir()
        paths = _mesh_file_cases(folder)
    paths = comm.bcast(paths if comm.rank == 0 else None, root=0)
    for name, path in paths.items():
        config = dataclasses.replace(base, geometry2d=dataclasses.replace(
            base.geometry2d, mesh_file=str(path)))
        with pytest.raises(MeshError) as info:  # a ConfigError: exit code 2
            build_mesh(config, comm)
        assert str(info.value).startswith("geometry.mesh_file"), name
        assert "\n" not in str(info.value)
