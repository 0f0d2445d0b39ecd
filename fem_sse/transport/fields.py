"""Transport fields on a mesh: mu_Li0 from the Kirchhoff variable W, per material.

mu = B + kT asinh(W / (2 A kT)) with each cell's A (S/m) and B (eV): W (A/m) is discontinuous
where the material changes, mu_Li0 (eV) is continuous. Used by the mechanics (which is driven by
the mu_Li0 field) and by restart files (which store W).
"""

from __future__ import annotations

import numpy as np
from dolfinx import fem

from fem_sse.materials import conductivity

__all__ = ["cell_material_arrays", "mu_from_kirchhoff"]


def cell_material_arrays(smesh, config, num: int):
    """Per local cell (owned and ghost): material name, A (S/m), B (eV)."""
    names = np.full(num, "", dtype=object)
    tags = smesh.cell_tags
    names[tags.indices] = [smesh.regions[int(t)].material for t in tags.values]
    A = np.array([config.materials[n].A if n else 1.0 for n in names])  # noqa: N806
    B = np.array([config.materials[n].B if n else 0.0 for n in names])  # noqa: N806
    return names, A, B


def mu_from_kirchhoff(smesh, kirchhoff: fem.Function, config) -> fem.Function:
    """mu_Li0 (eV) at the nodes of the DG1 space of ``kirchhoff`` (W, A/m), per material."""
    V = kirchhoff.function_space
    msh = V.mesh
    imap = msh.topology.index_map(msh.topology.dim)
    num = imap.size_local + imap.num_ghosts
    _, A, B = cell_material_arrays(smesh, config, num)  # noqa: N806
    kT = config.cell.kT  # noqa: N806
    dofs = V.dofmap.list[:num]
    mu = fem.Function(V, name="mu_Li0")
    w = kirchhoff.x.array[dofs]
    mu.x.array[dofs] = conductivity.mu_from_kirchhoff(w, A[:, None], B[:, None], kT)
    mu.x.scatter_forward()
    return mu
