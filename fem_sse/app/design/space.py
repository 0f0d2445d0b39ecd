"""The design space: varied keys, objectives, constraints, and one evaluation of a design.

``--vary KEY=LO:HI[:log]`` names a dotted key of the case (``materials.SE_anodic.B``,
``cell.mu_anode``, ``geometry.layers[0].thickness``...) or the virtual key
``geometry.layers[i].fraction``: layer i takes that fraction of the (unchanged) total thickness,
the other layers share the rest in their original proportions, and bottleneck strips centred on
a layer interface (phase boundaries) move with it; a fixed strip they would overlap is dropped
(a grain boundary on the phase boundary is the phase boundary).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fem_sse.spec.config import ConfigError, parse_config
from fem_sse.app.design.metrics import (
    METRICS,
    DesignOptions,
    b_window_margin,
    design_metrics,
    failed_metrics,
)
from fem_sse.spec.dotted import get_dotted, set_dotted
from fem_sse.transport.exact1d import SolveError, solve_exact

__all__ = ["Constraint", "Evaluator", "Objective", "Variable", "apply_values", "check_variables",
           "parse_constraint", "parse_objective", "parse_vary"]

_FRACTION = re.compile(r"^geometry\.layers\[(\d+)\]\.fraction$")


@dataclass(frozen=True)
class Variable:
    """One varied key on [lo, hi] (in the key's own unit); ``log``: sampled/optimised in log10."""

    key: str
    lo: float
    hi: float
    log: bool = False

    @property
    def bounds(self) -> tuple[float, float]:
        """Bounds in optimiser coordinates (log10 of the value when ``log``)."""
        return (math.log10(self.lo), math.log10(self.hi)) if self.log else (self.lo, self.hi)

    def value(self, u: float) -> float:
        """Key value from optimiser coordinate ``u``."""
        return 10.0 ** u if self.log else float(u)

    def grid(self, n: int) -> list[float]:
        """``n`` values from lo to hi (geometric when ``log``)."""
        lo, hi = self.bounds
        return [self.value(lo + (hi - lo) * k / (n - 1)) for k in range(n)]


def parse_vary(text: str) -> Variable:
    """``KEY=LO:HI`` or ``KEY=LO:HI:log``."""
    if "=" not in text:
        raise ConfigError("--vary", f"expected KEY=LO:HI[:log], got {text!r}")
    key, spec = (s.strip() for s in text.split("=", 1))
    parts = spec.split(":")
    log = len(parts) == 3 and parts[2] == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise ConfigError(f"--vary {key}", f"expected LO:HI or LO:HI:log, got {spec!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"--vary {key}", f"LO and HI must be numbers, got {spec!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"--vary {key}", f"needs finite LO < HI, got {spec!r}")
    if log and lo <= 0.0:
        raise ConfigError(f"--vary {key}", f"a log range needs LO > 0, got {spec!r}")
    if _FRACTION.match(key) and not 0.0 < lo < hi < 1.0:
        raise ConfigError(f"--vary {key}", f"a thickness fraction must lie in (0, 1), got {spec!r}")
    return Variable(key, lo, hi, log)


def check_variables(base: dict, variables: Sequence[Variable]) -> None:
    """Every key exists in ``base`` (a fraction: its layer, in a stack of >= 2), none twice."""
    seen = set()
    for var in variables:
        if var.key in seen:
            raise ConfigError(f"--vary {var.key}", "given twice")
        seen.add(var.key)
        match = _FRACTION.match(var.key)
        if match:
            layers = get_dotted(base, "geometry.layers")
            if not int(match.group(1)) < len(layers) or len(layers) < 2:
                raise ConfigError(f"--vary {var.key}", f"needs a layer index < {len(layers)} "
                                  "in a stack of at least two layers")
            continue
        value = get_dotted(base, var.key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"--vary {var.key}", f"is not a number in the case ({value!r})")


def _apply_fractions(data: dict, fractions: dict[int, float]) -> None:
    layers = data["geometry"]["layers"]
    old = [float(layer["thickness"]) for layer in layers]
    total, rest_old = math.fsum(old), math.fsum(t for i, t in enumerate(old) if i not in fractions)
    rest_new = 1.0 - math.fsum(fractions.values())
    if rest_new <= 0.0 or (rest_old == 0.0 and rest_new > 0.0):
        raise ConfigError("geometry.layers", "the varied thickness fractions leave no room for "
                          "the other layers (their sum must be < 1)")
    new = [fractions[i] * total if i in fractions else t * rest_new * total / rest_old
           for i, t in enumerate(old)]
    edges_old = [math.fsum(old[:k]) for k in range(1, len(old))]
    edges_new = [math.fsum(new[:k]) for k in range(1, len(new))]
    for layer, t in zip(layers, new, strict=True):
        layer["thickness"] = t
    strips = data["geometry"].get("bottlenecks", [])
    moved, fixed = [], []
    for strip in strips:
        k = next((k for k, e in enumerate(edges_old)
                  if abs(strip["center"] - e) <= 0.5 * strip["width"] + 1e-9 * total), None)
        if k is None:
            fixed.append(strip)
        else:
            moved.append({**strip, "center": edges_new[k] + strip["center"] - edges_old[k]})
    keep = [s for s in fixed if not any(abs(s["center"] - m["center"]) < 0.5 * (
        s["width"] + m["width"]) for m in moved)]
    if strips:
        data["geometry"]["bottlenecks"] = sorted(moved + keep, key=lambda s: s["center"])


def apply_values(base: dict, values: dict[str, float]) -> dict:
    """A deep copy of ``base`` with the dotted keys set (fractions applied together)."""
    data = copy.deepcopy(base)
    fractions = {}
    for key, value in values.items():
        match = _FRACTION.match(key)
        if match:
            fractions[int(match.group(1))] = value
        else:
            set_dotted(data, key, value)
    if fractions:
        _apply_fractions(data, fractions)
    return data


@dataclass(frozen=True)
class Objective:
    """A metric to minimise (``sense`` +1) or maximise (-1)."""

    name: str
    sense: int = 1

    @property
    def label(self) -> str:
        """'min:name' or 'max:name'."""
        return f"{'min' if self.sense > 0 else 'max'}:{self.name}"


def _metric_name(name: str, where: str) -> str:
    if name not in METRICS:
        import difflib

        close = difflib.get_close_matches(name, list(METRICS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(METRICS)})"
        raise ConfigError(where, f"unknown metric {name!r}{hint}")
    return name


def parse_objective(text: str) -> Objective:
    """``NAME``, ``min:NAME`` or ``max:NAME`` (a scalar of :data:`METRICS`)."""
    sense, _, name = text.strip().rpartition(":")
    if sense not in ("", "min", "max"):
        raise ConfigError("--objective", f"expected [min:|max:]NAME, got {text!r}")
    return Objective(_metric_name(name, "--objective"), -1 if sense == "max" else 1)


@dataclass(frozen=True)
class Constraint:
    """``name op value`` with op one of <=, >=."""

    name: str
    op: str
    value: float

    def violation(self, metrics: dict) -> float:
        """0 when satisfied, else by how much (inf for a failed design)."""
        v = metrics.get(self.name, math.nan)
        if not math.isfinite(v):
            return math.inf
        return max(0.0, v - self.value) if self.op == "<=" else max(0.0, self.value - v)

    @property
    def label(self) -> str:
        """As written."""
        return f"{self.name}{self.op}{self.value:g}"


def parse_constraint(text: str) -> Constraint:
    """``NAME<=VALUE`` or ``NAME>=VALUE``."""
    match = re.fullmatch(r"\s*([A-Za-z_0-9]+)\s*(<=|>=)\s*(\S+)\s*", text)
    if not match:
        raise ConfigError("--constraint", f"expected NAME<=VALUE or NAME>=VALUE, got {text!r}")
    try:
        value = float(match.group(3))
    except ValueError:
        raise ConfigError("--constraint", f"the bound must be a number, got {text!r}") from None
    return Constraint(_metric_name(match.group(1), "--constraint"), match.group(2), value)


class Evaluator:
    """Evaluates designs (dicts of key values) with the exact solver; remembers every record.

    A design whose config is invalid or that has no steady state is marked in ``status``
    ("invalid: ...", "no steady state", "failed: ...") with NaN metrics; it never raises.
    The last solution's ln(j_e/j_i) warm-starts the next solve.
    """

    def __init__(self, base: dict, variables: Sequence[Variable],
                 options: DesignOptions | None = None, name: str = "design"):
        check_variables(base, variables)
        self.base, self.variables, self.name = base, list(variables), name
        self.options = options or DesignOptions()
        self.records: list[dict] = []
        self._guess: float | None = None
        #: optional callable(advance, note) after every design (fem_sse.progress.Progress.update)
        self.progress = None

    def config_data(self, values: Sequence[float]) -> dict:
        """The case dict of a design (values in key units, in the order of the variables)."""
        pairs = zip(self.variables, values, strict=True)
        return apply_values(self.base, {v.key: float(x) for v, x in pairs})

    def __call__(self, values: Sequence[float], keep: bool = True) -> dict:
        """The record of one design: its key values, ``status`` and the metrics."""
        record = {v.key: float(x) for v, x in zip(self.variables, values, strict=True)}
        try:
            # a 2D case is designed on its laterally averaged stack
            config = parse_config(self.config_data(values), name=self.name).stack_1d()
            sol = solve_exact(config, guess=self._guess)
            self._guess = sol.log_ratio
            record.update(status="ok", **design_metrics(sol, self.options))
        except ConfigError as exc:
            record.update(status=f"invalid: {exc}", **failed_metrics())
        except SolveError:
            record.update(status="no steady state", **failed_metrics())
            record["b_window_margin_eV"] = b_window_margin(config)
        except (ArithmeticError, ValueError) as exc:
            record.update(status=f"failed: {type(exc).__name__}: {exc}", **failed_metrics())
        if keep:
            self.records.append(record)
        if self.progress is not None:
            self.progress(1, record["status"])
        return record
