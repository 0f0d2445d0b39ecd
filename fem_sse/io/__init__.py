"""Input/output helpers that know nothing of the physics (output folders, file formats, restart checkpoints)."""
