"""A user's own 2D mesh (.msh, or .geo meshed here) that follows the naming convention.

The file's physical groups are read by name and re-added with the conventional ids of
:mod:`fem_sse.geometry.regions` (so cathode is 1 and anode 2 whatever the file said); a group
that breaks the convention, or a missing ``cathode``/``anode``, is a :class:`MeshError` naming it.
Coordinates must be in metres, cathode at x = 0, anode at x = L.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fem_sse.spec.config import Config
from fem_sse.geometry.regions import MeshError

__all__ = ["load_user_model"]

log = logging.getLogger(__name__)


#: scale factors of the length units a mesh may mistakenly be drawn in
_UNITS = (("um", 1e6), ("mm", 1e3), ("nm", 1e9), ("cm", 1e2))


def _check_extent(extent: float, thickness: float, where: str) -> None:
    """The mesh must span the layers' thickness along x (coordinates in m): a mesh drawn in
    um (10^6 times too large) would run to absurd potentials. Within 1 % a warning only."""
    ratio = extent / thickness
    if np.isclose(ratio, 1.0, rtol=1e-6):
        return
    unit = next((name for name, factor in _UNITS if np.isclose(ratio, factor, rtol=1e-2)), None)
    if unit is not None:
        raise MeshError(where, f"x extent {extent:.6g} is {ratio:.4g} times the layers' "
                        f"thickness {thickness:.6g} m: the mesh is drawn in {unit}; scale its "
                        "coordinates to metres (cathode at x = 0, anode at x = L)")
    if not np.isclose(ratio, 1.0, rtol=1e-2):
        raise MeshError(where, f"x extent {extent:.6g} m differs from the layers' thickness "
                        f"{thickness:.6g} m by {abs(ratio - 1):.1%}: make the layers' "
                        "thicknesses add up to the mesh's length (coordinates in metres)")
    log.warning("%s: x extent %.6g m differs from the layers' thickness %.6g m", where, extent,
                thickness)


def load_user_model(model, config: Config) -> tuple[dict, dict, dict]:
    """Open ``config.geometry2d.mesh_file`` into Gmsh and return its groups by name.

    Args:
        model: ``gmsh.model`` (Gmsh initialised).
        config: configuration with ``geometry.mesh_file``.

    Returns:
        (cells, facets, info): group name -> entity tags for dim 2 and dim 1, and the extent.

    Raises:
        MeshError: the file is missing, has no 2D cells, or breaks the convention.
    """
    import gmsh

    path = Path(config.geometry2d.mesh_file)
    where = f"geometry.mesh_file ({path})"
    if not path.is_file():
        raise MeshError(where, "no such file")
    try:
        gmsh.open(str(path))
    except Exception as exc:  # noqa: BLE001 - Gmsh raises bare Exceptions
        raise MeshError(where, f"Gmsh cannot read it: {exc}") from None
    if len(model.mesh.getElements(2)[0]) == 0:  # a .geo, or a .msh without cells
        try:
            model.mesh.generate(2)
        except Exception as exc:  # noqa: BLE001 - Gmsh raises bare Exceptions
            raise MeshError(where, f"Gmsh cannot mesh it: {exc}") from None
    if len(model.mesh.getElements(2)[0]) == 0 or len(model.mesh.getNodes()[0]) == 0:
        raise MeshError(where, "has no 2D cells (and no geometry to mesh)")
    cells, facets = {}, {}
    for entity_dim, tag in model.getPhysicalGroups():  # Gmsh entities: surfaces and curves
        name = model.getPhysicalName(entity_dim, tag) or f"unnamed{tag}"
        entities = [int(e) for e in model.getEntitiesForPhysicalGroup(entity_dim, tag)]
        if entity_dim == 2:
            cells.setdefault(name, []).extend(entities)
        elif entity_dim == 1:
            facets.setdefault(name, []).extend(entities)
        else:
            log.warning("%s: ignoring physical group %r of dim %d", path, name, entity_dim)
    model.removePhysicalGroups()
    _, coords, _ = model.mesh.getNodes()
    xy = coords.reshape(-1, 3)[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    _check_extent(float(hi[0] - lo[0]), config.thickness, where)
    return cells, facets, {"width_m": float(hi[1] - lo[1]), "mesh_file": str(path)}
