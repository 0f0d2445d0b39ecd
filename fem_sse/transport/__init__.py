"""Steady Li+ and electron/hole transport: the exact 1D solver (exact1d, NumPy only), the DOLFINx
problem (problem, newton, ionic, formcache), start states (start1d, start2d), adaptivity
(adapt), metrics and certification.

A light package: importing it imports no submodule."""
