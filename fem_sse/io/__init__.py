"""File formats (new modules; the older writers are in fem_sse.outputs)."""
