"""Scalar results of a 2D solution: region statistics, fronts, phase-boundary potentials.

Everything is computed cell by cell from W at the vertices of each owned triangle (W is linear
in a cell for degree 1, so the level sets and the areas above a level are exact then; for higher
degrees they use the vertex values). Only reductions and the cells a front crosses travel to
rank 0, never whole fields.

* Region statistics: min/max mu_Li0 at the vertices, area, and area fractions with overshoot
  (mu_Li0 > mu_anode, Li metal may precipitate) and undershoot (mu_Li0 < mu_cathode).
* Fronts: the iso-lines mu_Li0 = B of each material, i.e. the zero level of its W, by marching
  triangles. A segment's ends are keyed by the global index of the edge they sit on, so the
  pieces of neighbouring cells join into polylines exactly (DG values differ slightly on the two
  sides of an edge; the key does not). Each polyline is reported with its material, layer,
  length-weighted mean x (the laterally averaged jump position, the 1D ``jumps`` entry), length
  and direction (mu rising or falling with x).
* Electrode boundary layers: where the electrode's mu_Li0 and the solution in the adjacent
  cells lie on opposite sides of B (both vertex values of the electrode facet), the crossing
  sits in a boundary layer thinner than the cell. It is reported as a front on that electrode
  (``boundary_layer``: "cathode" / "anode"), so that the FEM lists the same jumps as the exact
  solver, which finds such crossings within ~1e-12 m of the electrode. One definition for
  both: a jump is every crossing of mu_Li0 = B in the closed interval [0, L], the electrode
  values included.
* Interface layers: short fronts that run along a phase boundary (in the layer where mu_Li0
  adjusts to the value its neighbour sets there) are joined per boundary and material
  (:mod:`fem_sse.transport.front_groups`).
* ``mu_interfaces``: mean mu_Li0 along each phase boundary ``pb<i>``.
* ``coverage`` of a jump: its front length over the cathode length (1 for a front across a
  laterally uniform stack).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from fem_sse import compat
from fem_sse.geometry.regions import ANODE, CATHODE
from fem_sse.materials.conductivity import kirchhoff, mu_from_kirchhoff
from fem_sse.parallel import gather_arrays
from fem_sse.transport.front_groups import (merge_boundary_layers, merge_fragments,
                                            merge_interface_layers)
from fem_sse.transport.jumps import crosses, opposite_sides, zero_point
from fem_sse.transport.results import InterfacePotential, Jump, Metrics, RegionStats

__all__ = ["cell_data", "electrode_fronts", "fem_metrics_2d", "front_polylines",
           "interface_segments"]

_NV = 3


def cell_data(problem) -> dict:
    """Owned cells: vertex coordinates (n, 3, 2) (m), W (n, 3) (A/m), region tag, A, B, global
    edge index opposite each vertex (n, 3), and mu_Li0 (n, 3) (eV)."""
    msh = problem.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim, tdim - 1)
    n = msh.topology.index_map(tdim).size_local
    coords = msh.geometry.x[compat.geometry_dofmap(msh)[:n, :_NV], :2]
    w = problem.omega.x.array[problem.V.dofmap.list[:n, :_NV]] * problem.w_scale
    q = problem.Q.dofmap.list[:n, 0]
    f = problem.fields
    A, B = f["A"].x.array[q], f["B"].x.array[q]  # noqa: N806
    kT = problem.kT  # noqa: N806
    mu = mu_from_kirchhoff(w, A[:, None], B[:, None], kT)
    c2f = msh.topology.connectivity(tdim, tdim - 1).array.reshape(-1, _NV)[:n]
    fmap = msh.topology.index_map(tdim - 1)
    edges = fmap.local_to_global(c2f.ravel().astype(np.int32)).reshape(n, _NV)
    return {"x": coords, "w": w, "region": np.rint(f["region_id"].x.array[q]).astype(np.int64),
            "A": A, "B": B, "edges": edges, "mu": mu}


def _area(x: np.ndarray) -> np.ndarray:
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    return 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
                        - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def fraction_above(d: np.ndarray) -> np.ndarray:
    """Fraction of each triangle where the linear function with vertex values d (n, 3) is > 0."""
    pos = d > 0.0
    npos = pos.sum(axis=1)
    out = npos.astype(float) / _NV  # 0 or 1 where all signs agree
    out[npos == 0], out[npos == 3] = 0.0, 1.0

    def corner(rows, lone_sign):  # area fraction of the corner of the vertex with the lone sign
        dd = d[rows]
        lone = np.argmax(pos[rows] if lone_sign else ~pos[rows], axis=1)
        k = np.arange(len(rows))
        d0 = dd[k, lone]
        d1, d2 = dd[k, (lone + 1) % 3], dd[k, (lone + 2) % 3]
        return d0 * d0 / ((d0 - d1) * (d0 - d2))

    one, two = np.flatnonzero(npos == 1), np.flatnonzero(npos == 2)
    out[one] = corner(one, True)
    out[two] = 1.0 - corner(two, False)
    return out


def region_stats(problem, data: dict) -> dict:
    """Per region name its :class:`~fem_sse.transport.results.RegionStats`, and the overshoot
    and undershoot fractions of the whole area (-)."""
    config = problem.config
    regions = problem.smesh.regions
    tags = np.array(sorted(regions))
    area = _area(data["x"])
    kT = problem.kT  # noqa: N806

    def w_of(level):
        return kirchhoff(level, data["A"][:, None], data["B"][:, None], kT)

    over = area * fraction_above(data["w"] - w_of(config.cell.mu_anode))
    under = area * fraction_above(w_of(config.cell.mu_cathode) - data["w"])
    rows = np.searchsorted(tags, data["region"])
    sums = np.zeros((3, len(tags)))
    for k, values in enumerate((area, over, under)):
        np.add.at(sums[k], rows, values)
    lo = np.full(len(tags), np.inf)
    hi = np.full(len(tags), -np.inf)
    np.minimum.at(lo, rows, data["mu"].min(axis=1))
    np.maximum.at(hi, rows, data["mu"].max(axis=1))
    comm = problem.comm
    for array, op in ((sums, MPI.SUM), (lo, MPI.MIN), (hi, MPI.MAX)):
        comm.Allreduce(MPI.IN_PLACE, array, op=op)
    out = {}
    for i, tag in enumerate(tags):
        r = regions[tag]
        a = sums[0, i]
        out[r.name] = RegionStats(r.material, r.kind, a, float(lo[i]), float(hi[i]),
                                  sums[1, i] / a if a else 0.0, sums[2, i] / a if a else 0.0)
    total = sums[0].sum()
    return out, sums[1].sum() / total, sums[2].sum() / total


def _segments(data: dict):
    """Zero-level segments of W in every owned cell it crosses: (points (m, 2, 2), edge keys
    (m, 2), cell rows (m,))."""
    w = data["w"]
    edges = ((0, 1), (1, 2), (2, 0))
    cut = np.stack([crosses(w[:, i], w[:, j]) for i, j in edges], axis=1)
    crossed = np.flatnonzero(cut.any(axis=1))
    pts, keys = [], []
    for c in crossed:
        ends, ids = [], []
        for k, (i, j) in enumerate(edges):
            if cut[c, k]:
                ends.append(zero_point(data["x"][c, i], data["x"][c, j], w[c, i], w[c, j]))
                ids.append(data["edges"][c, 3 - i - j])
        pts.append(ends)
        keys.append(ids)
    return np.array(pts).reshape(-1, 2, 2), np.array(keys, dtype=np.int64).reshape(-1, 2), crossed


def front_polylines(problem, data: dict) -> list[dict] | None:
    """Fronts mu_Li0 = B per material as polylines (rank 0; None elsewhere). Only the cells a
    front crosses are gathered."""
    config = problem.config
    regions = problem.smesh.regions
    pts, keys, cells = _segments(data)
    x, w = data["x"][cells], data["w"][cells]
    # dW/dx of the linear interpolant (sign only: the direction of the jump)
    det = ((x[:, 1, 0] - x[:, 0, 0]) * (x[:, 2, 1] - x[:, 0, 1])
           - (x[:, 2, 0] - x[:, 0, 0]) * (x[:, 1, 1] - x[:, 0, 1]))
    dwdx = ((w[:, 1] - w[:, 0]) * (x[:, 2, 1] - x[:, 0, 1])
            - (w[:, 2] - w[:, 0]) * (x[:, 1, 1] - x[:, 0, 1])) / np.where(det == 0, 1, det)
    region = data["region"][cells]
    rows = gather_arrays(problem.comm, pts, keys, region, dwdx)
    if rows is None:
        return None
    pts, keys, region, dwdx = rows
    material = [regions[t].material for t in region]
    by_key = defaultdict(list)
    for s, (k0, k1) in enumerate(keys):
        by_key[(material[s], k0)].append(s)
        by_key[(material[s], k1)].append(s)
    seen = np.zeros(len(keys), dtype=bool)
    order = sorted(range(len(keys)), key=lambda s: len(by_key[(material[s], keys[s, 0])])
                   + len(by_key[(material[s], keys[s, 1])]))  # start at open ends
    chains = []
    for start in order:
        if not seen[start]:
            chain = _walk(start, keys, material, by_key, seen)
            chains.append(([pts[chain[0][0], 1 - chain[0][1]]] + [pts[s, e] for s, e in chain],
                           [s for s, _ in chain]))
    fronts = []
    for points, segs in _close_gaps(chains, pts, material):
        seg_len = np.linalg.norm(pts[segs, 1] - pts[segs, 0], axis=1)
        mids = 0.5 * (pts[segs, 0] + pts[segs, 1])
        length = float(seg_len.sum())
        weights = seg_len if length > 0 else np.ones_like(seg_len)
        r = regions[region[segs[0]]]
        slope = float(np.dot(weights, dwdx[segs]))
        fronts.append({
            "material": r.material, "B_eV": config.materials[r.material].B,
            "layer": config.layers[r.layer].material if r.layer >= 0 else r.material,
            "x_mean_m": float(np.average(mids[:, 0], weights=weights)),
            "x_min_m": float(np.min([p[0] for p in points])),
            "x_max_m": float(np.max([p[0] for p in points])),
            "length_m": length, "direction": "up" if slope > 0 else "down",
            "points_m": np.array(points).tolist()})
    fronts.sort(key=lambda f: f["x_mean_m"])
    return fronts


def _close_gaps(chains: list, pts: np.ndarray, material: list) -> list:
    """Join chains of one material whose ends lie within two segment lengths of each other.

    W is discontinuous (DG): where one cell sees the sign change on an edge and its neighbour
    does not (a front passing near a vertex), the edge-keyed chains stop one cell short of each
    other. Such gaps are a cell wide; distinct fronts are many cells apart.
    """
    chains = [(list(p), list(s)) for p, s in chains]
    while len(chains) > 1:
        ends = np.array([[p[0], p[-1]] for p, _ in chains])  # (m, 2 ends, 2)
        mats = np.array([material[s[0]] for _, s in chains])
        for a, (_, sa) in enumerate(chains):
            reach = 2.0 * max(np.linalg.norm(pts[sa[0], 1] - pts[sa[0], 0]),
                              np.linalg.norm(pts[sa[-1], 1] - pts[sa[-1], 0]))
            # d[b, i, j]: end i of chain a (0 first, 1 last) to end j of chain b
            d = np.linalg.norm(ends[a][None, :, None, :] - ends[:, None, :, :], axis=-1)
            d[a] = np.inf
            d[mats != mats[a]] = np.inf
            b, i, j = np.unravel_index(np.argmin(d), d.shape)
            if d[b, i, j] <= reach:
                break
        else:
            return chains
        pa, sa = chains[a]
        pb, sb = chains[b]
        if i == 0:  # chain a continues from its first point: reverse it
            pa, sa = pa[::-1], sa[::-1]
        if j == 1:  # chain b is entered at its last point: reverse it
            pb, sb = pb[::-1], sb[::-1]
        chains[a] = (pa + pb, sa + sb)
        del chains[b]
    return chains


def _walk(start: int, keys, material, by_key, seen) -> list[tuple[int, int]]:
    """Segments of the polyline through ``start``, as (segment, end index it leaves by)."""
    def step(s, end):
        out = []
        while True:
            seen[s] = True
            out.append((s, end))
            nxt = [t for t in by_key[(material[s], keys[s, end])] if not seen[t]]
            if not nxt:
                return out
            t = nxt[0]
            end = 1 if keys[t, 0] == keys[s, end] else 0
            s = t

    forward = step(start, 1)
    backward = [t for t in by_key[(material[start], keys[start, 0])] if not seen[t]]
    if not backward:
        return forward
    t = backward[0]
    back = step(t, 1 if keys[t, 0] == keys[start, 0] else 0)
    # reverse the backward chain so that it ends where ``start`` begins
    reversed_back = [(s, 1 - e) for s, e in reversed(back)]
    return reversed_back + forward


def _tagged_facets(problem, data: dict, tag: int):
    """Owned cells' facets tagged ``tag`` (an electrode, a phase boundary): (cell rows, local
    vertex index opposite)."""
    msh = problem.mesh
    tdim = msh.topology.dim
    n = len(data["w"])
    fmap = msh.topology.index_map(tdim - 1)
    on = np.zeros(fmap.size_local + fmap.num_ghosts, dtype=bool)
    on[problem.smesh.facet_tags.find(tag)] = True
    c2f = msh.topology.connectivity(tdim, tdim - 1).array.reshape(-1, _NV)[:n]
    return np.nonzero(on[c2f])


def electrode_fronts(problem, data: dict) -> tuple[list[dict] | None, dict | None]:
    """Fronts in the electrode boundary layers (module docstring), per electrode and material,
    and the largest x extent (m) of the cells at each electrode (rank 0; None elsewhere)."""
    config = problem.config
    regions = problem.smesh.regions
    found = []
    for tag, mu_e, name in ((CATHODE, config.cell.mu_cathode, "cathode"),
                            (ANODE, config.cell.mu_anode, "anode")):
        rows, opposite = _tagged_facets(problem, data, tag)
        cells = data["x"][rows]
        band = problem.comm.allreduce(float(np.max(cells[:, :, 0].max(axis=1)
                                                   - cells[:, :, 0].min(axis=1), initial=0.0)),
                                      op=MPI.MAX)
        ends = np.stack([(opposite + 1) % _NV, (opposite + 2) % _NV], axis=1)
        w = np.take_along_axis(data["w"][rows], ends, axis=1)
        w_e = kirchhoff(mu_e, data["A"][rows], data["B"][rows], problem.kT)
        crossed = opposite_sides(w, w_e[:, None]).all(axis=1)
        x = data["x"][rows[crossed][:, None], ends[crossed]]  # (m, 2 ends, 2)
        rising = (w_e[crossed] < 0) == (tag == CATHODE)  # mu rises with x
        found.append((name, x, data["region"][rows[crossed]], rising, band))
    parts = problem.comm.gather(found, root=0)
    if problem.comm.rank != 0:
        return None, None
    fronts = []
    for k, (name, _, _, _, _) in enumerate(found):
        x = np.concatenate([p[k][1] for p in parts]).reshape(-1, 2, 2)
        region = np.concatenate([p[k][2] for p in parts]).astype(np.int64)
        rising = np.concatenate([p[k][3] for p in parts]).astype(bool)
        materials = np.array([regions[t].material for t in region], dtype=object)
        for material in sorted(set(materials)):
            pick = materials == material
            seg = x[pick]
            lengths = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
            r = regions[region[pick][0]]
            points = seg.reshape(-1, 2)
            points = points[np.argsort(points[:, 1], kind="stable")]
            fronts.append({
                "material": material, "B_eV": config.materials[material].B,
                "layer": config.layers[r.layer].material if r.layer >= 0 else material,
                "x_mean_m": float(np.average(seg[:, :, 0].mean(axis=1), weights=lengths)),
                "x_min_m": float(seg[:, :, 0].min()), "x_max_m": float(seg[:, :, 0].max()),
                "length_m": float(lengths.sum()),
                "direction": "up" if rising[pick].sum() * 2 >= pick.sum() else "down",
                "boundary_layer": name, "points_m": points.tolist()})
    bands = {name: band for name, _, _, _, band in found}
    return fronts, bands


def interface_segments(problem, data: dict) -> dict | None:
    """Each phase boundary ``pb<i>`` as its facets, (m, 2 ends, 2) coordinates (m), with the
    materials of the cells on its sides (rank 0; None elsewhere): where
    :func:`~fem_sse.transport.front_groups.merge_interface_layers` looks for fronts along it."""
    regions = problem.smesh.regions
    found = {}
    for i in range(len(problem.config.interfaces)):
        tag = problem.smesh.facet_groups.get(f"pb{i}")
        if tag is None:
            continue
        rows, opposite = _tagged_facets(problem, data, tag)
        ends = np.stack([(opposite + 1) % _NV, (opposite + 2) % _NV], axis=1)
        found[f"pb{i}"] = gather_arrays(problem.comm, data["x"][rows[:, None], ends],
                                        data["region"][rows])
    if problem.comm.rank != 0:
        return None
    return {name: (seg.reshape(-1, 2, 2), {regions[t].material for t in region})
            for name, (seg, region) in found.items()}


def pb_potentials(problem) -> list[InterfacePotential]:
    """Mean mu_Li0 (eV) along each phase boundary pb<i> (interior facets)."""
    groups = problem.smesh.facet_groups
    msh = problem.mesh
    dS = ufl.Measure("dS", domain=msh, subdomain_data=problem.smesh.facet_tags)  # noqa: N806
    mu = problem.mu_function()
    one = fem.Constant(msh, 0.0 + 1.0)
    out = []
    for i, x in enumerate(problem.config.interfaces):
        tag = groups.get(f"pb{i}")
        if tag is None:
            continue
        length, total = (msh.comm.allreduce(fem.assemble_scalar(fem.form(f * dS(tag))),
                                            op=MPI.SUM) for f in (one, ufl.avg(mu)))
        out.append(InterfacePotential(float(x), total / length if length else float("nan")))
    return out


def fem_metrics_2d(problem) -> Metrics:
    """The 2D metrics (identical on every rank except ``fronts``' points, rank 0 only)."""
    data = cell_data(problem)
    stats, over, under = region_stats(problem, data)
    fronts = front_polylines(problem, data)
    at_electrodes, bands = electrode_fronts(problem, data)
    interfaces = interface_segments(problem, data)
    jumps = None
    if problem.comm.rank == 0:
        fronts = merge_boundary_layers(fronts, at_electrodes, bands, problem.length)
        fronts = merge_interface_layers(fronts, interfaces, problem.area, problem.length)
        fronts = merge_fragments(fronts, problem.area, problem.length)
        # coverage: front length over the cathode length (1 for a laterally uniform stack)
        jumps = [Jump(f["x_mean_m"], f["layer"], f["direction"], f["length_m"],
                      f["length_m"] / problem.area, f.get("boundary_layer"))
                 for f in fronts]
    jumps = problem.comm.bcast(jumps, root=0)
    return Metrics(tuple(jumps), tuple(pb_potentials(problem)), over, under, stats, fronts)
