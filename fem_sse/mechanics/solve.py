"""One-way coupling: a converged mu_Li0 field -> eigenstrain -> elasticity -> stresses and risk.

Takes the mu_Li0 *field* (a DOLFINx function, eV), the :class:`~fem_sse.geometry.SeparatorMesh`
(regions and facet groups) and the configuration; never the transport object.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from fem_sse import compat
from fem_sse.mechanics.average import flaw_average_risk
from fem_sse.mechanics.discretisation import for_dimension, for_mesh
from fem_sse.mechanics.elasticity import ElasticProblem, SolveReport
from fem_sse.mechanics.eigenstrain import cell_materials, mu_at, project_eigenstrain
from fem_sse.mechanics.post import (
    electrode_distances,
    facet_tractions,
    global_peak,
    invariants,
    traction_groups,
)
from fem_sse.mechanics.reference import reference_summary
from fem_sse.mechanics.results import PlaneSummary
from fem_sse.spec.mechanics import ROLLER_COMPONENT, MechanicsSpec, default_mechanics

__all__ = ["MechanicsResult", "default_spec", "prepare_mesh", "solve_mechanics"]

log = logging.getLogger(__name__)

#: Leave this many rings of neighbours (a shared vertex) around the cut cells out of the peaks
#: too. A cut cell's mixed eigenstrain acts on the rest like a force dipole, whose stress decays
#: only as (h/r)^2: with one ring, a sharp straight front on isotropic meshes still gave peaks
#: up to 7 % above the film values next to the front, with two 2 % falling with h
#: (bench/mechanics_peaks.py, with the former Plaza-based fitting). The band is two cells wide,
#: so it vanishes under refinement. A mesh fitted by :mod:`.fit` has no cut cell; they remain
#: with ``fit_fronts = false`` (or where two materials' fronts cut one edge).
EXCLUDE_RINGS = 2

#: Scalar output fields (name in files, key of :func:`~fem_sse.mechanics.post.invariants`).
SCALAR_FIELDS = (("von_mises [Pa]", "von_mises"), ("max_principal [Pa]", "max_principal"),
                 ("sigma_1 [Pa]", "sigma_1"), ("sigma_2 [Pa]", "sigma_2"),
                 ("sigma_zz [Pa]", "sigma_zz"), ("hydrostatic [Pa]", "hydrostatic"))


@dataclass
class MechanicsResult:
    """Everything the elastic solve produced (functions live on the input mesh).

    Attributes:
        smesh: the separator mesh.
        displacement: u (m), vector Lagrange.
        fields: name (with unit) -> DG function: mu_Li0 [eV], eigenstrain [-], von_mises [Pa],
            max_principal [Pa], sigma_1/sigma_2 (in-plane principal) [Pa], sigma_zz [Pa],
            hydrostatic [Pa], crack_risk [-] (max principal / strength, cell values),
            crack_risk_flaw_average [-] (the flaw-size averaged max principal / strength, in
            DG1: its peak is ``crack_risk_index``), region_id [-] (the cell tag),
            principal_direction
            [-] (2D), stress [Pa] (the four components sxx, syy, sxy, szz).
        record: the scalars (:class:`~fem_sse.mechanics.results.PlaneSummary`), identical on
            every rank (see :func:`solve_mechanics`); :attr:`summary` is its summary.json block.
        report: the linear solve (DOFs, iterations, times).
    """

    smesh: object
    displacement: fem.Function
    fields: dict[str, fem.Function]
    record: PlaneSummary
    report: SolveReport
    spec: MechanicsSpec = field(default_factory=MechanicsSpec)

    @property
    def summary(self) -> dict:
        """The ``mechanics`` block of summary.json (:meth:`PlaneSummary.to_summary`)."""
        return self.record.to_summary()


def default_spec(config) -> MechanicsSpec:
    """The config's ``[mechanics]`` table, or the defaults with the default material data."""
    return config.mechanics if config.mechanics is not None else default_mechanics(config)


def _dg(mesh, degree: int, shape=None, name: str = ""):
    element = ("DG", degree) if shape is None else ("DG", degree, shape)
    return fem.Function(fem.functionspace(mesh, element), name=name)


def _interpolate(target: fem.Function, expr) -> None:
    V = target.function_space
    target.interpolate(fem.Expression(expr, compat.interpolation_points(V)))


def _level_field(mu, kirchhoff):
    """(DG1 level field, kind): W when given, else mu_Li0 in DG1 (exact for a P1/DG1 mu)."""
    if kirchhoff is not None:
        return kirchhoff, "kirchhoff"
    level = _dg(mu.function_space.mesh, 1, name="mu_Li0 [eV]")
    level.interpolate(mu)
    return level, "mu"


def prepare_mesh(smesh, level, kind: str, config, spec):
    """The mesh of the elastic solve (2D) and the level on it: the level made continuous per
    material (:func:`~fem_sse.mechanics.fit.continuous_level`), ``spec.refine_fronts`` rounds
    of refinement where the eigenstrain changes across a cell, then (``spec.fit_fronts``) the
    cells the strain-law fronts cross split along them. All run on the canonical serial copy
    of the mesh (:mod:`.canonical`), so the result depends on the mesh's geometry only, not on
    the ranks or the partition. Returns (smesh, level on it, rounds, edges cut + vertices
    snapped)."""
    fits = for_dimension(smesh.mesh.topology.dim).fits_fronts
    if not fits or not (spec.refine_fronts or spec.fit_fronts):
        return smesh, level, 0, 0
    from fem_sse.mechanics.canonical import on_canonical_copy
    from fem_sse.mechanics.fit import continuous_level, fit_fronts
    from fem_sse.mechanics.fronts import refine_level
    from fem_sse.mechanics.smooth import level_recovery

    def work(serial, serial_level):
        serial_level = continuous_level(serial, serial_level)
        recover = level_recovery(serial, serial_level, kind, config, spec) if (
            spec.fit_fronts) else None
        if recover is not None:
            serial_level = recover(serial, serial_level)
        serial, serial_level, rounds = refine_level(serial, serial_level, kind, config, spec,
                                                    spec.refine_fronts, recover=recover)
        cut = 0
        if spec.fit_fronts:
            serial, serial_level, cut = fit_fronts(serial, serial_level, kind, config, spec)
        return serial, serial_level, rounds, cut

    return on_canonical_copy(smesh, level, work)


def _material_data(smesh, spec, Q0):  # noqa: N803
    """DG0 functions E (Pa), nu (-), strength (Pa), K_I factor Y sqrt(pi a) (m^0.5), K_IC
    (Pa m^0.5) and the region id."""
    names = cell_materials(smesh)
    dofs0 = Q0.dofmap.list[:, 0]
    labels = ("E [Pa]", "nu [-]", "strength [Pa]", "flaw factor [m^0.5]", "K_IC [Pa m^0.5]")
    funcs = [fem.Function(Q0, name=n) for n in labels]
    for name in sorted(set(names) - {""}):
        mech = spec.materials[name]
        cells = np.flatnonzero(names == name)
        for f, value in zip(funcs, (mech.E, mech.nu, mech.strength, mech.flaw_factor,
                                    mech.fracture_toughness), strict=True):
            f.x.array[dofs0[cells]] = value
    region = fem.Function(Q0, name="region_id [-]")
    region.x.array[dofs0[smesh.cell_tags.indices]] = smesh.cell_tags.values
    for f in (*funcs, region):
        f.x.scatter_forward()
    return (*funcs, region)


def solve_mechanics(smesh, mu: fem.Function | None, config, comm=None,
                    spec: MechanicsSpec | None = None,
                    kirchhoff: fem.Function | None = None) -> MechanicsResult:
    """Elastic response of the separator to the Li0(SE) eigenstrain of a mu_Li0 field.

    Args:
        smesh: the :class:`~fem_sse.geometry.SeparatorMesh` (1D or 2D).
        mu: mu_Li0 (eV), any scalar function on ``smesh.mesh`` (P1/DG1 are used exactly,
            others through their DG1 interpolant); ignored when ``kirchhoff`` is given.
        config: the configuration (materials, kT, geometry).
        comm: communicator (default: the mesh's); must be the mesh's.
        spec: mechanics options; default ``config.mechanics`` (else the defaults).
        kirchhoff: the transport's W (A/m) in DG1: mu = B + kT asinh(W / (2 A kT)) per
            material, exact inside every cell (the run's path).

    In 2D the elastic mesh is ``smesh`` refined ``spec.refine_fronts`` times at the fronts and
    fitted to them (:func:`prepare_mesh`); ``result.smesh`` is that mesh. The eigenstrain is
    the cell-wise L2 projection of e*(mu) (:mod:`.eigenstrain`), the stresses are taken in
    DG(p - 1), where they are exact for the displacement, and so are the peaks.

    Returns:
        :class:`MechanicsResult`. Its record (:class:`~fem_sse.mechanics.results.PlaneSummary`)
        has the cell peaks max_von_mises, max_principal,
        min_principal, max_hydrostatic (Pa; where the stress concentrates, not mesh-converged
        at corners of a front), their locations (m) and, for the von Mises and principal
        peaks, the distance to the nearest electrode (m); the flaw-size averaged peaks
        max_principal_flaw_average (and its location) and max_von_mises_flaw_average (Pa,
        :mod:`.average`) with flaw_average_length (m); from the averaged stress
        (``crack_risk_basis`` = "flaw_average"): crack_risk_index (-), crack_risk_location
        (m), crack_risk_distance_to_electrode / _to_cathode / _to_anode (m),
        crack_risk_nearest_electrode, fracture_risk_index (K_I / K_IC, -), its location and
        distances, max_stress_intensity (Pa m^0.5); crack_risk_index_local (the cell peak
        over the strength, -); stress_free_reference, front_refinements, fitted_edges, cells,
        max_displacement (m), tractions (per gb/pb/interface group, Pa), dofs, solver,
        ksp_iterations, assemble_time_s, solve_time_s, mechanics_wall_time_s.
        A location is the point with the smallest coordinates among those within
        :data:`~fem_sse.mechanics.post.PEAK_RTOL` of the peak (a plateau: where it starts).
    """
    start = time.perf_counter()
    spec = spec or default_spec(config)
    level, kind = _level_field(mu, kirchhoff)
    smesh, level, rounds, cut = prepare_mesh(smesh, level, kind, config, spec)
    msh = smesh.mesh
    comm = comm or msh.comm
    degree = spec.degree
    Q0 = fem.functionspace(msh, ("DG", 0))
    E, nu, strength, flaw, toughness, region = _material_data(smesh, spec, Q0)  # noqa: N806
    mu_e = _dg(msh, degree, name="mu_Li0 [eV]")
    mu_e.interpolate(level)
    if kind == "kirchhoff":
        d = mu_e.function_space.dofmap.list
        mu_e.x.array[d] = mu_at(mu_e.x.array[d], cell_materials(smesh)[:, None].repeat(
            d.shape[1], 1), config, kind)
    estar, cut_cells = project_eigenstrain(level, kind, smesh, config, spec, degree - 1)

    problem = ElasticProblem(
        msh, smesh.facet_tags, smesh.facet_groups, E, nu, estar, model=spec.model,
        degree=degree, bc=spec.bc, stack_pressure=spec.stack_pressure,
        roller_component=ROLLER_COMPONENT, solver=spec.solver,
        direct_max_dofs=spec.direct_max_dofs, petsc_options=spec.petsc_options)
    report = problem.solve()

    exact = _dg(msh, degree - 1, (4,), "stress [Pa]")  # sigma is exactly in DG(p - 1)
    _interpolate(exact, ufl.as_vector(problem.stress()))
    inv = invariants(exact.x.array.reshape(-1, 4))
    local_risk = _dg(msh, degree - 1)
    local_risk.interpolate(strength)
    local_risk.x.array[:] = inv.max_principal / local_risk.x.array
    averaged, risk = flaw_average_risk(smesh, exact, spec, strength, flaw, toughness)

    fields = _output_fields(msh, degree, mu_e, estar, exact, inv, local_risk, region)
    fields["crack_risk_flaw_average [-]"] = _dg(msh, degree, name="crack_risk_flaw_average [-]")
    fields["crack_risk_flaw_average [-]"].interpolate(risk)
    keep = _uncut_dofs(local_risk.function_space, cut_cells)
    points = local_risk.function_space.tabulate_dof_coordinates()[keep]
    von_mises, principal, lowest, hydrostatic = (
        global_peak(values[keep], points, comm)
        for values in (inv.von_mises, inv.max_principal, -inv.min_principal, inv.hydrostatic))
    local_index, _ = global_peak(local_risk.x.array[keep], points, comm)
    index, where = averaged.crack_risk_index
    f_index, f_where = averaged.fracture_risk_index

    def to_electrodes(point):  # {electrode: distance (m)}
        return electrode_distances(msh, smesh.facet_tags, smesh.facet_groups, point, comm)

    def nearest(point):
        return min((d, name) for name, d in to_electrodes(point).items())

    distance, electrode = nearest(where)
    gdim = msh.geometry.dim
    u_max = comm.allreduce(float(np.max(np.linalg.norm(
        problem.u.x.array.reshape(-1, gdim), axis=1), initial=0.0)), op=MPI.MAX)
    stress = fields["stress [Pa]"]
    tractions = {group: facet_tractions(msh, smesh.facet_tags, smesh.facet_groups[group], stress)
                 for group in traction_groups(smesh.facet_groups)}
    summary = PlaneSummary(
        model=spec.model, max_von_mises=von_mises[0],
        max_von_mises_location=von_mises[1][:gdim].tolist(),
        max_von_mises_distance_to_electrode=nearest(von_mises[1])[0],
        max_principal=principal[0],
        max_principal_location=principal[1][:gdim].tolist(),
        max_principal_distance_to_electrode=nearest(principal[1])[0],
        min_principal=-lowest[0],
        max_hydrostatic=hydrostatic[0],
        crack_risk_index=index, crack_risk_location=where[:gdim].tolist(),
        crack_risk_distance_to_electrode=distance,
        crack_risk_nearest_electrode=electrode,
        crack_risk_distances=to_electrodes(where),
        crack_risk_basis="flaw_average", crack_risk_index_local=local_index,
        max_stress_intensity=averaged.max_stress_intensity[0],
        fracture_risk_index=f_index, fracture_risk_location=f_where[:gdim].tolist(),
        fracture_risk_distances=to_electrodes(f_where),
        max_principal_flaw_average=averaged.max_principal_flaw_average[0],
        max_von_mises_flaw_average=averaged.max_von_mises_flaw_average[0],
        max_principal_flaw_average_location=(
            averaged.max_principal_flaw_average[1][:gdim].tolist()),
        flaw_average_length=averaged.flaw_average_length,
        stress_free_reference=reference_summary(config, spec),
        eigenstrain=f"cell-wise L2 projection onto DG{degree - 1}",
        front_refinements=rounds, fitted_edges=cut,
        cut_cells=comm.allreduce(int(cut_cells[:msh.topology.index_map(
            msh.topology.dim).size_local].sum()), MPI.SUM),
        cells=msh.topology.index_map(msh.topology.dim).size_global,
        max_displacement=u_max, tractions=tractions,
        dofs=report.dofs, solver=report.solver, ksp_iterations=report.iterations,
        assemble_time_s=report.assemble_time_s, solve_time_s=report.solve_time_s,
        mechanics_wall_time_s=time.perf_counter() - start)
    log.info("mechanics: %d DOFs, %s, %d iterations, max von Mises %.4g Pa, crack risk %.3g",
             report.dofs, report.solver, report.iterations, summary.max_von_mises, index)
    return MechanicsResult(smesh, problem.u, fields, summary, report, spec)


def _near_cut(msh, cut_cells: np.ndarray) -> np.ndarray:
    """Local cells that share a vertex with a cut cell (on any rank), the cut ones included."""
    from dolfinx.la import InsertMode

    P1 = fem.functionspace(msh, ("Lagrange", 1))  # noqa: N806
    num = len(cut_cells)
    dofs = P1.dofmap.list[:num]
    touched = fem.Function(P1)
    np.add.at(touched.x.array, dofs[cut_cells].ravel(), 1.0)
    touched.x.scatter_reverse(InsertMode.add)
    touched.x.scatter_forward()
    return np.any(touched.x.array[dofs] > 0.0, axis=1)


def _uncut_dofs(V, cut_cells: np.ndarray) -> np.ndarray:
    """Owned dofs of a DG space in cells that a front does not cut and that are more than
    :data:`EXCLUDE_RINGS` rings of cells away from a cut cell (the peak samples: the stress of
    a cut cell and near it mixes two sides)."""
    owned = V.dofmap.index_map.size_local
    bad = np.zeros(owned + V.dofmap.index_map.num_ghosts, dtype=bool)
    near = cut_cells
    for _ in range(EXCLUDE_RINGS):
        near = _near_cut(V.mesh, near)
    bad[V.dofmap.list[:len(cut_cells)][near].ravel()] = True
    return np.flatnonzero(~bad[:owned])


def _output_fields(msh, degree, mu_e, estar, exact, inv, risk, region) -> dict:
    """The file fields, all in DG(degree) (the stresses are exact there too)."""
    def lift(f, name, shape=None):
        out = _dg(msh, degree, shape, name)
        out.interpolate(f)
        return out

    fields = {"mu_Li0 [eV]": mu_e, "eigenstrain [-]": lift(estar, "eigenstrain [-]"),
              "stress [Pa]": lift(exact, "stress [Pa]", (4,))}
    low = _dg(msh, degree - 1)
    for label, key in SCALAR_FIELDS:
        low.x.array[:] = getattr(inv, key)
        fields[label] = lift(low, label)
    fields["crack_risk [-]"] = lift(risk, "crack_risk [-]")
    fields["region_id [-]"] = lift(region, "region_id [-]")
    if for_mesh(msh).principal_direction:
        direction = _dg(msh, degree - 1, (2,))
        direction.x.array[:] = np.column_stack([np.cos(inv.theta_1),
                                                np.sin(inv.theta_1)]).ravel()
        fields["principal_direction [-]"] = lift(direction, "principal_direction [-]", (2,))
    return fields
