"""Validation helpers shared by the config parsers: one-line errors that name the key.

A leaf module (no fem_sse imports), so :mod:`fem_sse.config` and :mod:`fem_sse.geometry_spec`
can both use it without importing each other.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

__all__ = ["ConfigError", "check_keys", "choice", "number", "pair"]


class ConfigError(ValueError):
    """Invalid configuration; the message is one line and names the key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message

    def __reduce__(self):
        return type(self), (self.key, self.message)


def check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    """Reject a non-table or a key outside ``allowed`` (with a did-you-mean hint)."""
    if not isinstance(table, dict):
        raise ConfigError(where, f"must be a table, got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(allowed)})"
            raise ConfigError(f"{where}.{key}" if where else key, f"unknown key{hint}")


def _check_value(value: Any, full: str, lo, hi, lo_open: bool, integer: bool):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(full, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(full, f"must be finite, got {value!r}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    if below or (hi is not None and value > hi):
        left = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
        right = "" if hi is None else f"<= {hi:g}"
        bounds = " and ".join(p for p in (left, right) if p)
        raise ConfigError(full, f"must be {bounds}, got {value!r}")
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
