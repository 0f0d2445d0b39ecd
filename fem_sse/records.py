"""Summary records: frozen dataclasses whose field names are their summary.json keys.

A block of summary.json (or of a diagnosis) is a record: its fields, in order, are the block's
keys, so a key is spelled once, as a field name, in the module that defines the record (the
rule of tests/test_architecture.py). :meth:`SummaryRecord.to_summary` writes the block:

* a field made with :func:`spliced` holds a dict (or a record) whose items become keys
  ``prefix + name`` (``crack_risk_distances = {"cathode": d}`` with prefix
  ``crack_risk_distance_to_`` gives ``crack_risk_distance_to_cathode``);
* a field made with :func:`optional` is left out while None;
* a value that is a record (or a list, or a dict of records) is written as its block.

:class:`MappingRecord` also reads as a mapping of its fields (scripts, tests and benches that
index a result by its key). No NumPy, no DOLFINx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, fields

__all__ = ["MappingRecord", "SummaryRecord", "as_summary", "optional", "spliced"]


def spliced(prefix: str, required: bool = False):
    """A field (a dict or a record) whose items become keys ``prefix + name`` (an empty dict
    by default, unless ``required``)."""
    default = {} if required else {"default_factory": dict}
    return field(**default, metadata={"prefix": prefix})


def optional():
    """A field left out of the block while None."""
    return field(default=None, metadata={"optional": True})


def as_summary(value):
    """``value`` as JSON data: a record as its block, lists and dicts of records item by item
    (other values as they are)."""
    if hasattr(value, "to_summary"):
        return value.to_summary()
    if isinstance(value, list | tuple) and any(hasattr(v, "to_summary") for v in value):
        return [as_summary(v) for v in value]
    if isinstance(value, dict) and any(hasattr(v, "to_summary") for v in value.values()):
        return {k: as_summary(v) for k, v in value.items()}
    return value


class SummaryRecord:
    """A dataclass whose fields are the keys of its summary block, in order."""

    def to_summary(self) -> dict:
        """The block: the fields in their order (spliced and optional ones as above)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if "prefix" in f.metadata:
                out.update({f"{f.metadata['prefix']}{k}": v
                            for k, v in as_summary(value).items()})
            elif value is not None or not f.metadata.get("optional"):
                out[f.name] = as_summary(value)
        return out


class MappingRecord(Mapping):
    """A dataclass that also reads as a read-only mapping of its fields."""

    def __getitem__(self, key: str):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
