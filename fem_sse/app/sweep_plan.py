"""Sweep plans: ``KEY=VALUES`` axes, their points (a grid or a list) and the validated config
and folder name of every point (docs/commands/sweep.md). Nothing runs here:
:mod:`fem_sse.app.studies` runs a plan.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field

import numpy as np

from fem_sse.spec.config import Config, ConfigError, parse_config
from fem_sse.spec.dotted import set_dotted

__all__ = ["MAX_FOLDER_NAME", "Axis", "SweepPlan", "expand", "parse_axis", "plan_sweep",
           "short_key"]

#: most points of one sweep (a grid, or one LO:HI:N range)
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Axis:
    """One swept key: a dotted config path (``geometry.layers[1].thickness``) and its values."""

    key: str
    values: tuple


@dataclass
class SweepPlan:
    """Validated points of a sweep: overrides, configs and folder names, in table order."""

    base: dict
    axes: tuple[Axis, ...]
    mode: str
    points: list[dict] = field(default_factory=list)
    configs: list[Config] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def fingerprint(self, solver: str | None) -> str:
        """Hash of the base case and the solver: a resumed sweep must match it."""
        text = json.dumps({"base": self.base, "solver": solver}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _value(text: str):
    """A TOML-like scalar: JSON numbers, true/false, or the bare string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def parse_axis(text: str) -> Axis:
    """``KEY=V1,V2,...`` (a list), ``KEY=LO:HI:N`` (N linearly spaced values) or
    ``KEY=LO:HI:N:log`` (N log-spaced values, LO and HI > 0).

    Raises:
        ConfigError: naming ``--set`` and the expected forms.
    """
    if "=" not in text:
        raise ConfigError("--set", f"expected KEY=V1,V2,... or KEY=LO:HI:N[:log], got {text!r}")
    key, spec = (part.strip() for part in text.split("=", 1))
    if not key or not spec:
        raise ConfigError("--set", f"expected KEY=V1,V2,... or KEY=LO:HI:N[:log], got {text!r}")
    if ":" in spec and "," not in spec:
        return Axis(key, _range(key, spec))
    return Axis(key, tuple(_value(v) for v in spec.split(",")))


def _range(key: str, spec: str) -> tuple:
    parts = spec.split(":")
    scale = parts.pop() if parts[-1] in ("lin", "log") else "lin"
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        raise ConfigError(f"--set {key}", f"expected LO:HI:N[:log], got {spec!r}") from None
    if not 1 <= n <= MAX_POINTS:
        raise ConfigError(f"--set {key}", f"N must be in [1, {MAX_POINTS}], got {n}")
    if scale == "log" and (lo <= 0 or hi <= 0):
        raise ConfigError(f"--set {key}", f"a log range needs LO, HI > 0, got {spec!r}")
    values = np.geomspace(lo, hi, n) if scale == "log" else np.linspace(lo, hi, n)
    # 12 digits: 7.5e-05, not 7.500000000000001e-05, in tables and folder names
    return tuple(float(f"{v:.12g}") for v in values)


def expand(axes: tuple[Axis, ...], mode: str = "grid") -> list[dict]:
    """The points (``{key: value}``) of a grid (every combination, last key fastest) or a list
    (the i-th value of every axis; all axes of equal length, or of length one)."""
    if not axes:
        raise ConfigError("--set", "give at least one KEY=VALUES")
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise ConfigError("--set", f"a key is given twice: {keys}")
    if mode == "list":  # single values are repeated for every point
        n = max(len(a.values) for a in axes)
        if any(len(a.values) not in (1, n) for a in axes):
            raise ConfigError("--list", "every --set needs the same number of values (or one), "
                              "got " + ", ".join(f"{a.key}: {len(a.values)}" for a in axes))
        combos = zip(*(a.values * (n // len(a.values)) for a in axes), strict=True)
    else:
        total = math.prod(len(a.values) for a in axes)
        if total > MAX_POINTS:
            raise ConfigError("--set", f"the grid has {total} points, at most {MAX_POINTS}")
        combos = itertools.product(*(a.values for a in axes))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


def short_key(key: str) -> str:
    """Folder-name form of a key: the table name dropped, indices kept, so that
    ``geometry.layers[0].thickness`` and ``geometry.layers[1].thickness`` stay distinct."""
    parts = key.replace("]", "").replace("[", "").split(".")
    return ".".join(parts[1:] if len(parts) > 1 else parts)


#: longest run-folder name (file systems allow 255 bytes; the .partial/.old-PID suffixes too)
MAX_FOLDER_NAME = 120


def _folder_name(point: dict) -> str:
    text = "_".join(f"{short_key(k)}={v:.10g}" if isinstance(v, float) else f"{short_key(k)}={v}"
                    for k, v in point.items())
    name = "run_" + "".join(c if c.isalnum() or c in "=._-+" else "_"
                            for c in text)
    if len(name) <= MAX_FOLDER_NAME:
        return name
    # many keys: a readable start and a hash of the whole (summary.json keeps the point)
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[:MAX_FOLDER_NAME - 13]}_{digest}"


def plan_sweep(base: dict, axes: tuple[Axis, ...], mode: str = "grid",
               name: str = "case") -> SweepPlan:
    """Expand and validate every point (ConfigError before anything runs)."""
    plan = SweepPlan(base=base, axes=tuple(axes), mode=mode)
    for point in expand(plan.axes, mode):
        data = copy.deepcopy(base)
        for key, value in point.items():
            set_dotted(data, key, value, make_tables=True)
        try:
            config = parse_config(data, name=name)
        except ConfigError as exc:
            raise ConfigError(exc.key, f"{exc.message} (sweep point {point})") from None
        plan.points.append(point)
        plan.configs.append(config)
        plan.names.append(_folder_name(point))
    if len(set(plan.names)) != len(plan.names):
        raise ConfigError("--set", "two points map to the same folder name (repeated values?)")
    return plan
