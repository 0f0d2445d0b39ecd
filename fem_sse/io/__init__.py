"""Input/output: output folders fem-sse owns (outdir), summaries and field files of a transport
solution (outputs: VTX, XDMF, VTU), restart checkpoints, and child processes that read them
(childproc). Below the mechanics, which writes its fields with the same helpers."""
