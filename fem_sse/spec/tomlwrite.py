"""A minimal TOML writer for case dicts (the runtime has tomllib, which only reads).

Tables down to the second level become ``[a]`` / ``[a.b]`` sections, deeper ones inline
tables, lists of tables arrays of inline tables; strings, booleans, integers, floats (full
precision, ``repr``) and lists of those. ``tomllib.loads(dumps(d)) == d`` for every dict made
of these types.
"""

from __future__ import annotations

import json
import math

__all__ = ["dumps"]


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a valid TOML basic string
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):
            return "[\n" + ",\n".join(f"  {_value(x)}" for x in v) + ",\n]"
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    bare = k.replace("_", "").replace("-", "").isalnum() and k.isascii()
    return k if bare else json.dumps(k)


def _section(lines: list[str], path: list[str], table: dict) -> None:
    """Scalars of ``table`` under its header, then its sub-sections (tables down to the second
    level: ``[materials.NAME]``); deeper tables are written inline."""
    def is_section(v) -> bool:
        return isinstance(v, dict) and len(path) < 2

    if path and (not table or not all(is_section(v) for v in table.values())):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in table.items() if not is_section(v))
    for k, v in table.items():
        if is_section(v):
            _section(lines, [*path, k], v)


def dumps(data: dict, header: str = "") -> str:
    """TOML text of ``data``; ``header`` lines are written first as comments."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    _section(lines, [], data)
    return "\n".join(lines).lstrip("\n") + "\n"
