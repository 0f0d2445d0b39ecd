"""Hypothesis strategies for fem_sse configs, shared by the tests and bench/fuzz_configs.py.

``valid_1d`` draws configs meant to run (1D, paper-like ranges or, with ``wide``, the whole
documented ranges); ``valid_2d`` draws 2D configs (validation only); ``mutated`` breaks a config
the way users do: a typo in a key, a value of the wrong type, a value out of range (or in the
wrong unit), a missing key. ``to_toml`` (:func:`fem_sse.spec.tomlwrite.dumps`) writes any of them
as TOML text.
"""

from __future__ import annotations

import copy
import math
import time
import traceback
from pathlib import Path

from hypothesis import strategies as st

from fem_sse.spec.tomlwrite import dumps

__all__ = ["fuzz_case", "mutated", "run_outcome", "to_toml", "valid_1d", "valid_2d"]


def log_uniform(lo: float, hi: float):
    """Floats spread evenly in log10 between ``lo`` and ``hi`` (> 0)."""
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(f"{10.0**e:.6g}"))


def _round(value: float) -> float:
    return float(f"{value:.6g}")


@st.composite
def _cell(draw, wide: bool) -> dict:
    temperature = draw(log_uniform(1e-3, 5000.0) if wide else st.floats(250.0, 700.0))
    mu_c = draw(st.floats(-20.0, 20.0) if wide else st.floats(-4.0, -0.5))
    window = draw(st.one_of(st.just(0.0), st.floats(0.0, 40.0 if wide else 4.0)))
    cell = {"temperature": _round(temperature), "mu_cathode": _round(mu_c),
            "mu_anode": _round(min(mu_c + window, 20.0))}
    if draw(st.booleans()):
        cell["current_density"] = draw(log_uniform(1e-6, 1e6) if wide else log_uniform(1e-2, 1e3))
    else:
        cell["ionic_potential_drop"] = draw(log_uniform(1e-6, 100.0) if wide
                                            else log_uniform(1e-4, 1.0))
    return cell


@st.composite
def _material(draw, cell: dict, wide: bool) -> dict:
    lo, hi = cell["mu_cathode"], cell["mu_anode"]
    if draw(st.integers(0, 9)) == 0:
        return {"preset": draw(st.sampled_from(["paper_cathodic", "paper_anodic", "llzo_like",
                                                "llzo", "lpscl"]))}
    table = {"sigma_li": draw(log_uniform(1e-10, 1e4) if wide else log_uniform(1e-4, 10.0)),
             "A": draw(log_uniform(1e-40, 1e4) if wide else log_uniform(1e-25, 1e-10)),
             "B": _round(draw(st.floats(-20.0, 20.0) if wide else st.floats(lo - 1.0, hi + 1.0)))}
    if draw(st.integers(0, 4)) == 0:  # mechanical data (used when [mechanics] is present)
        table.update(E=draw(log_uniform(1e9, 3e11)), nu=_round(draw(st.floats(0.1, 0.45))),
                     expansion=_round(draw(st.floats(-0.1, 0.1))),
                     strain_law=draw(st.sampled_from(["dilute", "two_state"])))
    return table


@st.composite
def _strips(draw, length: float) -> list:
    """Non-overlapping bottleneck strips inside (0, L), by fractions of L."""
    count = draw(st.integers(0, 3))
    centres = sorted(draw(st.lists(st.floats(0.05, 0.95), min_size=count, max_size=count,
                                   unique=True)))
    strips, last = [], 0.0
    for c in centres:
        width = draw(log_uniform(1e-5, 0.02))
        if c - width / 2 <= last + 1e-3:
            continue
        strips.append({"center": _round(c * length), "width": _round(width * length),
                       "sigma_li_factor": draw(log_uniform(1e-4, 10.0))})
        last = c + width / 2
    return strips


@st.composite
def valid_1d(draw, wide: bool = False, solver: str = "exact") -> dict:
    """A 1D config (dict) within the documented ranges, for ``solver``."""
    cell = draw(_cell(wide))
    names = [f"SE{i}" for i in range(draw(st.integers(1, 3)))]
    materials = {name: draw(_material(cell, wide)) for name in names}
    layers = [{"material": draw(st.sampled_from(names)),
               "thickness": draw(log_uniform(1e-8, 0.3) if wide else log_uniform(1e-6, 1e-3))}
              for _ in range(draw(st.integers(1, 4)))]
    length = math.fsum(layer["thickness"] for layer in layers)
    geometry = {"dim": 1, "layers": layers, "bottlenecks": draw(_strips(length))}
    if draw(st.booleans()):
        geometry["thickness"] = length
    data = {"name": "fuzz", "cell": cell, "materials": materials, "geometry": geometry}
    if solver == "fem":  # a budget that keeps every run short
        data["solver"] = {"kind": "fem", "max_cells": draw(st.integers(100, 1500)),
                          "max_refinements": draw(st.integers(0, 4)),
                          "tolerance": draw(log_uniform(1e-6, 1e-2))}
        data["mesh"] = {"bottleneck_cells": draw(st.integers(1, 4))}
    else:
        data["solver"] = {"kind": "exact"}
    if draw(st.integers(0, 4)) == 0:
        data["mechanics"] = {"stack_pressure": draw(st.sampled_from([0.0, 1e6, 5e7]))}
    return data


@st.composite
def valid_2d(draw) -> dict:
    """A 2D config (dict): grains, boundaries, defects and mesh sizes (validation only)."""
    data = draw(valid_1d())
    layers = data["geometry"]["layers"]
    length = math.fsum(layer["thickness"] for layer in layers)
    width = _round(length * draw(st.floats(0.2, 2.0)))
    geometry = {**data["geometry"], "dim": 2, "width": width}
    for layer in layers:
        if draw(st.booleans()):
            layer["grains"] = {"count": draw(st.integers(1, 40)), "seed": draw(st.integers(0, 9)),
                               "kind": draw(st.sampled_from(["equiaxed", "columnar"]))}
    if draw(st.booleans()):
        grain = min([math.sqrt(layer["thickness"] * width / layer["grains"]["count"])
                     for layer in layers if "grains" in layer], default=min(length, width))
        geometry["grain_boundaries"] = draw(st.sampled_from([
            {"model": "interface", "conductance": 1e3},
            {"model": "strip", "width": _round(0.1 * grain), "sigma_li_factor": 0.01}]))
    if len(layers) > 1 and draw(st.booleans()):
        thinnest = min(layer["thickness"] for layer in layers)
        geometry["phase_boundaries"] = {"roughness": {"amplitude": _round(0.1 * thinnest),
                                                      "wavelength": _round(0.3 * width)}}
    if draw(st.booleans()):
        geometry["pores"] = [{"center": [_round(0.5 * length), _round(0.5 * width)],
                              "radii": [_round(0.05 * length), _round(0.05 * width)]}]
    if draw(st.booleans()):
        geometry["cracks"] = [{"start": [0.0, _round(0.3 * width)],
                               "end": [_round(0.2 * length), _round(0.3 * width)],
                               "kind": draw(st.sampled_from(["line", "slit"]))}]
        if geometry["cracks"][0]["kind"] == "slit":
            geometry["cracks"][0]["width"] = _round(0.01 * length)
    if draw(st.booleans()):
        geometry["anode_contact"] = [[0.0, _round(0.4 * width)], [_round(0.6 * width), width]]
    if draw(st.booleans()):
        geometry["asperities"] = [{"y": _round(0.5 * width), "depth": _round(0.1 * layers[-1][
            "thickness"]), "width": _round(0.1 * width)}]
    data["geometry"] = geometry
    data["mesh"] = {"size_bulk": _round(length / draw(st.integers(5, 50))),
                    "grading": _round(draw(st.floats(0.1, 2.0)))}
    data["solver"] = {"kind": "fem"}
    if "mechanics" in data:
        data["mechanics"]["model"] = draw(st.sampled_from(["plane_strain", "plane_stress"]))
    return data


# -- mutations ----------------------------------------------------------------------------------

_BAD_VALUES = st.one_of(
    st.sampled_from([-1, 0, 1, -1.0, 0.0, 1e300, -1e300, 10**30, math.nan, math.inf, -math.inf,
                     True, False, "", "text", "1e-6", "50 um", [], [1, 2], [[1]], {}, {"x": 1},
                     [{"material": 1}], {"model": "strip"}]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**6, 10**6),
    st.text(max_size=8),
)


def _slots(node, path=()):
    """Every (container, key, path) below ``node`` (dict keys and list indices)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield node, key, (*path, key)
        if isinstance(value, (dict, list)):
            yield from _slots(value, (*path, key))


def _typo(draw, key: str) -> str:
    if not key:
        return "x"
    i = draw(st.integers(0, len(key) - 1))
    kind = draw(st.sampled_from(["drop", "double", "swap", "case", "append"]))
    if kind == "drop" and len(key) > 1:
        return key[:i] + key[i + 1:]
    if kind == "swap" and i + 1 < len(key):
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if kind == "case":
        return key.upper() if key != key.upper() else key.lower() + "x"
    return key[:i] + key[i] + key[i:] if kind == "double" else key + "_x"


@st.composite
def mutated(draw, base: dict) -> dict:
    """``base`` broken in 1-3 places (deleted, renamed, replaced, scaled or added keys)."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        slots = list(_slots(data))
        if not slots:
            break
        container, key, _ = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["delete", "rename", "replace", "replace", "scale", "add"]))
        value = container[key]
        if op == "delete":
            del container[key]
        elif op == "rename" and isinstance(container, dict):
            container[_typo(draw, key)] = container.pop(key)
        elif op == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            container[key] = value * draw(st.sampled_from([-1, 1e-9, 1e-6, 1e6, 1e9, 0]))
        elif op == "add" and isinstance(value, dict):
            value[draw(st.sampled_from(["extra", "tempreature", "sigma_Li", "centre", "kind",
                                        "dim", "width"]))] = draw(_BAD_VALUES)
        else:
            container[key] = draw(_BAD_VALUES)
    return data


@st.composite
def fuzz_case(draw, kind: str | None = None) -> tuple[dict, str]:
    """(config dict, solver) of one fuzz kind: "exact" (valid 1D, paper-like ranges), "wide"
    (valid 1D, the whole documented ranges), "fem" (valid 1D for FEM, small budgets), "bad"
    (mutated 1D) or "2d" (2D, validated only: solver "validate"; half of them mutated)."""
    kind = kind or draw(st.sampled_from(["exact", "wide", "fem", "bad", "2d"]))
    if kind == "fem":
        return draw(valid_1d(solver="fem")), "fem"
    if kind == "2d":
        base = draw(valid_2d())
        return (draw(mutated(base)) if draw(st.booleans()) else base), "validate"
    base = draw(valid_1d(wide=kind == "wide"))
    return (draw(mutated(base)) if kind == "bad" else base), "exact"


# -- TOML -------------------------------------------------------------------------------------

#: TOML text of a config dict: the package's writer, so the fuzz also exercises it.
to_toml = dumps


# -- running ----------------------------------------------------------------------------------


def run_outcome(data: dict, solver: str, folder: Path, comm=None) -> dict:
    """Outcome of one config dict the way ``fem-sse run`` treats it: written as TOML, loaded,
    run with ``solver`` ("exact", "fem"; "validate": load only) into ``folder/out``.

    Returns:
        {"outcome": "ran" | "validated" | "rejected" (exit 2) | "not_converged" (exit 3 or 4) |
        "traceback" (anything else), "message": one line or the traceback, "seconds"}.
    """
    from mpi4py import MPI

    from fem_sse.spec.config import ConfigError, load_config
    from fem_sse.errors import EXIT_NO_STEADY_STATE, EXIT_NOT_CONVERGED, exit_code, one_line
    from fem_sse.app.run import run_case

    path = folder / "case.toml"
    path.write_text(to_toml(data))
    start = time.perf_counter()
    try:
        config = load_config(path)
        if solver != "validate":
            run_case(config, folder / "out", comm or MPI.COMM_SELF, solver=solver)
        outcome, message = ("validated" if solver == "validate" else "ran"), ""
    except ConfigError as exc:
        outcome, message = "rejected", one_line(exc)
    except Exception as exc:  # noqa: BLE001 - classified, not hidden
        if exit_code(exc) in (EXIT_NOT_CONVERGED, EXIT_NO_STEADY_STATE):
            outcome, message = "not_converged", one_line(exc)
        else:
            outcome, message = "traceback", traceback.format_exc()
    return {"outcome": outcome, "message": message, "seconds": time.perf_counter() - start}
