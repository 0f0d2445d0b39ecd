"""1D separator: a Gmsh line from the cathode (x = 0) to the anode (x = L).

Physical groups (the 1D naming convention):

* cells: one group per constant-property segment of :meth:`Config.segments`, tag = segment
  index + 1, named ``layer{i}_{material}`` or ``bottleneck{k}_layer{i}``;
* points: ``cathode`` (tag 1), ``anode`` (tag 2), ``interface{i}`` (tag 10 + i) at the layer
  interfaces.

Mesh sizes: ``mesh.size`` in the bulk (default L/100), ``width / mesh.bottleneck_cells`` at
both edges of every strip, and at most the drift length kT sigma_li / j_i of each segment at its
ends (see :meth:`Config.drift_length`); Gmsh grades linearly in between. The adaptive loop refines from here.
"""

from __future__ import annotations

import numpy as np

from fem_sse.config import Config

CATHODE, ANODE, INTERFACE0 = 1, 2, 10
_MAX_DRIFT_CELLS = 200  # cap on the cells the drift-length sizing puts into one segment

__all__ = ["ANODE", "CATHODE", "INTERFACE0", "build_line_model", "segment_names"]


def segment_names(config: Config) -> list[str]:
    """Physical-group names of the cell regions, in segment order."""
    names = []
    for seg in config.segments():
        layer = config.layers[seg.layer].material
        if seg.bottleneck is None:
            names.append(f"layer{seg.layer}_{layer}")
        else:
            names.append(f"bottleneck{seg.bottleneck}_layer{seg.layer}")
    return names


def build_line_model(model, config: Config, name: str = "separator1d"):
    """Add the 1D separator of ``config`` to the Gmsh ``model`` and mesh it.

    Args:
        model: ``gmsh.model`` (Gmsh must be initialised).
        config: validated configuration with ``dim = 1``.
        name: Gmsh model name.

    Returns:
        The model, meshed, with the physical groups described in the module docstring.
    """
    model.add(name)
    segments = config.segments()
    length = config.thickness
    h_bulk = config.mesh.size or length / 100.0
    edges = [seg.x0 for seg in segments] + [length]
    sizes = np.full(len(edges), h_bulk)
    for strip in config.bottlenecks:
        h_strip = min(h_bulk, strip.width / config.mesh.bottleneck_cells)
        for i, x in enumerate(edges):
            if strip.x0 - 1e-12 * length <= x <= strip.x1 + 1e-12 * length:
                sizes[i] = min(sizes[i], h_strip)
    # Resolve the drift length of every segment at its ends (cell Peclet number <= 1): the
    # electronic boundary layers of strongly blocking strips are this thin.
    for i, seg in enumerate(segments):
        h_drift = max(config.drift_length(seg.material.sigma_li), seg.length / _MAX_DRIFT_CELLS)
        sizes[i] = min(sizes[i], h_drift)
        sizes[i + 1] = min(sizes[i + 1], h_drift)
    points = [model.geo.addPoint(x, 0.0, 0.0, float(h)) for x, h in zip(edges, sizes)]
    lines = [model.geo.addLine(p, q) for p, q in zip(points[:-1], points[1:])]
    model.geo.synchronize()

    for i, (line, label) in enumerate(zip(lines, segment_names(config))):
        model.addPhysicalGroup(1, [line], tag=i + 1, name=label)
    model.addPhysicalGroup(0, [points[0]], tag=CATHODE, name="cathode")
    model.addPhysicalGroup(0, [points[-1]], tag=ANODE, name="anode")
    for i, x in enumerate(config.interfaces):
        k = int(np.argmin(np.abs(np.array(edges) - x)))
        model.addPhysicalGroup(0, [points[k]], tag=INTERFACE0 + i, name=f"interface{i}")
    model.mesh.generate(1)
    return model
