"""Stress invariants, the crack-risk peak, interface tractions (NumPy on DOF values, MPI-reduced).

Only NumPy and mpi4py at import time: the 1D film (:mod:`.film`) uses :func:`invariants` too.

Conventions: tension positive (Pa); ``(sxx, syy, sxy, szz)`` are the in-plane components and the
out-of-plane one (plane strain / film: nonzero; plane stress: 0). In 1D ``syy = szz`` is the
lateral stress of the laterally constrained film.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from fem_sse.mechanics.discretisation import for_dimension
from fem_sse.records import MappingRecord

__all__ = ["PEAK_RTOL", "Invariants", "electrode_distance", "electrode_distances",
           "facet_traction_table", "facet_tractions", "global_peak", "invariants",
           "traction_groups"]


def traction_groups(facet_groups: dict[str, int]) -> list[str]:
    """The interior facet groups whose tractions are reported: gb, pb<i>, interface<i>."""
    return sorted(g for g in facet_groups if g == "gb" or g.startswith(("pb", "interface")))


@dataclass(frozen=True, eq=False)
class Invariants(MappingRecord):
    """Stress invariants per sample (arrays, Pa): von Mises, the in-plane principal stresses
    sigma_1 >= sigma_2, sigma_zz, the largest and smallest of the three principal stresses,
    the hydrostatic (mean normal) stress, and theta_1 (rad, angle of the sigma_1 direction
    from the x axis). Also reads as a mapping of its fields."""

    von_mises: np.ndarray
    sigma_1: np.ndarray
    sigma_2: np.ndarray
    sigma_zz: np.ndarray
    max_principal: np.ndarray
    min_principal: np.ndarray
    hydrostatic: np.ndarray
    theta_1: np.ndarray


def invariants(s: np.ndarray) -> Invariants:
    """The :class:`Invariants` of stresses ``s`` (n, 4) = (sxx, syy, sxy, szz) in Pa."""
    sxx, syy, sxy, szz = s.T
    centre, radius = 0.5 * (sxx + syy), np.hypot(0.5 * (sxx - syy), sxy)
    s1, s2 = centre + radius, centre - radius
    vm = np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2) + 3.0 * sxy ** 2)
    return Invariants(vm, s1, s2, szz, np.maximum(s1, szz), np.minimum(s2, szz),
                      (sxx + syy + szz) / 3.0, 0.5 * np.arctan2(2.0 * sxy, sxx - syy))


#: Relative band of a peak within which its location is the point with the smallest
#: coordinates: a plateau of equal values (to round-off and discretisation noise) is reported
#: where it starts, so the location does not hop between ends of a plateau with the mesh.
PEAK_RTOL = 1e-2


def global_peak(values: np.ndarray, points: np.ndarray, comm,
                rtol: float = PEAK_RTOL) -> tuple[float, np.ndarray]:
    """Largest value over all ranks and where it sits, the same on every rank. ``values`` are
    this rank's owned samples, ``points`` (n, 3) their coordinates. The location is the point
    with the smallest coordinates (x, then y) among the values within ``rtol`` of the peak."""
    top = comm.allreduce(float(np.max(values, initial=-np.inf)), MPI.MAX)
    local = (np.inf, np.inf, np.inf)
    if len(values) and np.isfinite(top):
        near = np.flatnonzero(values >= top - rtol * abs(top))
        if len(near):
            local = min(tuple(float(c) for c in points[i]) for i in near)
    return top, np.array(min(comm.allgather(local)))


def _facet_coordinates(mesh, facets: np.ndarray) -> np.ndarray:
    """(n_facets, n_vertices, 3) vertex coordinates of facets (first-order geometry)."""
    fdim = mesh.topology.dim - 1
    if len(facets) == 0:
        return np.zeros((0, max(fdim, 0) + 1, 3))
    import dolfinx.mesh

    nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets, False)
    return mesh.geometry.x[nodes][:, : fdim + 1]


def electrode_distances(mesh, facet_tags, facet_groups: dict[str, int], point: np.ndarray,
                        comm) -> dict[str, float]:
    """Distance (m) from ``point`` to every electrode (cathode, anode) of the mesh."""
    out = {}
    for name in ("cathode", "anode"):
        if name not in facet_groups:
            continue
        coords = _facet_coordinates(mesh, facet_tags.find(facet_groups[name]))
        if coords.shape[1] == 1:  # 1D: facets are points
            d = np.linalg.norm(coords[:, 0] - point, axis=1)
        else:
            a, b = coords[:, 0], coords[:, 1]
            ab = b - a
            t = np.clip(np.einsum("ij,ij->i", point - a, ab)
                        / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300), 0.0, 1.0)
            d = np.linalg.norm(a + t[:, None] * ab - point, axis=1)
        out[name] = comm.allreduce(float(d.min(initial=np.inf)), MPI.MIN)
    return out


def electrode_distance(mesh, facet_tags, facet_groups: dict[str, int], point: np.ndarray,
                       comm) -> tuple[float, str]:
    """Distance (m) from ``point`` to the nearest electrode facet, and that electrode's name."""
    return min(((d, name) for name, d in electrode_distances(
        mesh, facet_tags, facet_groups, point, comm).items()), default=(np.inf, ""))


def _traction_samples(mesh, facet_tags, tag: int, stress):
    """Traction sigma n on this rank's owned facets of one group, averaged over the two sides.

    Returns:
        (samples (n, k, 3) points (m), normal (n, k), shear |t_s| (n, k) tractions (Pa),
        lengths (n,) (m; 1 per point in 1D), Simpson weights (k,)); k = 3 (vertices and
        midpoint) in 2D, 1 in 1D. The normal is the facet's left normal (its sign does not
        change the normal traction).
    """
    tdim = mesh.topology.dim
    fdim = tdim - 1
    mesh.topology.create_connectivity(fdim, tdim)
    f2c = mesh.topology.connectivity(fdim, tdim)
    owned = mesh.topology.index_map(fdim).size_local
    facets = facet_tags.find(tag)
    facets = facets[facets < owned]
    coords = _facet_coordinates(mesh, facets)
    samples, weights, normals, lengths = for_dimension(tdim).facet_samples(coords,
                                                                            len(facets))
    n_pts = samples.shape[1]
    points, cells, owner = [], [], []
    for k, f in enumerate(facets):
        for c in f2c.links(f):
            points.append(samples[k])
            cells.append(np.full(n_pts, c, dtype=np.int32))
            owner.append(np.full(n_pts, k))
    totals = np.zeros((len(facets), n_pts, 4))
    counts = np.zeros((len(facets), 1, 1))
    if points:
        values = stress.eval(np.concatenate(points), np.concatenate(cells)).reshape(-1, n_pts, 4)
        for k, v in zip(np.concatenate(owner)[::n_pts], values, strict=True):
            totals[k] += v
            counts[k] += 1.0
    s = totals / np.maximum(counts, 1.0)
    nx, ny = normals[:, 0][:, None], normals[:, 1][:, None]
    tx = s[..., 0] * nx + s[..., 2] * ny
    ty = s[..., 2] * nx + s[..., 1] * ny
    return samples, tx * nx + ty * ny, np.abs(-tx * ny + ty * nx), lengths, weights


def facet_tractions(mesh, facet_tags, tag: int, stress) -> dict[str, float]:
    """Normal and shear traction on the facets of one group, from the (DG) stress function.

    ``stress`` holds (sxx, syy, sxy, szz) per point. The traction sigma n is averaged over the
    two sides and sampled at the facet's vertices and midpoint; means use Simpson's rule over the
    facet length (a point measure in 1D).

    Returns:
        normal_max, normal_min, normal_mean, shear_max (|t_s|), shear_mean (|t_s|) (Pa) and
        length (m; number of points in 1D).
    """
    _, tn, ts, lengths, weights = _traction_samples(mesh, facet_tags, tag, stress)
    comm = mesh.comm
    length = comm.allreduce(float(lengths.sum()), MPI.SUM)
    integral = lambda q: comm.allreduce(float((q @ weights * lengths).sum()), MPI.SUM)  # noqa: E731
    return {"normal_max": comm.allreduce(float(tn.max(initial=-np.inf)), MPI.MAX),
            "normal_min": comm.allreduce(float(tn.min(initial=np.inf)), MPI.MIN),
            "normal_mean": integral(tn) / length if length else 0.0,
            "shear_max": comm.allreduce(float(ts.max(initial=0.0)), MPI.MAX),
            "shear_mean": integral(ts) / length if length else 0.0,
            "length": length}


def facet_traction_table(mesh, facet_tags, tag: int, stress) -> np.ndarray | None:
    """Per facet of one group, gathered on rank 0 (None elsewhere; collective): rows of
    (midpoint x (m), midpoint y (m), length (m), normal traction (Pa), |shear traction| (Pa)),
    the tractions Simpson means over the facet, sorted by midpoint."""
    samples, tn, ts, lengths, weights = _traction_samples(mesh, facet_tags, tag, stress)
    mid = samples[:, samples.shape[1] // 2]
    local = np.column_stack([mid[:, 0], mid[:, 1], lengths, tn @ weights, ts @ weights])
    parts = mesh.comm.gather(local, root=0)
    if mesh.comm.rank != 0:
        return None
    table = np.concatenate(parts) if parts else np.zeros((0, 5))
    return table[np.lexsort((table[:, 1], table[:, 0]))]
