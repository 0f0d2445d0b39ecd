"""fem_sse: electro-chemo-mechanics of solid-electrolyte separators with FEniCSx (DOLFINx).

Layers, bottom to top (imports flow one way, docs/architecture.md): base modules (``compat``,
``errors``, ``progress``, ``solvers``) -> ``materials`` -> ``spec`` -> ``geometry`` ->
``transport`` -> ``io`` -> ``mechanics`` -> ``app``. ``transport.exact1d`` is the closed-form
1D reference (NumPy/SciPy only) and ``compat`` holds every DOLFINx-version difference.
"""

__version__ = "0.1.0"
