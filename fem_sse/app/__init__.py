"""Application layer: commands built on the solver packages (new modules go here)."""
