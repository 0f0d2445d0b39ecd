"""The Li+ problem and the classes of interior facets (any dimension).

eta_i = Phi w with ``div(sigma_li grad w) = f`` (f = 0 except in manufactured-solution tests),
w = 1 on the cathode and w = 0 on the anode; every other boundary is insulating.

Interior facets fall into three classes (:func:`interior_facet_tags`):

* ``REGULAR``: eta_i continuous (inside a region, region and phase boundaries);
* ``GB_INTERFACE``: a zero-thickness grain boundary with Li+ conductance g (S/m^2): the normal
  ionic current through it is ``j_i . n = g [eta_i / e]`` (the limit d -> 0 of a strip of
  width d and conductivity s = g d);
* ``CUT``: a crack line: no current of either carrier crosses it.

Without GB interfaces and cracks (every 1D mesh, most 2D meshes) w is continuous P1 with strong
Dirichlet conditions. With them, w is discontinuous P1 (weighted symmetric interior penalty
inside, the conductance term on GB facets, nothing on cracks, Nitsche at the electrodes): the
jump lives in the space, so nothing about the mesh (duplicated nodes, ghost layers) changes and
it runs on any number of ranks.
"""

from __future__ import annotations

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse.geometry.line import ANODE, CATHODE
from fem_sse.geometry.regions import GB

__all__ = ["CUT", "GB_INTERFACE", "REGULAR", "assemble_electrode_system", "boundary_current",
           "entering_current", "interior_facet_tags", "ionic_forms", "solve_ionic"]

REGULAR, GB_INTERFACE, CUT = 1, GB, 100
_PENALTY = 10.0  # SIPG constant of the ionic problem


def interior_facet_tags(smesh, gb_conductance: float | None):
    """(meshtags of every local interior facet by class, True if any GB/cut facet exists).

    Args:
        smesh: the :class:`~fem_sse.geometry.SeparatorMesh`.
        gb_conductance: interface conductance (S/m^2) of ``gb`` facets; None makes them
            ``REGULAR`` (no ionic resistance).
    """
    msh = smesh.mesh
    tdim = msh.topology.dim
    fdim = tdim - 1
    msh.topology.create_connectivity(fdim, tdim)
    imap = msh.topology.index_map(fdim)
    num = imap.size_local + imap.num_ghosts
    f2c = msh.topology.connectivity(fdim, tdim)
    counts = np.diff(f2c.offsets[: num + 1])
    interior = np.flatnonzero(counts == 2).astype(np.int32)
    values = np.full(num, REGULAR, dtype=np.int32)
    groups = smesh.facet_groups or {}
    special = {}
    if gb_conductance is not None and "gb" in groups:
        special[groups["gb"]] = GB_INTERFACE
    special.update({tag: CUT for name, tag in groups.items() if name.startswith("crack")})
    ft = smesh.facet_tags
    for tag, cls in special.items():
        values[ft.indices[ft.values == tag]] = cls
    values = values[interior]
    local = int(np.count_nonzero(values[interior < imap.size_local] != REGULAR))
    any_special = msh.comm.allreduce(local, op=MPI.SUM) > 0
    return dmesh.meshtags(msh, fdim, interior, values), any_special


def ionic_forms(V, sigma, dS, ds, electrodes: dict[int, float], gb_conductance,  # noqa: N803
                source=None, discontinuous: bool = False):
    """Bilinear and linear forms of w.

    Args:
        V: P1 (continuous) or DG1 space of w.
        sigma: Li+ conductivity sigma_li (S/m), per cell.
        dS: interior-facet measure tagged by :func:`interior_facet_tags` (DG only).
        ds: exterior-facet measure with the electrode tags.
        electrodes: facet tag -> Dirichlet value of w.
        gb_conductance: g (S/m^2) on ``GB_INTERFACE`` facets (DG only), or None.
        source: optional right-hand side f (S/m^3) of div(sigma grad w) + f = 0.
        discontinuous: V is DG1 (interior-penalty terms and Nitsche electrodes).

    Returns:
        (a, L): UFL forms; for continuous w they carry no boundary terms (apply the electrode
        values strongly).
    """
    msh = V.mesh
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=msh)
    a = sigma * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx
    zero = fem.Constant(msh, 0.0)
    L = zero * v * dx
    if source is not None:  # a fixed degree: UFL over-estimates transcendental sources
        L += source * v * dx(metadata={"quadrature_degree": 6})
    if not discontinuous:
        return a, L
    n = ufl.FacetNormal(msh)
    h_f, h = facet_lengths(msh)
    # weighted averages (sigma jumps by up to 1e4 across bottleneck strips)
    s_p, s_m = sigma("+"), sigma("-")
    w_p, w_m = s_m / (s_p + s_m), s_p / (s_p + s_m)
    gamma = _PENALTY * 2.0 * s_p * s_m / (s_p + s_m) / h_f

    def avg_flux(f):
        return w_p * s_p * ufl.grad(f)("+") + w_m * s_m * ufl.grad(f)("-")

    a += (-ufl.dot(avg_flux(u), n("+")) * ufl.jump(v) - ufl.dot(avg_flux(v), n("+")) * ufl.jump(u)
          + gamma * ufl.jump(u) * ufl.jump(v)) * dS(REGULAR)
    if gb_conductance is not None:
        a += gb_conductance * ufl.jump(u) * ufl.jump(v) * dS(GB_INTERFACE)
    for tag, value in electrodes.items():
        w_d = fem.Constant(msh, float(value))
        a += (-sigma * ufl.dot(ufl.grad(u), n) * v - sigma * ufl.dot(ufl.grad(v), n) * u
              + _PENALTY * sigma / h * u * v) * ds(tag)
        L += (-sigma * ufl.dot(ufl.grad(v), n) + _PENALTY * sigma / h * v) * w_d * ds(tag)
    return a, L


def facet_lengths(msh):
    """Length scales (m) for DG penalties: (interior facets, boundary facets).

    |K| / |F|, the cell extent normal to the facet (for an interval, its length), rather than
    the cell diameter: on the anisotropic cells of extruded stacks (nanometres across the
    thickness, micrometres along it) the diameter would weaken the penalty by the aspect ratio.
    """
    volume, area = ufl.CellVolume(msh), ufl.FacetArea(msh)
    return ufl.avg(volume) / area("+"), volume / area


def boundary_current(w, sigma, ds, tag: int, value: float):
    """Outward numerical current of w through ``ds(tag)`` (Nitsche flux of the DG scheme)."""
    msh = w.function_space.mesh
    n = ufl.FacetNormal(msh)
    _, h = facet_lengths(msh)
    return (-sigma * ufl.dot(ufl.grad(w), n) + _PENALTY * sigma / h * (w - value)) * ds(tag)


def entering_current(w, sigma, smesh, tag: int, value: float, discontinuous: bool,
                     integral) -> float:
    """Ionic current entering the separator at electrode ``tag`` per volt of Phi (A/V per unit
    depth in 2D; negative where it leaves): the Nitsche flux of a discontinuous w, the
    variational flux a(w, chi) of a continuous one (chi = 1 on the electrode's dofs).
    ``value``: w there; ``integral``: callable(name, UFL form) -> value summed over ranks."""
    msh = w.function_space.mesh
    ds = ufl.Measure("ds", domain=msh, subdomain_data=smesh.facet_tags)
    if discontinuous:
        return -integral(f"ionic_entering_{tag}", boundary_current(w, sigma, ds, tag, value))
    V = w.function_space  # noqa: N806
    chi = fem.Function(V)
    dofs = fem.locate_dofs_topological(V, msh.topology.dim - 1, smesh.facet_tags.find(tag))
    chi.x.array[dofs] = 1.0
    chi.x.scatter_forward()
    return integral("ionic_entering_p1", sigma * ufl.inner(ufl.grad(w), ufl.grad(chi)) * ufl.dx)


def assemble_electrode_system(a, L, V, smesh, values: dict):  # noqa: N803
    """The matrix and right-hand side (PETSc, assembled, ghosts summed) of the compiled linear
    forms ``a`` and ``L`` with Dirichlet values ``{facet tag: value}`` on ``V`` (w = 1 at the
    cathode and 0 at the anode; empty when the electrodes are weak terms of ``a``)."""
    fdim = V.mesh.topology.dim - 1
    bcs = [fem.dirichletbc(PETSc.ScalarType(value), fem.locate_dofs_topological(
        V, fdim, smesh.facet_tags.find(tag)), V) for tag, value in values.items()]
    A = dolfinx.fem.petsc.assemble_matrix(a, bcs=bcs)  # noqa: N806
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(L)
    dolfinx.fem.petsc.apply_lifting(b, [a], [bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, bcs)
    return A, b


def solve_ionic(w, sigma, smesh, measures, gb_conductance, source, discontinuous: bool,
                form, integral, linear_solve) -> tuple[float, float, float]:
    """Solve div(sigma_li grad w) = 0 (+ ``source``), w(cathode) = 1, w(anode) = 0, into ``w``.

    Args:
        w: the ionic shape function (its space: P1, or DG1 when ``discontinuous``).
        sigma: sigma_li (S/m) per cell; smesh: mesh and tags; measures: (dx, dS, ds).
        gb_conductance, source, discontinuous: as :func:`ionic_forms`.
        form: callable(name, UFL form) -> compiled form; integral: callable(name, UFL form)
            -> value summed over the ranks; linear_solve: callable(A, b, x).

    Returns:
        (the conductance G (S/m^2 in 1D, S/m per unit depth in 2D), the anode area and the
        cathode area (1 in 1D, m per unit depth in 2D)).
    """
    dx, dS, ds = measures  # noqa: N806
    V = w.function_space  # noqa: N806
    msh = V.mesh
    electrodes = {CATHODE: 1.0, ANODE: 0.0}
    a, L = ionic_forms(V, sigma, dS, ds, electrodes, gb_conductance, source,  # noqa: N806
                       discontinuous=discontinuous)
    a, L = form("ionic_a", a), form("ionic_L", L)  # noqa: N806
    A, b = assemble_electrode_system(  # noqa: N806
        a, L, V, smesh, {} if discontinuous else electrodes)
    linear_solve(A, b, w.x.petsc_vec)
    w.x.scatter_forward()
    A.destroy()
    b.destroy()
    if discontinuous:  # the conservative Nitsche flux through the anode
        g = boundary_current(w, sigma, ds, ANODE, 0.0)
    else:
        g = sigma * ufl.inner(ufl.grad(w), ufl.grad(w)) * dx
    one = fem.Constant(msh, PETSc.ScalarType(1.0))
    return (integral("ionic_conductance", g),
            *(integral(f"area_{tag}", one * ds(tag)) for tag in (ANODE, CATHODE)))
