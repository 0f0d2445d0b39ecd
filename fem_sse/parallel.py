"""Gathering per-rank arrays on one rank: the one helper every gather-to-rank-0 uses.

Small data only (the cells a front crosses, a 1D mesh of at most ``solver.max_cells`` cells, a
plot's samples): whole 2D fields are never gathered.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gather_arrays"]


def gather_arrays(comm, *arrays, root: int = 0) -> tuple[np.ndarray, ...] | None:
    """Each of ``arrays`` (the calling rank's rows) concatenated along its first axis over the
    ranks of ``comm``, in rank order, on ``root``; None on the other ranks. Collective.

    Args:
        comm: MPI communicator.
        arrays: local arrays; the k-th of every rank is joined with the k-th of the others.
        root: the rank that receives them.
    """
    parts = comm.gather(arrays, root=root)
    if comm.rank != root:
        return None
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(len(arrays)))
