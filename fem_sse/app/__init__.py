"""Application layer: commands built on the solver packages (view, restart of a saved run)."""
