"""Input specification (no mesh, no DOLFINx): the case file (config), its geometry and mechanics
tables, validation helpers, dotted keys and the TOML writer.

A light package: importing it imports no submodule."""
