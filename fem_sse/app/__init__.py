"""Application layer: commands built from the library (restart of a saved run)."""
