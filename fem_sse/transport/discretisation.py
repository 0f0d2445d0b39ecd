"""What differs between a 1D and a 2D transport mesh, in one object per dimension.

The adaptive loops (:mod:`fem_sse.transport.adapt`, the EAFE loops), the linear solver's
defaults and the metrics ask a :class:`Line1D` (interval mesh of the layer stack) or a
:class:`Plane2D` (triangle mesh) instead of branching on the dimension (issue 15; the
branches left elsewhere are counted by tests/test_architecture.py and listed in
docs/architecture.md):

==================  ===========================================  =================================
operation           Line1D                                       Plane2D
==================  ===========================================  =================================
first mesh          Gmsh line + points where the exact mu        Gmsh surface (precision check
                    changes (start1d.exact_points)               of the averaged stack first)
start, restart      the exact 1D steady state (start1d)          the problem's default guess
failure diagnosis   what the exact solution says (start1d)       precision limit (precision2d)
check of a solve    none (certify1d checks the loop's result)    current balance (certify2d)
measure             W per cell gathered on rank 0, fem_metrics   fem_metrics_2d (no profile)
marked-cell cap     none                                         (max_cells - cells) / 6
refine              interval mesh rebuilt, a marked cell split   Plaza refinement carrying the
                    into parts by its indicator (split_counts)   tags (geometry/refine2d.py)
LU of Newton steps  KLU on one rank (block-tridiagonal)          MUMPS
indicator's h       the cell's length                            thin extent 2 |K| / diam(K)
default guess       mu linear in x (1D FEM checks stay           the averaged stack's exact state,
                    independent of the exact solver)             column by column (start2d)
fields written      no current-density fields, no maps           currents (DG0), mu and stress maps
==================  ===========================================  =================================

Building the Gmsh model, checking it and refining marked cells are the geometry layer's part
(:mod:`fem_sse.geometry.discretisation`, the base classes). Every other import is inside a
function: this module is imported by the pure UFL forms and by
:mod:`fem_sse.transport.linear`, below everything else of the transport layer.
"""

from __future__ import annotations

import numpy as np

from fem_sse.geometry import discretisation as geometry

__all__ = ["Line1D", "Plane2D", "discretisation_for", "for_dimension", "split_counts"]


def split_counts(eta2: np.ndarray, marked: np.ndarray, degree: int, comm,
                 max_split: int = 16) -> np.ndarray:
    """Parts to split each marked 1D cell into, so that its indicator falls to about the
    smallest marked one: eta_K scales as h^(p + 1/2) where W is resolved, so a cell k times
    above the threshold is cut into ~k^(1/(p + 1/2)) parts (2 to ``max_split``). A steep
    front is then resolved in a few steps instead of one bisection per step."""
    from mpi4py import MPI

    eta = np.sqrt(eta2[marked])
    floor = comm.allreduce(float(eta.min(initial=np.inf)), op=MPI.MIN)
    ratio = eta / max(floor, 1e-300)
    parts = np.ceil(ratio ** (1.0 / (degree + 0.5)))
    return np.clip(parts, 2, max_split).astype(np.int32)


class Line1D(geometry.Line1D):
    """The interval mesh of a 1D layer stack (building and refining it:
    :class:`fem_sse.geometry.discretisation.Line1D`)."""

    #: Newton matrices are block-tridiagonal: KLU refactors them ~5x faster than MUMPS
    banded = True
    #: no current-density fields are written: in 1D the currents are the summary's constants
    current_fields = False
    #: no maps (mu_Li0, stresses) are drawn: the 1D profile plot shows the state
    draws_maps = False

    @staticmethod
    def thin_extent(msh):
        """The cell size of the error indicator (UFL, m): the interval's length."""
        import ufl

        return ufl.CellDiameter(msh)

    @staticmethod
    def layered_start(problem):
        """None: the default 1D guess is mu linear in x, so the 1D FEM verification stays
        independent of the exact solver."""
        return None

    @staticmethod
    def exact_state(config, exact=None):
        """The exact steady state the 1D solves start from (``exact``, or solved here: raises
        SolveError when there is none)."""
        if exact is not None:
            return exact
        from fem_sse.transport.start1d import exact_solution

        return exact_solution(config)

    @staticmethod
    def first_mesh(config, comm, exact, check: bool = True, max_dy: float | None = None):
        """The Gmsh mesh with points added where the exact mu changes by ``max_dy`` kT
        (default :data:`start1d._MAX_DY`; adaptive runs; a fixed mesh, ``solver.adaptive =
        false``, is the user's choice); with ``check``, a stack beyond the W formulation's
        precision is refused (:func:`start1d.check_precision`)."""
        from fem_sse.geometry import build_mesh
        from fem_sse.geometry.line import add_points
        from fem_sse.transport.start1d import _MAX_DY, check_precision, exact_points

        smesh = build_mesh(config, comm)
        if check:
            check_precision(exact)
        if config.solver.adaptive:
            smesh = add_points(smesh, config, exact_points(exact, max_dy or _MAX_DY))
        return smesh

    @staticmethod
    def start(problem, exact) -> None:
        """Start ``problem`` from the exact state ``exact`` (:mod:`fem_sse.transport.start1d`)."""
        from fem_sse.transport.start1d import start_from_exact

        start_from_exact(problem, exact)

    restart = start  # a failed solve on a refined mesh restarts from the exact state too

    @staticmethod
    def explain_failure(exc, config) -> None:
        """Add to a ConvergenceError's diagnosis what the exact solution says about the case
        (:func:`fem_sse.transport.start1d.explain_failure`)."""
        from fem_sse.transport.start1d import explain_failure

        explain_failure(exc, config)

    @staticmethod
    def check_solution(problem, result) -> None:
        """Nothing per solve: the loop's result is checked against the exact solution."""

    @staticmethod
    def profile(problem):
        """Nodal W (A/m) per cell of a W-FEM problem, on rank 0 (None elsewhere): a
        :class:`~fem_sse.transport.metrics1d.Profile`. Collective."""
        from fem_sse.transport.metrics1d import Profile

        num_cells = problem.mesh.topology.index_map(1).size_local
        dofs = problem.V.dofmap.list[:num_cells]
        xs = problem.V.tabulate_dof_coordinates()[:, 0][dofs]
        ws = problem.omega.x.array[dofs] * problem.w_scale
        region = problem.fields["region_id"].x.array[problem.Q.dofmap.list[:num_cells, 0]]
        return Profile.gather(problem.comm, xs, ws, region.astype(int) - 1)

    @classmethod
    def measure(cls, config, problem) -> tuple:
        """(metrics identical on every rank, the profile on rank 0 or None)."""
        from fem_sse.transport.metrics1d import fem_metrics

        profile = cls.profile(problem)
        metrics = fem_metrics(config, profile) if problem.comm.rank == 0 else None
        return problem.comm.bcast(metrics, root=0), profile

    @staticmethod
    def mark_cap(opts, cells: int) -> None:
        """No cap on the marked cells: a split interval adds only the parts asked for."""
        return None

    @staticmethod
    def ionic_error(problem) -> tuple[None, None]:
        """No ionic error: in 1D the P1 w is exact at the nodes."""
        return None, None

    def refine(self, smesh, config, marked: np.ndarray, eta2: np.ndarray, degree: int):
        """The rebuilt interval mesh, each marked cell split by :func:`split_counts` (``eta2``:
        the squared indicators of the local cells, ``degree``: of W's space)."""
        splits = split_counts(eta2, marked, degree, smesh.mesh.comm)
        return self.refine_cells(smesh, config, marked, splits)


class Plane2D(geometry.Plane2D):
    """A triangle mesh of a 2D separator (building and refining it:
    :class:`fem_sse.geometry.discretisation.Plane2D`)."""

    banded = False
    current_fields = True  # current densities, cellwise (DG0 vectors)
    draws_maps = True

    @staticmethod
    def thin_extent(msh):
        """The cell size of the error indicator (UFL, m): the thin extent 2 |K| / diam(K) of a
        (possibly anisotropic) triangle."""
        import ufl

        return 2.0 * ufl.CellVolume(msh) / ufl.CellDiameter(msh)

    @staticmethod
    def layered_start(problem):
        """The default 2D guess: mu_Li0 (eV, at the dofs of ``problem.V``) of the exact 1D
        solution of the laterally averaged layer stack, column by column
        (:func:`fem_sse.transport.start2d.column_mu`); None when that has no solution."""
        if problem.layered_profile is None:
            return None
        from fem_sse.transport.start2d import column_mu

        return column_mu(problem, *problem.layered_profile)

    @staticmethod
    def exact_state(config, exact=None):
        """``exact`` as given: the 2D solves do not start from a 1D exact state here."""
        return exact

    @staticmethod
    def first_mesh(config, comm, exact, check: bool = True, max_dy: float | None = None,
                   cut_cracks: bool = False):
        """The Gmsh mesh (crack lines cut open with ``cut_cracks``, for the EAFE scheme), graded
        towards its singular junctions in adaptive runs, with the estimate of the error they
        leave (:func:`fem_sse.transport.junction_error.graded_first_mesh`; a fixed mesh,
        ``solver.adaptive = false``, is the user's choice); with
        ``check``, a stack beyond the W formulation's precision is refused before meshing
        (:func:`fem_sse.transport.precision2d.check_precision_2d`); ``max_dy`` is unused (no
        exact points in 2D)."""
        from fem_sse.geometry import build_mesh
        from fem_sse.transport.junction_error import graded_first_mesh

        if check:
            from fem_sse.transport.precision2d import check_precision_2d

            check_precision_2d(config)
        smesh = build_mesh(config, comm, cut_cracks=cut_cracks)
        return graded_first_mesh(config, smesh) if config.solver.adaptive else smesh

    @staticmethod
    def start(problem, exact) -> None:
        """Nothing: the problem's constructor set its default initial guess."""

    @staticmethod
    def restart(problem, exact) -> None:
        """The default initial guess (:meth:`TransportProblem.initial_guess`)."""
        problem.initial_guess()

    @staticmethod
    def explain_failure(exc, config) -> None:
        """Add to a ConvergenceError's diagnosis whether the case is near the W formulation's
        precision limit (:func:`fem_sse.transport.precision2d.explain_failure_2d`)."""
        from fem_sse.transport.precision2d import explain_failure_2d

        explain_failure_2d(exc, config)

    @staticmethod
    def check_solution(problem, result) -> None:
        """Check that the state a solve stopped on is a solution: t_Li in [0, 1] and the
        currents at cathode and anode balance, the total and the electronic current alone
        (:func:`fem_sse.transport.certify2d.balance_problems`; a Newton iteration that
        stagnates far from the solution was seen to stop with a residual of 575 and an
        electronic current 3.6e6 times larger at the anode than at the cathode).

        Raises:
            ConvergenceError: when the check fails.
        """
        from fem_sse.transport.certificate import unbalanced
        from fem_sse.transport.certify2d import balance_problems, current_balance

        balance = current_balance(problem)
        problems = balance_problems(result.t_li, balance)
        if problems:
            raise unbalanced("the solver", problems, balance)

    @staticmethod
    def measure(config, problem) -> tuple:
        """(metrics identical on every rank, no profile)."""
        from fem_sse.transport.metrics2d import fem_metrics_2d

        return fem_metrics_2d(problem), None

    @staticmethod
    def mark_cap(opts, cells: int) -> int:
        """A refined triangle becomes 4, and the closure splits about as many neighbours: at
        most (max_cells - cells) / 6 marked cells."""
        return max(1, (opts.max_cells - cells) // 6)

    @staticmethod
    def ionic_error(problem) -> tuple[np.ndarray, float]:
        """(squared indicators of the ionic field w per owned cell, the estimated relative
        error of the ionic conductance): :func:`fem_sse.transport.ionic_error.
        ionic_indicators`."""
        from fem_sse.transport.ionic_error import ionic_indicators

        return ionic_indicators(problem)

    def refine(self, smesh, config, marked: np.ndarray, eta2=None, degree: int = 1):
        """Plaza refinement of the marked cells, carrying the tags (the indicators are not
        needed: a marked triangle is split once)."""
        return self.refine_cells(smesh, config, marked)


_BY_DIMENSION = {1: Line1D, 2: Plane2D}


def for_dimension(dim: int):
    """The discretisation of a ``dim``-dimensional mesh (a config's ``dim``, a topology's)."""
    return _BY_DIMENSION[dim]()


def discretisation_for(mesh):
    """The discretisation of ``mesh`` (a DOLFINx mesh): :class:`Line1D` or :class:`Plane2D`."""
    return for_dimension(mesh.topology.dim)
