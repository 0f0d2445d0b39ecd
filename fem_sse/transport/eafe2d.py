"""The exponentially fitted (EAFE) scheme on triangles: the 2D problem, its start and its checks.

The node equations are those of :class:`fem_sse.transport.eafe.EafeProblem` (edge currents of
every cell weighted by c_ij = -K_ij, K the P1 stiffness matrix of the triangle), with eta_i =
Phi w and w the continuous P1 solution of div(sigma_li grad w) = 0, w = 1 at the cathode and 0
at the anode. What is 2D here:

* Electronic current through a cut. For any nodal function chi with chi = 0 on the cathode's
  nodes and 1 on the anode's, sum_i chi_i R_i = sum over edges (chi_j - chi_i) c_ij G_ij (R
  the node residuals without the Dirichlet rows), and at a steady state (interior R_i = 0) the
  left side is the current through the anode. chi is the step across the line x = const (of
  64) where the round-off bound of that sum, eps S (1 + |y|) over the edges it cuts (S the sum
  of the magnitudes of the four terms of G), is smallest: there the current has all its
  digits (in 1D the weighted mean of :meth:`EafeProblem.freeze_weights` does the same). Next
  to an electrode in a layer whose B lies far inside the window, S is up to the cancellation
  ratio times the current: a cut there, or at the electrode, is round-off.
* The "reactions": the sums of the full node residuals over the cathode's and the anode's
  nodes, the conservative currents through each electrode (their difference is minus the sum of
  the interior residuals, i.e. what Newton left over), with the round-off bound eps S of each.
* Obtuse triangles: c_ij < 0 on the edge opposite an angle above 90 degrees (the M-matrix
  property is lost); :meth:`EafeProblem2D.obtuse` counts them (reported in the summary).
* Crack lines: the mesh is cut open along them (:mod:`fem_sse.geometry.cracks`, built by
  :func:`fem_sse.app.eafe_case.solve_eafe_case_2d`), each lip has its own nodes and is a
  no-flux boundary. A crack still inside the mesh (a mesh not cut) is refused as below.
* GB interfaces with a conductance g: eta_i = Phi w jumps across them (j_i . n = g [eta_i]),
  eta_e does not. w is the W-FEM's discontinuous P1 field (``w_dg``), the nodal unknown
  eta_e + Phi w_k (w_k: the cells' mean w at node k), and each cell K uses its own eta_i:
  mu_K = unknown + Phi (w_K - w_k) at its nodes, d = Phi (w_K,j - w_K,i)/kT along its edges
  (:meth:`EafeProblem._edge_ionic`; offsets 0 without GB interfaces).

Units: currents per unit depth (A/m) inside, per cathode length (A/m^2) in the results, as the
W-FEM (docs/transport2d.md).
"""

from __future__ import annotations

import numpy as np
from dolfinx import fem, la
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.geometry.regions import ANODE, CATHODE
from fem_sse.parallel import gather_arrays
from fem_sse.transport.eafe import EafeProblem

__all__ = ["EafeProblem2D", "EafeView", "column_start", "unsupported"]

_PLANE_TOL = 1e-9  # of L: a node this close to x = 0 or x = L lies in an electrode plane

_EPS = np.finfo(float).eps


def unsupported(config, smesh) -> str | None:
    """Why the 2D EAFE scheme cannot solve this mesh (None when it can): a crack line still
    inside it (a mesh not cut open along its cracks, :mod:`fem_sse.geometry.cracks`)."""
    from fem_sse.transport.ionic import interior_facet_tags

    _, special = interior_facet_tags(smesh, None)  # GB facets REGULAR: only cracks count
    if special:
        return ("'fem-eafe' in 2D needs the mesh cut open along its crack lines (build it "
                "with fem_sse.geometry.build_mesh(..., cut_cracks=True))")
    return None


class EafeProblem2D(EafeProblem):
    """:class:`EafeProblem` on a triangle mesh (module docstring).

    Args:
        config: validated configuration (dim 2).
        smesh: the distributed mesh and its tags.
        petsc_options: overrides of the linear solver's options.
    """

    def __init__(self, config, smesh, petsc_options: dict | None = None):
        tdim = smesh.mesh.topology.dim
        smesh.mesh.topology.create_connectivity(tdim - 1, tdim)  # a refined mesh has none
        super().__init__(config, smesh, petsc_options)
        import ufl

        ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=smesh.facet_tags)
        one = fem.Constant(self.mesh, 1.0)
        self.area, self.anode_area = (
            self.comm.allreduce(fem.assemble_scalar(fem.form(one * ds(tag))), op=MPI.SUM)
            for tag in (CATHODE, ANODE))
        self.on_cathode = self._marked(CATHODE)
        self.on_anode = self._marked(ANODE)

    def _solve_ionic(self) -> None:
        """w: div(sigma_li grad w) = 0, w = 1 at the cathode, 0 at the anode (a linear solve:
        no closed form on a 2D mesh), and the ionic conductance G (S/m per unit depth).
        Continuous P1 (G = int sigma_li |grad w|^2) unless the mesh has GB interfaces with a
        conductance: then w jumps across them, and it is the discontinuous P1 field of the
        W-FEM (the W-FEM's solve, :func:`fem_sse.transport.ionic.solve_ionic`; G its Nitsche
        anode current), kept as ``w_dg``; ``w`` is then its mean at each node."""
        import ufl

        from fem_sse.transport.ionic import solve_ionic
        from fem_sse.transport.ionic_error import sigma_li_cells

        msh = self.mesh
        self.interior_tags, self.gb_tags = _interior_tags(self)
        dg = self.gb_tags is not None
        w = fem.Function(fem.functionspace(msh, ("DG", 1)) if dg else self.V, name="w_ionic")
        measures = (ufl.Measure("dx", domain=msh),
                    ufl.Measure("dS", domain=msh, subdomain_data=self.interior_tags),
                    ufl.Measure("ds", domain=msh, subdomain_data=self.smesh.facet_tags))
        g = (getattr(self, "_gb_conductance", None)
             or self.config.geometry2d.grain_boundaries.conductance) if dg else None
        self.conductance, *_ = solve_ionic(
            w, sigma_li_cells(self), self.smesh, measures, g, None, dg,
            lambda name, form: fem.form(form), self._integral, self._linear_solve)
        self.w, self.w_dg = (fem.Function(self.V, name="w_ionic"), w) if dg else (w, None)
        if dg:  # the nodal w: the mean of the cells' values at each node
            w_cells = w.x.array[w.function_space.dofmap.list[: len(self.cell_tag)]]
            total, count = np.zeros(self.n_local), np.zeros(self.n_local)
            np.add.at(total, self.cell_dofs.ravel(), w_cells.ravel())
            np.add.at(count, self.cell_dofs.ravel(), 1.0)
            self.w.x.array[:] = self._reverse(total) / np.maximum(self._reverse(count), 1.0)
        else:
            w_cells = w.x.array[self.cell_dofs]
        self._edge_ionic(w_cells)

    def set_gb_conductance(self, conductance: float) -> None:
        """Solve the ionic field again with GB interfaces of this conductance (S/m^2): w, its
        nodal mean, the edges' drops and offsets and G (the continuation in g of
        :mod:`fem_sse.transport.eafe2d_gb`)."""
        self._gb_conductance = conductance
        self._solve_ionic()

    def _integral(self, name: str, form) -> float:
        """A scalar UFL ``form`` assembled and summed over the ranks (``name``: unused, the
        signature of the W-FEM's form cache)."""
        return self.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    def _linear_solve(self, A, b, x) -> None:  # noqa: N803
        """The ionic system's solve (its own KSP, options prefix fem_sse_eafe_ionic_)."""
        from fem_sse.solvers import configured_ksp

        try:
            ksp = configured_ksp(self.comm, A, "fem_sse_eafe_ionic_", self.petsc_options)
            ksp.solve(b, x)
        except PETSc.Error as exc:
            raise ConvergenceError(f"the ionic solve failed (PETSc error {exc.ierr})",
                                   Diagnosis(stage="ionic solve", petsc_error=exc.ierr)) from None
        ksp.destroy()

    def kirchhoff_function(self) -> fem.Function:
        """W (A/m) in DG1, each cell's map of its mu (:class:`EafeView`): what the mechanics
        takes, as from the W formulation's problem."""
        from fem_sse.transport.eafe import dg1_maps

        W = dg1_maps(self)[1]  # noqa: N806
        W.name = "W"
        return W

    def _marked(self, tag: int) -> np.ndarray:
        """Local dofs (owned and ghost) on electrode ``tag``."""
        flag = la.vector(self.imap, 1)
        dofs = fem.locate_dofs_topological(self.V, self.mesh.topology.dim - 1,
                                           self.smesh.facet_tags.find(tag))
        flag.array[dofs] = 1.0
        flag.scatter_reverse(la.InsertMode.add)
        flag.scatter_forward()
        return flag.array > 0.0

    def applied_current(self) -> float:
        """The galvanostatic current per unit depth (A/m): current density x cathode length."""
        return self.config.cell.current_density * self.area

    def obtuse(self) -> dict:
        """How far the mesh is from the M-matrix property: cell edges with c_ij < 0 (opposite
        an obtuse angle), and assembled edges whose summed coefficient is negative (not
        Delaunay, or an obtuse angle at the boundary), with their shares."""
        tdim = self.mesh.topology.dim
        self.mesh.topology.create_connectivity(tdim, 1)
        num = len(self.cell_tag)
        c2e = self.mesh.topology.connectivity(tdim, 1).array.reshape(-1, 3)[:num]
        emap = self.mesh.topology.index_map(1)
        # cell-local edge (a, b) of p1_edge_coefficients is opposite vertex 3 - a - b, and
        # DOLFINx's local edge k of a triangle is opposite vertex k
        pairs = np.array([(0, 1), (0, 2), (1, 2)])
        local = c2e[:, 3 - pairs.sum(axis=1)]
        glob = emap.local_to_global(local.ravel().astype(np.int32))
        rows = gather_arrays(self.comm, glob, self.edge_c)
        out = None
        if rows is not None:
            keys, coeff = rows
            scale = np.abs(coeff).max(initial=1.0)
            summed = np.bincount(np.unique(keys, return_inverse=True)[1], weights=coeff)
            neg_cell = int(np.count_nonzero(coeff < -1e-12 * scale))
            neg_edge = int(np.count_nonzero(summed < -1e-12 * scale))
            out = {"cell_edges_negative": neg_cell, "cell_edges": int(coeff.size),
                   "edges_negative": neg_edge, "edges": int(summed.size),
                   "share_edges_negative": neg_edge / max(summed.size, 1)}
        return self.comm.bcast(out, root=0)

    def _cut(self, xk: float) -> np.ndarray:
        """chi of the cut x = xk (m): 1 beyond it and on the anode, 0 elsewhere (local nodes)."""
        return (((self.x[:, 0] > xk) | self.on_anode) & ~self.on_cathode).astype(float)

    def freeze_weights(self, mu: np.ndarray, phi: float) -> None:
        """The cut of :meth:`electronic_current` (module docstring): of 64 cuts x = const,
        the one whose round-off bound at the state (mu (eV), Phi (V)) is smallest; the
        per-edge weights are chi_j - chi_i."""
        cuts = self.cut_currents(mu, phi, count=64)
        self.cut_x = float(cuts["x"][int(np.argmin(cuts["roundoff"]))])
        self.chi = self._cut(self.cut_x)
        self._weights = self.chi[self.edge_j] - self.chi[self.edge_i]

    def _edge_noise(self, mu: np.ndarray, phi: float) -> tuple[np.ndarray, np.ndarray]:
        """(edge currents G, the round-off bound eps |c| S (1 + |y|) of c G per edge)."""
        g, *_, s = self._edges(mu, phi)
        y = np.maximum(*(np.abs(v) for v in self.edge_y(mu, phi)))
        return g, _EPS * np.abs(self.edge_c) * s * (1.0 + y)

    def reactions(self, mu: np.ndarray, phi: float) -> dict:
        """Electronic currents (A/m per unit depth, in +x) entering at the cathode and leaving
        at the anode as the sums of the electrode nodes' full residuals, and the round-off
        bound of each (eps S (1 + |y|) summed over the electrode nodes' edges)."""
        g, bound = self._edge_noise(mu, phi)
        c = self.edge_c
        res, noise = np.zeros(self.n_local), np.zeros(self.n_local)
        np.add.at(res, self.edge_i, -c * g)
        np.add.at(res, self.edge_j, c * g)
        np.add.at(noise, self.edge_i, bound)
        np.add.at(noise, self.edge_j, bound)
        res, noise = self._reverse(res), self._reverse(noise)
        n = self.n_owned

        def total(values, mask):
            return self.comm.allreduce(float(values[:n][mask[:n]].sum()), op=MPI.SUM)

        return {"cathode": -total(res, self.on_cathode), "anode": total(res, self.on_anode),
                "cathode_roundoff": total(noise, self.on_cathode),
                "anode_roundoff": total(noise, self.on_anode)}

    def cut_currents(self, mu: np.ndarray, phi: float, count: int = 32) -> dict:
        """Electronic current (A/m per unit depth, in +x) through ``count`` cuts x = x_k
        (chi = 1 on the nodes beyond x_k and on the anode, 0 elsewhere), each with its
        round-off bound (eps S (1 + |y|) over the edges it cuts). At a steady state every cut
        carries the same current; the cuts through highly conductive layers (bound above the
        current) cannot tell it."""
        g, bound = self._edge_noise(mu, phi)
        c = self.edge_c
        xs = (np.arange(count) + 0.5) / count * self.length
        currents, bounds = np.zeros(count), np.zeros(count)
        for k, xk in enumerate(xs):
            chi = self._cut(xk)
            dchi = chi[self.edge_j] - chi[self.edge_i]
            currents[k] = float((dchi * c * g).sum())
            bounds[k] = float((np.abs(dchi) * bound).sum())
        self.comm.Allreduce(MPI.IN_PLACE, currents, op=MPI.SUM)
        self.comm.Allreduce(MPI.IN_PLACE, bounds, op=MPI.SUM)
        return {"x": xs, "current": currents, "roundoff": bounds}

    def chi_roundoff(self, mu: np.ndarray, phi: float) -> float:
        """Round-off bound (A/m) of :meth:`electronic_current` (the cut function chi)."""
        local = float((np.abs(self._weights) * self._edge_noise(mu, phi)[1]).sum())
        return self.comm.allreduce(local, op=MPI.SUM)

    def ionic_currents(self) -> tuple[float, float]:
        """Ionic current per volt of Phi (A/V per unit depth) entering at the cathode and
        leaving at the anode (:func:`fem_sse.transport.ionic.entering_current`)."""
        from fem_sse.transport.ionic import entering_current
        from fem_sse.transport.ionic_error import sigma_li_cells

        sigma = sigma_li_cells(self)
        w, dg = (self.w, False) if self.w_dg is None else (self.w_dg, True)
        return (entering_current(w, sigma, self.smesh, CATHODE, 1.0, dg, self._integral),
                -entering_current(w, sigma, self.smesh, ANODE, 0.0, dg, self._integral))


def _interior_tags(problem):
    """(the interior facets by class, :func:`fem_sse.transport.ionic.interior_facet_tags`;
    the same when the mesh has GB interfaces with a conductance, else None)."""
    from fem_sse.transport.ionic import GB_INTERFACE, interior_facet_tags

    g2d = problem.config.geometry2d
    gb = g2d.grain_boundaries if g2d is not None else None
    g = gb.conductance if gb is not None else None
    tags, _ = interior_facet_tags(problem.smesh, g)
    owned = tags.indices < problem.mesh.topology.index_map(1).size_local
    local = int(np.count_nonzero(tags.values[owned] == GB_INTERFACE))
    return tags, (tags if problem.comm.allreduce(local, op=MPI.SUM) else None)


class EafeView:
    """An EAFE state seen as the W-FEM's 2D problem by the metrics
    (:mod:`fem_sse.transport.metrics2d`),
    the map (:func:`fem_sse.io.outputs.plot_mu_map`), the checkpoint and the mechanics: W (A/m)
    in DG1 (``omega``, ``w_scale`` = 1), DG0 ``fields`` A (S/m), B (eV), region_id, and
    ``mu_function`` (mu, eV: P1, DG1 with GB interfaces)."""

    def __init__(self, problem: EafeProblem2D):
        from fem_sse.transport.eafe import dg1_maps

        mu_dg, self.omega, _ = dg1_maps(problem)
        self.V = self.omega.function_space
        self.Q = fem.functionspace(problem.mesh, ("DG", 0))
        region = fem.Function(self.Q, name="region_id")
        tags = problem.smesh.cell_tags
        region.x.array[tags.indices] = tags.values
        self.w_scale, self.degree = 1.0, 1
        self.fields = {"region_id": region}
        num = len(problem.cell_tag)
        for name, values in (("A", problem.cell_A), ("B", problem.cell_B)):
            f = fem.Function(self.Q, name=name)
            f.x.array[self.Q.dofmap.list[:num, 0]] = values
            f.x.scatter_forward()
            self.fields[name] = f
        region.x.scatter_forward()
        for attr in ("mesh", "comm", "config", "smesh", "kT", "length", "area", "anode_area"):
            setattr(self, attr, getattr(problem, attr))
        # P1 where mu is continuous; each cell's own mu (DG1) where it jumps (GB interfaces)
        self._mu = problem.mu if problem.w_dg is None else mu_dg

    def mu_function(self):
        """mu_Li0 (eV): P1, or DG1 with GB interfaces."""
        return self._mu

    def kirchhoff_function(self) -> fem.Function:
        """W (A/m) in DG1 (a copy, named "W"), as :class:`TransportProblem` gives it."""
        W = fem.Function(self.V, name="W")  # noqa: N806
        W.x.array[:] = self.omega.x.array
        return W


class _ColumnShim:
    """What :func:`fem_sse.transport.start2d.column_mu` reads, for the P1 space."""

    def __init__(self, problem: EafeProblem2D):
        self.config, self.smesh, self.V = problem.config, problem.smesh, problem.V
        self.Q = fem.functionspace(problem.mesh, ("DG", 0))
        region = fem.Function(self.Q)
        tags = problem.smesh.cell_tags
        region.x.array[tags.indices] = tags.values
        self.fields = {"region_id": region}


def _free_surface(problem: EafeProblem2D, eta_e: np.ndarray) -> np.ndarray:
    """``eta_e`` (eV) with the free nodes in the electrode planes (beside a partial anode
    contact) set to the mean of their neighbours off the plane: the exact 1D state there has
    the electrode's value and its boundary layer or jump next to the electrode, which away
    from the contact the 2D state does not have (a 1.4 eV step along the free surface, which
    Newton could not remove, was seen on stress2d 0:22)."""
    x, length = problem.x[:, 0], problem.length
    tol = _PLANE_TOL * length
    plane = ~problem.fixed & ((x <= tol) | (x >= length - tol))
    acc, count = np.zeros(problem.n_local), np.zeros(problem.n_local)
    for a, b in ((problem.edge_i, problem.edge_j), (problem.edge_j, problem.edge_i)):
        pick = plane[a] & ~plane[b]
        np.add.at(acc, a[pick], eta_e[b[pick]])
        np.add.at(count, a[pick], 1.0)
    acc, count = problem._reverse(acc), problem._reverse(count)
    return np.where(plane & (count > 0), acc / np.maximum(count, 1.0), eta_e)


def column_start(problem: EafeProblem2D, sol, phi: float) -> np.ndarray:
    """mu_Li0 (eV) at every local node from the exact 1D state ``sol`` of the laterally
    averaged stack: its eta_e = mu - eta_i mapped column by column
    (:func:`fem_sse.transport.start2d.column_mu`) plus this mesh's eta_i = Phi w, with ``phi``
    (V); electrode values on the electrodes. Mapping eta_e, not mu, keeps eta_e flat where
    sigma_eh is large, as the solution has it, where the 2D w differs from the 1D one (next
    to a partial anode contact, mu mapped directly was hundreds of volts from balance on the
    free surface). mu linear in x between the electrode values without ``sol``."""
    from fem_sse.transport.start2d import column_mu

    cell = problem.config.cell
    if sol is None:
        t = problem.x[:, 0] / problem.length
        mu = cell.mu_cathode + t * (cell.mu_anode - cell.mu_cathode)
    else:
        xs, mus = (np.asarray(v) for v in sol.profile())
        eta_e_1d = mus - sol.eta_i(xs)
        eta_e = column_mu(_ColumnShim(problem), xs, eta_e_1d)
        mu = _free_surface(problem, eta_e) + phi * problem.w.x.array
    return np.where(problem.fixed, problem.mu_fixed, mu)
