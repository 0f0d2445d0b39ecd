"""Where a transport solve fails: the location and region of the largest residual.

When Newton or continuation gives up, the residual of the full problem in the last good state
says where the solution is hard: a jump that the mesh does not resolve, a strongly blocking
bottleneck strip, an electrode boundary layer. :func:`residual_peak` reports the point of the
largest residual entry and the share of the squared residual per region (collective; the result
is identical on every rank): a :class:`ResidualPeak`, the diagnosis' ``residual_peak`` block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem_sse.records import SummaryRecord, optional
from fem_sse.transport.discretisation import discretisation_for

__all__ = ["ResidualPeak", "eafe_residual_peak", "residual_peak"]


@dataclass(frozen=True)
class ResidualPeak(SummaryRecord):
    """Where the residual of a failed solve concentrates: the point of the largest entry
    (``x_m``, ``y_m`` in 2D, m; ``x_over_L``, -), its region and material, the residual's norm
    (scaled, or "not finite": then nothing else is known) and the largest shares of the squared
    residual by region name (-)."""

    x_m: float | None = optional()
    x_over_L: float | None = optional()  # noqa: N815
    region: str | None = optional()
    material: str | None = optional()
    residual_norm: float | str | None = optional()
    share_by_region: dict | None = optional()
    y_m: float | None = optional()


def _region_names(problem) -> dict[int, tuple[str, str]]:
    """Cell tag -> (region name, material) of the problem's mesh."""
    from fem_sse.geometry.regions import regions_1d

    regions = problem.smesh.regions or regions_1d(problem.config)[0]
    return {int(tag): (region.name, region.material) for tag, region in regions.items()}


def _local_entries(problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|residual| (scaled), coordinates (m) and region tag of every owned DOF of W."""
    residual = problem.residual()  # at the current state
    V = problem.V
    owned = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
    values = np.abs(residual.array_r[:owned])
    coords = V.tabulate_dof_coordinates()[:owned]
    tag_of_dof = np.zeros(len(V.tabulate_dof_coordinates()), dtype=np.int64)
    cell_tags = problem.fields["region_id"].x.array[problem.Q.dofmap.list[:, 0]]
    dofs = V.dofmap.list
    tag_of_dof[dofs] = np.rint(cell_tags).astype(np.int64)[:, None]
    return values, coords, tag_of_dof[:owned]


def residual_peak(problem, top: int = 3) -> ResidualPeak:
    """Where the residual of ``problem`` concentrates in its current state (collective).

    Args:
        problem: a :class:`fem_sse.transport.problem.TransportProblem`.
        top: how many regions to list by their share of the squared residual.

    Returns:
        a :class:`ResidualPeak` (only its ``residual_norm``, "not finite", when the residual
        is not finite).
    """
    return _peak(problem, *_local_entries(problem), top)


def eafe_residual_peak(problem, mu: np.ndarray, phi: float, top: int = 3) -> ResidualPeak:
    """:func:`residual_peak` of the exponentially fitted scheme (1D and 2D) at the state
    (mu (eV) at the local nodes, Phi (V)): its node residuals scaled by their Jacobian
    diagonals (V), each node in the region of one of its cells (collective)."""
    res, diag, _, _ = problem.residual(mu, phi, jacobian=True)
    n = problem.n_owned
    tags = np.zeros(problem.n_local, dtype=np.int64)
    for ends in (problem.edge_i, problem.edge_j):
        tags[ends] = problem.cell_tag[problem.edge_cell]
    return _peak(problem, np.abs(res / diag)[:n], problem.x[:n], tags[:n], top)


def _peak(problem, values: np.ndarray, coords: np.ndarray, tags: np.ndarray,
          top: int) -> ResidualPeak:
    """The largest of the owned entries ``values`` (at ``coords``, m, in the regions
    ``tags``) over all ranks, and the shares of the squared entries by region."""
    comm = problem.comm
    finite = np.isfinite(values)
    local_best = (-1.0, None, -1)
    if finite.any():
        i = int(np.argmax(np.where(finite, values, -1.0)))
        local_best = (float(values[i]), coords[i].tolist(), int(tags[i]))
    sums = {}
    for tag in np.unique(tags):
        chosen = values[(tags == tag) & finite]
        sums[int(tag)] = float(np.sum(chosen**2))
    gathered = comm.allgather((local_best, sums, bool(finite.all())))
    total = {}
    for _, part, _ in gathered:
        for tag, value in part.items():
            total[tag] = total.get(tag, 0.0) + value
    norm = float(np.sqrt(sum(total.values())))
    if not all(ok for _, _, ok in gathered):
        return ResidualPeak(residual_norm="not finite")
    value, point, tag = max((g[0] for g in gathered), key=lambda item: item[0])
    names = _region_names(problem)
    region, material = names.get(tag, (f"tag {tag}", "?"))
    shares = sorted(((names.get(t, (f"tag {t}",))[0], v / max(norm**2, 1e-300))
                     for t, v in total.items()), key=lambda item: -item[1])
    others = {f"{axis}_m": point[k]  # the coordinates after x (m): y_m in 2D
              for k, axis in enumerate(discretisation_for(problem.mesh).axes) if k > 0}
    return ResidualPeak(point[0], point[0] / problem.length, region, material, norm,
                        {name: round(share, 6) for name, share in shares[:top]}, **others)
