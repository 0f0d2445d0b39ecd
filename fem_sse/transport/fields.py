"""Transport fields on a mesh: mu_Li0 from the Kirchhoff variable W, per material.

mu = B + kT asinh(W / (2 A kT)) with each cell's A (S/m) and B (eV): W (A/m) is discontinuous
where the material changes, mu_Li0 (eV) is continuous. Used by the mechanics (which is driven by
the mu_Li0 field) and by restart files (which store W); :func:`region_fields` gives the
transport problem its per-cell data.
"""

from __future__ import annotations

import numpy as np
from dolfinx import fem

from fem_sse.geometry.regions import regions_1d
from fem_sse.materials import conductivity

__all__ = ["cell_material_arrays", "mu_from_kirchhoff", "region_fields"]


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


def region_fields(smesh, config, Q, V) -> tuple[dict, dict]:
    """Per-cell data of the transport problem from the region table.

    Args:
        smesh: the mesh, tags and region table (none: the 1D table of ``config``).
        Q: the DG0 space; V: the DG space of W.

    Returns:
        ({"sigma_li" (S/m, the region's material's times its sigma_li_factor), "A" (S/m),
        "B" (eV), "material_id", "region_id"}: DG0 functions, {"A", "B"}: arrays at every dof
        of V, local and ghost, on which W(mu) and mu(W), pointwise maps, act dof by dof).

    Raises:
        ValueError: for cell tags without a region.
    """
    regions = smesh.regions or regions_1d(config)[0]
    ids = np.array(sorted(regions))
    mats = [config.materials[regions[t].material] for t in ids]
    keys = sorted({(m.A, m.B) for m in mats})
    table = np.array([[m.sigma_li * regions[t].sigma_li_factor, m.A, m.B,
                       keys.index((m.A, m.B))] for t, m in zip(ids, mats)])
    tags = smesh.cell_tags
    rows = np.searchsorted(ids, tags.values)
    if np.any(ids[np.minimum(rows, len(ids) - 1)] != tags.values):
        raise ValueError("cell tags without a region: "
                         f"{sorted(set(tags.values) - set(ids.tolist()))}")
    fields = {}
    for col, name in enumerate(("sigma_li", "A", "B", "material_id")):
        f = fem.Function(Q, name=name)
        f.x.array[tags.indices] = table[rows, col]
        f.x.scatter_forward()
        fields[name] = f
    region = fem.Function(Q, name="region_id")
    region.x.array[tags.indices] = tags.values
    fields["region_id"] = region
    imap = V.dofmap.index_map
    size = (imap.size_local + imap.num_ghosts) * V.dofmap.index_map_bs
    cell_dofs, cell_values = V.dofmap.list, Q.dofmap.list[:, 0]
    dof_material = {}
    for name in ("A", "B"):
        values = np.empty(size)
        values[cell_dofs] = fields[name].x.array[cell_values][:, None]
        dof_material[name] = values
    return fields, dof_material
