"""Lazy re-exports of a package (PEP 562): the package's ``__init__`` names what its submodules
define, and a name is imported on first use. Importing the package itself then imports no
submodule, so ``import fem_sse.geometry.regions`` or a spec module never pulls DOLFINx, PETSc or
Gmsh through a package ``__init__`` (checked by tests/test_architecture.py).
"""

from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` re-exporting ``name`` from the submodule
    ``where[name]`` on first use; any other name is an AttributeError (so that
    ``from package import submodule`` still imports the submodule)."""

    def __getattr__(name: str):  # noqa: N807 - the module hook of PEP 562
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:  # noqa: N807
        module = importlib.import_module(package)
        return sorted({*vars(module), *where})

    return __getattr__, __dir__
