"""Dotted keys on a parsed TOML dict: ``materials.SE_anodic.B``, ``geometry.layers[1].thickness``.

A leaf module (no fem_sse imports besides the error type), meant to be shared by every command
that edits a case before validating it (``fem-sse design``; ``fem-sse sweep`` can use it too).
"""

from __future__ import annotations

from fem_sse.spec.validate import ConfigError

__all__ = ["get_dotted", "set_dotted", "split_dotted"]


def split_dotted(dotted: str) -> list[str | int]:
    """'a.b[0].c' -> ['a', 'b', 0, 'c'] (list indices as integers)."""
    parts = dotted.replace("]", "").replace("[", ".").split(".")
    if not dotted or any(p == "" for p in parts):
        raise ConfigError(dotted or "KEY", "malformed dotted key (expected e.g. "
                          "materials.NAME.B or geometry.layers[1].thickness)")
    return [int(p) if p.isdigit() else p for p in parts]


def _walk(data: dict, parts: list, dotted: str, make_tables: bool = False):
    node = data
    for part in parts:
        if make_tables and isinstance(node, dict) and isinstance(part, str):
            node.setdefault(part, {})
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(dotted, "no such key in the config") from None
    return node


def get_dotted(data: dict, dotted: str):
    """The value at ``dotted`` (ConfigError naming the key when it does not exist)."""
    return _walk(data, split_dotted(dotted), dotted)


def set_dotted(data: dict, dotted: str, value, create: bool = True,
               make_tables: bool = False) -> None:
    """data['a']['b'][0]['c'] = value for 'a.b[0].c' (in place).

    Every container on the way must exist, unless ``make_tables``: then missing tables are
    created (``mechanics.stack_pressure`` turns mechanics on; the validation that follows
    rejects unknown keys). The last key may be new in a table when ``create`` is true (e.g. a
    material's optional key). List items are never created.
    """
    parts = split_dotted(dotted)
    node = _walk(data, parts[:-1], dotted, make_tables)
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not -len(node) <= last < len(node):
            raise ConfigError(dotted, "no such key in the config")
    elif not isinstance(node, dict) or (not create and last not in node):
        raise ConfigError(dotted, "no such key in the config")
    node[last] = value
