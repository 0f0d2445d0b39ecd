"""Validation helpers shared by the config parsers: one-line errors that name the key.

A leaf module (no fem_sse imports besides the error type), so :mod:`fem_sse.spec.config`,
:mod:`fem_sse.spec.geometry_parse` and :mod:`fem_sse.spec.mechanics` can all use it without
importing each other.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from fem_sse.errors import ConfigError

__all__ = ["UNITS", "ConfigError", "check_keys", "choice", "number", "pair"]


def check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    """Reject a non-table or a key outside ``allowed`` (with a did-you-mean hint)."""
    if not isinstance(table, dict):
        raise ConfigError(where, f"must be a table, got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(allowed)})"
            raise ConfigError(f"{where}.{key}" if where else key, f"unknown key{hint}")


#: Units of the numeric keys (by the key's last name), shown in range errors. Config values are
#: SI (potentials in eV); a unit mistake (um for m, mA/cm^2 for A/m^2) shows up as a range error.
UNITS = {
    "temperature": "K", "current_density": "A/m^2", "ionic_potential_drop": "V",
    "mu_cathode": "eV", "mu_anode": "eV", "B": "eV", "mu_ref": "eV", "mu_half": "eV",
    "sigma_li": "S/m", "A": "S/m", "conductance": "S/m^2",
    "thickness": "m", "width": "m", "center": "m", "size": "m", "depth": "m", "y": "m",
    "amplitude": "m", "wavelength": "m", "correlation_length": "m", "radii": "m",
    "start": "m", "end": "m", "size_bulk": "m", "size_gb": "m", "size_pb": "m",
    "size_electrode": "m", "size_crack_tip": "m", "size_pore": "m",
    "E": "Pa", "strength": "Pa", "stack_pressure": "Pa", "toughness": "Pa m^0.5",
    "angle": "rad",
}


def _unit(full: str) -> str:
    """' UNIT' of the key ``full`` ('geometry.pores[0].center[1]' -> ' m'), or ''."""
    leaf = full.rsplit(".", 1)[-1].split("[", 1)[0]
    return f" {UNITS[leaf]}" if leaf in UNITS else ""


def _check_value(value: Any, full: str, lo, hi, lo_open: bool, integer: bool):
    kind = int if integer else (int, float)
    unit = _unit(full)
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else f"a number{' (' + unit.strip() + ')' if unit else ''}"
        raise ConfigError(full, f"must be {what}, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # a TOML integer of hundreds of digits
        finite = False
    if not finite:
        shown = f"{str(value)[:12]}... ({len(str(value))} digits)" if isinstance(value, int) \
            else repr(value)
        raise ConfigError(full, f"must be a finite number{unit and ' (' + unit.strip() + ')'}, "
                          f"got {shown}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    if below or (hi is not None and value > hi):
        left = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}{unit}"
        right = "" if hi is None else f"<= {hi:g}{unit}"
        bounds = " and ".join(p for p in (left, right) if p)
        hint = ""
        if unit == " m" and hi is not None and value > hi and value * 1e-6 <= hi:
            hint = f" (lengths are in m: {value:g} um is {value * 1e-6:g})"
        raise ConfigError(full, f"must be {bounds}, got {value!r}{hint}")
    return int(value) if integer else float(value)


def number(table: dict, key: str, where: str, *, default=None, lo=None, hi=None,
           lo_open=False, integer=False) -> Any:
    """Read a number from ``table[key]`` and check ``lo <(=) value <= hi``."""
    full = f"{where}.{key}"
    if key not in table:
        if default is None:
            raise ConfigError(full, "missing required key")
        return default
    return _check_value(table[key], full, lo, hi, lo_open, integer)


def pair(table: dict, key: str, where: str, *, lo=(None, None), hi=(None, None),
         lo_open=False) -> tuple[float, float]:
    """Read a required list of two numbers; component i is checked against lo[i], hi[i]."""
    full = f"{where}.{key}"
    if key not in table:
        raise ConfigError(full, "missing required key")
    value = table[key]
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(full, f"must be a list of two numbers, got {value!r}")
    return tuple(_check_value(v, f"{full}[{i}]", lo[i], hi[i], lo_open, False)
                 for i, v in enumerate(value))


def choice(table: dict, key: str, where: str, allowed: tuple[str, ...], default=None) -> str:
    """Read a string that must be one of ``allowed``."""
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}.{key}", f"missing required key (one of {', '.join(allowed)})")
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{where}.{key}",
                          f"must be one of {', '.join(map(repr, allowed))}, got {value!r}{hint}")
    return value


def flag(table: dict, key: str, where: str, default: bool) -> bool:
    """The boolean ``where.key`` (ConfigError naming the key: not true or false)."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}", f"must be true or false, got {value!r}")
    return value
