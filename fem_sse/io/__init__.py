"""Reading and writing run files that are not outputs for viewing (restart checkpoints)."""
