"""The eigenstrain of a cell, consistent with the field it comes from (DOLFINx + NumPy).

mu_Li0 is carried by a field that is linear in every cell: the Kirchhoff variable W (A/m) of
the transport solution, with mu = B + kT asinh(W / (2 A kT)) per material, or a DG1/P1 mu_Li0
(eV) itself. The eigenstrain e*(mu) of the Li0(SE) laws is a step of 0.3 % across a front a few
nanometres wide, so its nodal values, interpolated linearly, smear the step over a whole cell
and put the full swing on a node next to a strain that cannot follow it: the stress there comes
out up to twice the film value, on any mesh (issue 17). Here e* is instead the L2 projection of
e*(mu(level(x))) onto DG(p - 1), p the displacement degree, taken with a quadrature rule of
degree :data:`QUADRATURE_DEGREE` (a cell average for p = 1). Then the stress sigma = C eps(u) -
c e* I is a polynomial of degree p - 1 in each cell, with no sampling artefact, and on a mesh
fitted to the fronts (:mod:`fem_sse.mechanics.fit`) every cell sees one side of a step only.
"""

from __future__ import annotations

import basix
import numpy as np
from dolfinx import fem
from mpi4py import MPI

from fem_sse.materials import conductivity

__all__ = ["CUT_FRACTION", "QUADRATURE_DEGREE", "cell_materials", "mu_at",
           "project_eigenstrain"]

#: A cell that a strain-law step crosses (its level at the vertices on both sides of the
#: step), over whose quadrature points e* changes by more than this fraction of its global
#: swing, with the step sharp on the cell's scale (mu_Li0 changes over the cell by more than
#: :data:`SHARP` law widths), is "cut" by a front: its stress mixes two sides and is left out
#: of the peaks. A step resolved by the mesh, or one on the cell's edges, cuts no cell.
CUT_FRACTION = 0.1
SHARP = 20.0
#: In a cell that a sharp step touches without crossing, mu_Li0 closer than this many law
#: widths to the step's centre is taken at this distance (:func:`_sharpened`; e* there is
#: within 1e-4 of its plateau).
SHARP_CLIP = 10.0

#: Degree of the rule that averages e* over a cell (a cell cut by a front gets its two sides
#: in proportion to within the rule's resolution).
QUADRATURE_DEGREE = 8


def cell_materials(smesh) -> np.ndarray:
    """Material name of every local cell (owned and ghost), from the region tags."""
    msh = smesh.mesh
    imap = msh.topology.index_map(msh.topology.dim)
    names = np.full(imap.size_local + imap.num_ghosts, "", dtype=object)
    tags = smesh.cell_tags
    names[tags.indices] = [smesh.regions[int(t)].material for t in tags.values]
    return names


def mu_at(values: np.ndarray, names: np.ndarray, config, kind: str) -> np.ndarray:
    """mu_Li0 (eV) from values of the level field (rows: cells with material ``names``)."""
    if kind == "mu":
        return np.asarray(values, float)
    out = np.zeros_like(values, dtype=float)
    kT = config.cell.kT  # noqa: N806
    for name in sorted(set(np.ravel(names)) - {""}):
        rows = names == name
        mat = config.materials[name]
        out[rows] = conductivity.mu_from_kirchhoff(values[rows], mat.A, mat.B, kT)
    return out


def _basis(cell_type, degree: int, points: np.ndarray) -> np.ndarray:
    """Values (points, dofs) of the discontinuous Lagrange basis of ``degree`` at points."""
    element = basix.create_element(basix.ElementFamily.P, cell_type, degree,
                                   basix.LagrangeVariant.gll_warped, discontinuous=True)
    return element.tabulate(0, points)[0, :, :, 0]


def project_eigenstrain(level: fem.Function, kind: str, smesh, config, spec,
                        degree: int) -> tuple[fem.Function, np.ndarray]:
    """e* (-) in DG(degree) from a DG1 level field (``kind`` "kirchhoff": W (A/m), "mu": eV).

    Per cell: the L2 projection of e*(mu(level)) onto polynomials of ``degree`` (0: the cell
    average), by a quadrature rule of degree :data:`QUADRATURE_DEGREE` on the reference cell
    (affine cells: the Jacobian cancels).

    Returns:
        (e* in DG(degree), per local cell: True where a front cuts it (:data:`CUT_FRACTION`)).
    """
    msh = smesh.mesh
    cell_type = msh.basix_cell()
    points, weights = basix.make_quadrature(cell_type, QUADRATURE_DEGREE)
    linear = _basis(cell_type, 1, points)                      # (q, 3)
    names = cell_materials(smesh)
    num = len(names)
    dofs = level.function_space.dofmap.list[:num]
    mu_q = mu_at(level.x.array[dofs] @ linear.T, names[:, None].repeat(len(points), 1),
                 config, kind)                                  # (cells, q)
    mu_v = mu_at(level.x.array[dofs], names[:, None].repeat(dofs.shape[1], 1), config, kind)
    widths = _step_widths(names, config, spec)
    sharp = np.ptp(mu_v, axis=1) > SHARP * widths
    crossed = _crossed(level.x.array[dofs], names, config, spec, kind)
    centres = _step_centres(names, config, spec)
    near = ~crossed & (np.min(np.abs(mu_v - centres[:, None]), axis=1) < SHARP_CLIP * widths)
    mu_q = _sharpened(mu_q, mu_v, near & _sharp_fronts(names, near & sharp, msh.comm),
                      centres, widths)
    estar_q = np.zeros_like(mu_q)
    kT = config.cell.kT  # noqa: N806
    for name in sorted(set(names) - {""}):
        rows = names == name
        estar_q[rows] = spec.materials[name].eigenstrain(mu_q[rows], config.materials[name],
                                                         kT, spec.mu_ref)
    target = fem.Function(fem.functionspace(msh, ("DG", degree)), name="eigenstrain [-]")
    phi = _basis(cell_type, degree, points)                     # (q, k)
    mass = phi.T @ (weights[:, None] * phi)
    coeffs = np.linalg.solve(mass, phi.T @ (weights[:, None] * estar_q.T))  # (k, cells)
    target.x.array[target.function_space.dofmap.list[:num]] = coeffs.T
    target.x.scatter_forward()
    comm = msh.comm
    swing = (comm.allreduce(float(estar_q.max(initial=-np.inf)), MPI.MAX)
             - comm.allreduce(float(estar_q.min(initial=np.inf)), MPI.MIN))
    cut = sharp & crossed
    cut = cut & (np.ptp(estar_q, axis=1) > CUT_FRACTION * swing) if swing > 0 else cut & False
    return target, cut


def _crossed(values: np.ndarray, names: np.ndarray, config, spec, kind: str) -> np.ndarray:
    """Per cell: the step level of its material lies strictly inside it (level - step of both
    signs at its vertices). A cell with the front on an edge or a vertex only (a fitted mesh,
    :mod:`.fit`) is not crossed, even where the step's few-width transition reaches into it."""
    from fem_sse.mechanics.fit import step_levels

    d = values - step_levels(names, config, spec, kind)[:, None]
    return (np.min(d, axis=1) < 0.0) & (np.max(d, axis=1) > 0.0)


def _sharpened(mu_q, mu_v, cells, centre, width) -> np.ndarray:
    """mu_Li0 at the quadrature points with the step made sharp in ``cells``: those within
    :data:`SHARP_CLIP` law widths of a step that is sharp on the mesh (:func:`_sharp_fronts`)
    and does not cross them (on a fitted mesh the front is on their edges). There mu within
    :data:`SHARP_CLIP` widths of the step's centre is moved out to that many widths on the
    cell's side, so the cell holds its side's plateau, as at a sharp step at the fitted front.
    A transition narrower than the cells (a 3 nm front on 60 nm cells) otherwise reaches a
    sliver into the cells on both sides, by different fractions in cells of different shapes:
    a ripple of e* along the front that the displacement cannot follow, peaks a few percent
    above the film values that do not settle until the cells resolve the transition. For the
    two-state law (odd about its centre) the integral of e* across a front that is straight on
    the cell's scale is unchanged."""
    out = mu_q.copy()
    far = np.take_along_axis(mu_v, np.argmax(np.abs(mu_v - centre[:, None]), axis=1)[:, None],
                             axis=1)[:, 0]
    side = np.sign(far - centre)
    rows = np.flatnonzero(cells & np.isfinite(centre) & (side != 0.0))
    gap = np.maximum(side[rows, None] * (mu_q[rows] - centre[rows, None]),
                     SHARP_CLIP * width[rows, None])
    out[rows] = centre[rows, None] + side[rows, None] * gap
    return out


def _sharp_fronts(names: np.ndarray, sharp_near: np.ndarray, comm) -> np.ndarray:
    """Per cell: its material's step is sharp on the mesh (on any rank, some cell next to a
    front of that material is sharp, :data:`SHARP`). Decided per material, not per cell: the
    pieces of split cells next to a front are smaller than their neighbours, and a front whose
    cells are sharpened in some places and not in others ripples e* along it."""
    out = np.zeros(len(names), dtype=bool)
    for name in sorted(comm.allreduce(set(names) - {""}, op=MPI.BOR)):
        rows = names == name
        if comm.allreduce(bool(np.any(sharp_near[rows])), op=MPI.LOR):
            out[rows] = True
    return out


def _step_centres(names: np.ndarray, config, spec) -> np.ndarray:
    """Per cell: mu_Li0 (eV) at the centre of its material's strain-law step (NaN: none)."""
    out = np.full(len(names), np.nan)
    for name in sorted(set(names) - {""}):
        law = spec.materials[name].law
        if getattr(law, "kind", "") == "two_state":
            mat = config.materials[name]
            out[names == name] = mat.B if law.mu_half is None else law.mu_half
    return out


def _step_widths(names: np.ndarray, config, spec) -> np.ndarray:
    """Per cell: the width (eV) of its material's strain-law step (inf: no step)."""
    out = np.full(len(names), np.inf)
    for name in sorted(set(names) - {""}):
        law = spec.materials[name].law
        if getattr(law, "kind", "") == "two_state":
            out[names == name] = config.cell.kT if law.width is None else law.width
    return out
