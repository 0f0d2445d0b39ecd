"""fem_sse: electro-chemo-mechanics of solid-electrolyte separators with FEniCSx (DOLFINx).

Layout (imports flow one way): ``config``/``materials`` -> ``geometry`` -> ``transport`` ->
``outputs``/``metrics`` -> ``cli``. ``exact1d`` is the closed-form 1D reference (NumPy/SciPy
only) and ``compat`` holds every DOLFINx-version difference.
"""

__version__ = "0.1.0"
