"""Exponentially fitted (EAFE / Scharfetter-Gummel) discretisation of the electronic current.

Why: the W formulation (:mod:`fem_sse.transport.problem`) computes
j_eh = grad W - sigma_eh grad eta_i, two terms up to 1e30 times larger than their sum on
stacks whose B lies far inside the electrode window (the exact state's cancellation ratio,
:func:`fem_sse.transport.start1d.cancellation_ratio`); beyond 1e6 its discretisation error, beyond
1e12 round-off, exceeds the current. This scheme has no such difference of large terms.

Model (potentials in eV, kT in eV; docs/model.md section 1): with mu = eta_i + eta_e,
sigma_eh = A e^y + A e^-y, y = (mu - B)/kT, the electronic current is

    j_eh = sigma_eh grad eta_e = kT [a_p grad v - a_n grad(1/v)],
    v = exp(eta_e/kT),  a_p = A exp((eta_i - B)/kT),  a_n = A exp(-(eta_i - B)/kT).

eta_i = Phi w with w continuous P1 (linear on every cell), so along a cell edge from node i to
node j the harmonic averages of a_p and a_n have closed forms (Bernoulli function
Bern(z) = z / (e^z - 1)): the edge current G_ij of :mod:`fem_sse.transport.eafe_edges`
(Xu & Zikatanov 1999, "edge-averaged finite elements"; in 1D the Scharfetter-Gummel flux). It
is exact for each carrier with a constant current across the cell (the exponential profiles of
the plateaus); the error comes only from cells where both carriers carry current (mu near B).
With d = 0 it is the Kirchhoff difference W_j - W_i. Unknown: mu_Li0 at the nodes of the P1
space (continuous across material interfaces, each cell uses its own A and B), Dirichlet
mu = mu_cathode, mu_anode at the electrodes (independent of Phi). The node equations are
sum over the edges of the cells around node i of -K_ij G_ij = 0 (K the P1 stiffness matrix of
the cell, K_ij = -1/h in 1D): an M-matrix in 1D. Assembled with numpy into a PETSc AIJ matrix
(local indices of the P1 dofmap: any number of ranks, any dimension). The ionic potential w
is the closed form here (1D); :class:`fem_sse.transport.eafe2d.EafeProblem2D` solves for it.

Rows are scaled by their diagonal: the scaled residual is in volts (how far node i's mu is from
its balance), the noise floor of a row is round-off of mu (eps |y| kT), whatever sigma_eh is.

The galvanostatic Phi and the electronic current: in 1D every cell carries the same discrete
current at convergence, so the electronic current is a weighted mean of the cell currents with
weights ~ 1/S_c^2 (S_c the sum of the magnitudes of the cell's terms): the least conductive
cells, where the current has all its digits, decide it (:meth:`EafeProblem.electronic_current`).
"""

from __future__ import annotations

import logging

import numpy as np
from dolfinx import fem, la
from mpi4py import MPI
from petsc4py import PETSc

from fem_sse.spec.config import Config
from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.geometry.line import ANODE, CATHODE
from fem_sse.geometry.regions import regions_1d
from fem_sse.solvers import configured_ksp
from fem_sse.transport.linear import TripletRows
from fem_sse.transport.eafe_edges import (
    bernoulli,
    edge_current,
    log_bernoulli,
    p1_edge_coefficients,
)

__all__ = ["EafeProblem", "bernoulli", "dg1_maps", "edge_current", "log_bernoulli"]

log = logging.getLogger(__name__)

_STEP_TOL_KT = 1e-8  # converged: the largest Newton correction of mu below this many kT
# A line search that fails with corrections this small (kT), or with the row-scaled residual
# (the merit, in volts) below _FLOOR_KT kT, is at the round-off floor: converged
_STALL_TOL_KT = 1e-6
_FLOOR_KT = 1e-9
# A merit below this (kT, in V) at which neither Newton's line search nor the pseudo-transient
# continuation makes progress any more is the residual's round-off floor of that stack (a drift
# ~1e12 times the current in a cell): accepted; the exact check then judges the result
_NOISE_KT = 1e-6


class EafeProblem:
    """The EAFE electronic problem on one mesh (1D for the current and the galvanostatic Phi).

    Args:
        config: validated configuration.
        smesh: the distributed mesh and its tags (1D: cell tag = segment index + 1).
        petsc_options: overrides of the linear solver's options
            (:func:`fem_sse.transport.problem.default_petsc_options`).
    """

    def __init__(self, config: Config, smesh, petsc_options: dict | None = None):
        from fem_sse.transport.problem import default_petsc_options

        self.config, self.smesh = config, smesh
        self.mesh = msh = smesh.mesh
        self.comm = msh.comm
        self.kT = config.cell.kT
        self.length = config.thickness
        tdim = msh.topology.dim
        self.petsc_options = {**default_petsc_options(self.comm, tdim), **(petsc_options or {})}
        self.V = fem.functionspace(msh, ("Lagrange", 1))
        self.imap = self.V.dofmap.index_map
        self.n_owned = self.imap.size_local
        self.n_local = self.n_owned + self.imap.num_ghosts
        self.mu = fem.Function(self.V, name="mu_Li0")  # the unknown (eV)
        self.phi, self._last_edges = 0.0, None  # Phi (V); the last state's edges (_edges)
        self._cells()
        self._solve_ionic()
        self._dirichlet()
        self._matrix()

    # -- set-up ------------------------------------------------------------------------------
    def _cells(self) -> None:
        """Owned cells: their dofs, edges, EAFE coefficients and material (A, B, sigma_li)."""
        msh = self.mesh
        tdim = msh.topology.dim
        num = msh.topology.index_map(tdim).size_local
        dofs = self.V.dofmap.list[:num]
        self.x = self.V.tabulate_dof_coordinates()
        self.cell_dofs = dofs
        pairs, coeff = p1_edge_coefficients(self.x[dofs])
        self.edge_pairs = pairs
        self.edge_i = dofs[:, pairs[:, 0]].ravel()
        self.edge_j = dofs[:, pairs[:, 1]].ravel()
        self.edge_c = coeff.ravel()
        regions = self.smesh.regions or regions_1d(self.config)[0]
        tag_of = np.zeros(msh.topology.index_map(tdim).size_local
                          + msh.topology.index_map(tdim).num_ghosts, dtype=np.int64)
        tag_of[self.smesh.cell_tags.indices] = self.smesh.cell_tags.values
        tags = tag_of[:num]
        self.cell_tag = tags
        mats = {t: self.config.materials[regions[t].material] for t in np.unique(tags)}
        per_cell = {name: np.array([getattr(mats[t], name) for t in tags], dtype=float)
                    for name in ("A", "B", "sigma_li")}
        factor = np.array([regions[t].sigma_li_factor for t in tags], dtype=float)
        self.cell_A, self.cell_B = per_cell["A"], per_cell["B"]
        self.cell_sigma_li = per_cell["sigma_li"] * factor
        per_edge = len(pairs)
        self.edge_A = np.repeat(self.cell_A, per_edge)
        self.edge_B = np.repeat(self.cell_B, per_edge)
        self.edge_cell = np.repeat(np.arange(num), per_edge)

    def _solve_ionic(self) -> None:
        """w (P1): div(sigma_li grad w) = 0, w = 1 at the cathode, 0 at the anode; nodal w and
        the ionic conductance G = int sigma_li |grad w|^2 (S/m^2).

        The P1 solution is exact at the nodes of an interval mesh, w(x) = 1 - R(x)/R(L) with R
        the area-specific ionic resistance (Ohm m^2), and G = 1/R(L): taken from the closed
        form, because the linear solve loses digits on meshes with cells 1e-16 L next to others
        of 1e-2 L (a node at round-off distance from a segment end: 3e-5 of w, seen as 25 ueV
        in mu at an interface)."""
        total = float(self.config.ionic_resistance(self.length)[0])
        self.w = fem.Function(self.V, name="w_ionic")
        self.w_dg = None  # continuous w (2D: discontinuous across GB interfaces)
        self.w.x.array[:] = 1.0 - self.config.ionic_resistance(self.x[:, 0]) / total
        self.conductance = 1.0 / total
        self._edge_ionic(self.w.x.array[self.cell_dofs])

    def _edge_ionic(self, w_cells: np.ndarray) -> None:
        """Per edge, from w at each owned cell's nodes (cells, nodes; continuous P1 w or a
        discontinuous one): the drop ``dw`` = w_j - w_i inside the cell and the offsets
        ``off_i``, ``off_j`` of the cell's w from the nodal w (``self.w``) at the ends. The
        unknown at node k is eta_e + Phi w_k, continuous (eta_e is); in cell K its mu is that
        plus Phi (w_K - w_k): 0 unless w jumps at the node (GB interfaces)."""
        pairs = self.edge_pairs
        self.dw = (w_cells[:, pairs[:, 1]] - w_cells[:, pairs[:, 0]]).ravel()
        self.cell_off = off = w_cells - self.w.x.array[self.cell_dofs]
        self.off_i, self.off_j = off[:, pairs[:, 0]].ravel(), off[:, pairs[:, 1]].ravel()

    def _dirichlet(self) -> None:
        """Local dofs (owned and ghost) on the electrodes and their mu (eV)."""
        fdim = self.mesh.topology.dim - 1
        flag = la.vector(self.imap, 1)
        value = la.vector(self.imap, 1)
        cell = self.config.cell
        for tag, mu in ((CATHODE, cell.mu_cathode), (ANODE, cell.mu_anode)):
            dofs = fem.locate_dofs_topological(self.V, fdim, self.smesh.facet_tags.find(tag))
            flag.array[dofs] = 1.0
            value.array[dofs] = mu
        # every rank that sees the dof marks it: the owner learns it, then tells the ghosts
        for vec in (flag, value):
            vec.scatter_reverse(la.InsertMode.add)
            vec.scatter_forward()
        self.fixed = flag.array > 0.0
        self.mu_fixed = np.where(self.fixed, value.array / np.maximum(flag.array, 1.0), 0.0)
        # edge rows that belong to electrode dofs carry no cell terms
        self.keep_i = ~self.fixed[self.edge_i]
        self.keep_j = ~self.fixed[self.edge_j]

    def _matrix(self) -> None:
        """The AIJ Jacobian (the P1 mass matrix's sparsity), filled by local (row, column,
        value) triples: edges and the electrode diagonal (:class:`TripletRows`)."""
        import dolfinx.fem.petsc
        import ufl

        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        self.A = dolfinx.fem.petsc.create_matrix(fem.form(u * v * ufl.dx(domain=self.mesh)))
        self.A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, False)
        i, j = self.edge_i, self.edge_j
        diag = np.arange(self.n_owned)
        self._rows = np.concatenate([i, i, j, j, diag]).astype(PETSc.IntType)
        self._cols = np.concatenate([i, j, i, j, diag]).astype(PETSc.IntType)
        self._triples = TripletRows(self._rows, self._cols, self.n_local)
        self._ksp = None

    # -- discretisation ----------------------------------------------------------------------
    def edge_y(self, mu: np.ndarray, phi: float) -> tuple[np.ndarray, np.ndarray]:
        """(mu - B)/kT at both ends of every edge, in the edge's cell (-): the nodal unknown
        plus the cell's ionic offset (:meth:`_edge_ionic`)."""
        y_i = (mu[self.edge_i] + phi * self.off_i - self.edge_B) / self.kT
        y_j = (mu[self.edge_j] + phi * self.off_j - self.edge_B) / self.kT
        return y_i, y_j

    def _edges(self, mu: np.ndarray, phi: float):
        """:func:`edge_current` of every edge at (mu (eV), Phi (V)), kept for the last state
        (read-only): a Newton step asks for it four times (stack 68 of seed 17 in 1D)."""
        last = self._last_edges
        if last is not None and last[1] == phi and np.array_equal(last[0], mu):
            return last[2]
        y_i, y_j = self.edge_y(mu, phi)
        value = edge_current(y_i, y_j, phi * self.dw / self.kT, self.edge_A, self.kT)
        for array in value:
            array.flags.writeable = False
        self._last_edges = (mu.copy(), phi, value)
        return value

    def _dg_dphi(self, g_i, g_j, g_d) -> np.ndarray:
        """dG/dPhi per edge (A/m^2/V in 1D): through the drop d and the ends' offsets."""
        return (g_d * self.dw + g_i * self.off_i + g_j * self.off_j) / self.kT

    def _reverse(self, local: np.ndarray) -> np.ndarray:
        """Sum a local (owned + ghost) array onto the owners; the owned part, made
        consistent on the ghosts too (returns the whole local array)."""
        vec = la.vector(self.imap, 1)
        vec.array[:] = local
        vec.scatter_reverse(la.InsertMode.add)
        vec.scatter_forward()
        return vec.array.copy()

    def node_B(self) -> np.ndarray:  # noqa: N802
        """B (eV) at every local node: the mean over the edges of its cells (the same on every
        rank; mixed at a phase boundary), the reference of :func:`eafe_newton.kirchhoff_update`."""
        total, count = np.zeros(self.n_local), np.zeros(self.n_local)
        for ends in (self.edge_i, self.edge_j):
            np.add.at(total, ends, self.edge_B)
            np.add.at(count, ends, 1.0)
        return self._reverse(total) / np.maximum(self._reverse(count), 1.0)

    def residual(self, mu: np.ndarray, phi: float, jacobian: bool = False):
        """Node residuals R (A/m^2 in 1D; mu - mu_fixed (eV) on the electrodes) and, with
        ``jacobian``, the diagonal D (A/m^2/eV), the values of dR/dmu (at the local
        (row, column) pairs of the matrix) and dR/dPhi."""
        g, g_i, g_j, g_d, _ = self._edges(mu, phi)
        c = self.edge_c
        res = np.zeros(self.n_local)
        np.add.at(res, self.edge_i, -c * g * self.keep_i)
        np.add.at(res, self.edge_j, c * g * self.keep_j)
        res = self._reverse(res)
        res[self.fixed] = (mu - self.mu_fixed)[self.fixed]
        if not jacobian:
            return res
        kT = self.kT
        ki, kj = self.keep_i, self.keep_j
        # rows i: -c G; rows j: +c G; columns by dG/dy / kT
        v_ii, v_ij = -c * g_i / kT * ki, -c * g_j / kT * ki
        v_ji, v_jj = c * g_i / kT * kj, c * g_j / kT * kj
        diag = np.zeros(self.n_local)
        np.add.at(diag, self.edge_i, v_ii)
        np.add.at(diag, self.edge_j, v_jj)
        diag = self._reverse(diag)
        diag[self.fixed] = 1.0
        dphi = np.zeros(self.n_local)
        dg = self._dg_dphi(g_i, g_j, g_d)
        np.add.at(dphi, self.edge_i, -c * dg * ki)
        np.add.at(dphi, self.edge_j, c * dg * kj)
        dphi = self._reverse(dphi)
        dphi[self.fixed] = 0.0
        owned_fixed = self.fixed[: self.n_owned].astype(float)
        values = np.concatenate([v_ii, v_ij, v_ji, v_jj, owned_fixed])
        return res, diag, values, dphi

    def freeze_weights(self, mu: np.ndarray, phi: float) -> None:
        """Fix the weights of :meth:`electronic_current` at the state (mu (eV), Phi (V)):
        (S_min / S_c)^2 per cell, normalised (module docstring). Frozen, the current is a
        linear functional of the cell currents and its derivative is exact; every cell carries
        the same current at convergence, so the weights do not change the converged value."""
        *_, s = self._edges(mu, phi)
        log_s = np.log(np.maximum(self.edge_c * s, 1e-300))
        lo = self.comm.allreduce(float(log_s.min(initial=np.inf)), op=MPI.MIN)
        weight = np.exp(-2.0 * (log_s - lo))
        self._weights = weight / self.comm.allreduce(float(weight.sum()), op=MPI.SUM)

    def electronic_current(self, mu: np.ndarray, phi: float, gradient: bool = False):
        """The electronic current (A/m^2 in 1D; A/m per unit depth in 2D): the weighted sum
        of the edge currents (:meth:`freeze_weights`; in 2D the cut function of
        :class:`fem_sse.transport.eafe2d.EafeProblem2D`), with its derivatives (dI/dmu on the
        local dofs, dI/dPhi) when ``gradient``. Identical on every rank."""
        if getattr(self, "_weights", None) is None:
            self.freeze_weights(mu, phi)
        weight = self._weights
        g, g_i, g_j, g_d, _ = self._edges(mu, phi)
        c = self.edge_c
        current = self.comm.allreduce(float((weight * c * g).sum()), op=MPI.SUM)
        if not gradient:
            return current
        grad = np.zeros(self.n_local)
        np.add.at(grad, self.edge_i, weight * c * g_i / self.kT)
        np.add.at(grad, self.edge_j, weight * c * g_j / self.kT)
        grad = self._reverse(grad)
        grad[self.fixed] = 0.0
        d_phi = self.comm.allreduce(float((weight * c * self._dg_dphi(g_i, g_j, g_d)).sum()),
                                    op=MPI.SUM)
        return current, grad, d_phi

    # -- linear algebra ----------------------------------------------------------------------
    def _factor(self, values: np.ndarray, diag: np.ndarray, shift: float = 0.0) -> None:
        """Set the row-scaled Jacobian D^-1 J (plus ``shift`` on the diagonal of the rows
        that are not electrodes), scale its columns, and (re)factorise it."""
        cols, n = self._cols, self.n_owned
        scaled = values / diag[self._rows]
        if shift:
            scaled[-n:] += shift * (~self.fixed[:n])
        # columns scaled by their 1-norm too: next to a jump inside a cell a node's own
        # entries are e^(many kT) below its neighbour's (the Kirchhoff variable's scale), and
        # the LU of the row-scaled matrix returns corrections of 1e15 eV there
        colsum = np.zeros(self.n_local)
        np.add.at(colsum, cols, np.abs(scaled))
        self._colscale = np.maximum(self._reverse(colsum), 1e-300)
        scaled = scaled / self._colscale[cols]
        self._triples.set(self.A, scaled)
        if self._ksp is None:
            try:
                self._ksp = configured_ksp(self.comm, self.A, "fem_sse_eafe_",
                                           self.petsc_options)
            except PETSc.Error as exc:  # the factorisation: a failed Newton step
                raise ConvergenceError(f"EAFE factorisation failed (PETSc error {exc.ierr})",
                                       Diagnosis(petsc_error=exc.ierr)) from None

    def _solve(self, rhs_owned: np.ndarray) -> np.ndarray:
        """Solve (D^-1 J) x = rhs (owned entries; the matrix is column-scaled by C, so C x
        is solved for); x on the local (owned + ghost) dofs."""
        b = self.A.createVecRight()
        x = self.A.createVecLeft()
        b.array[:] = rhs_owned
        try:
            self._ksp.solve(b, x)
        except PETSc.Error as exc:
            self._ksp.destroy()
            self._ksp = None
            raise ConvergenceError(f"EAFE linear solve failed (PETSc error {exc.ierr})",
                                   Diagnosis(petsc_error=exc.ierr)) from None
        out = np.zeros(self.n_local)
        out[: self.n_owned] = x.array / self._colscale[: self.n_owned]
        vec = la.vector(self.imap, 1)
        vec.array[:] = out
        vec.scatter_forward()
        b.destroy()
        x.destroy()
        return vec.array.copy()

    def _max(self, local: np.ndarray) -> float:
        return self.comm.allreduce(float(np.max(np.abs(local[: self.n_owned]), initial=0.0)),
                                   op=MPI.MAX)

    def _norm(self, local: np.ndarray) -> float:
        """The 2-norm over the owned entries, scaled by the largest (a wild Newton trial's
        residual of 1e160 squares to inf; inf and nan stay what they are)."""
        top = self._max(local)
        if not np.isfinite(top) or top == 0.0:
            return top
        part = float(np.sum((local[: self.n_owned] / top) ** 2))
        return top * float(np.sqrt(self.comm.allreduce(part, op=MPI.SUM)))

    def destroy(self) -> None:
        """Free the PETSc objects."""
        if self._ksp is not None:
            self._ksp.destroy()
        self.A.destroy()


def dg1_maps(problem: EafeProblem):
    """DG1 functions mu_Li0 [eV], W [A/m] and sigma_eh [S/m] of an EAFE state: W and sigma_eh
    are maps of the nodal mu in *each cell's* material, so they jump where the material does.
    Collective over ``problem.comm``."""
    from fem_sse.materials.conductivity import kirchhoff, sigma_eh
    from fem_sse.spec.config import MAX_SCALED_POTENTIAL

    V = fem.functionspace(problem.mesh, ("DG", 1))  # noqa: N806
    mu = fem.Function(V, name="mu_Li0 [eV]")
    mu.interpolate(problem.mu)
    w = fem.Function(V, name="W [A/m]")
    sigma = fem.Function(V, name="sigma_eh [S/m]")
    # DG dofs of owned cells are owned: set them from the cell's material, then the ghosts
    dofs = V.dofmap.list[: len(problem.cell_A)]
    mu.x.array[dofs] += problem.phi * problem.cell_off  # each cell's own eta_i (GB interfaces)
    mu.x.scatter_forward()
    A, B = problem.cell_A[:, None], problem.cell_B[:, None]  # noqa: N806
    kT = problem.kT  # noqa: N806
    # the clip keeps cosh finite (as the W-FEM's sigma_eh field); W is exact below it
    mu_c = np.clip(mu.x.array[dofs], B - MAX_SCALED_POTENTIAL * kT, B + MAX_SCALED_POTENTIAL * kT)
    w.x.array[dofs] = kirchhoff(mu_c, A, B, kT)
    sigma.x.array[dofs] = sigma_eh(mu_c, A, B, kT)
    for f in (w, sigma):
        f.x.scatter_forward()
    return mu, w, sigma
