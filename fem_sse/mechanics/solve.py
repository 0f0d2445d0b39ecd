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
from fem_sse.chemical_strain import MECHANICAL_PRESETS
from fem_sse.mechanics.elasticity import ElasticProblem, SolveReport
from fem_sse.mechanics.post import (
    electrode_distance,
    facet_tractions,
    global_peak,
    invariants,
    traction_groups,
)
from fem_sse.mechanics_spec import DEFAULT_BC, ROLLER_COMPONENT, MechanicsSpec

__all__ = ["MechanicsResult", "default_spec", "solve_mechanics"]

log = logging.getLogger(__name__)

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
            hydrostatic [Pa], crack_risk [-], region_id [-] (the cell tag), principal_direction
            [-] (2D), stress [Pa] (the four components sxx, syy, sxy, szz).
        summary: scalars, identical on every rank (see :func:`solve_mechanics`).
        report: the linear solve (DOFs, iterations, times).
    """

    smesh: object
    displacement: fem.Function
    fields: dict[str, fem.Function]
    summary: dict
    report: SolveReport
    spec: MechanicsSpec = field(default_factory=MechanicsSpec)


def default_spec(config) -> MechanicsSpec:
    """The config's ``[mechanics]`` table, or the defaults with the default material data."""
    if config.mechanics is not None:
        return config.mechanics
    bc = dict(DEFAULT_BC) if config.dim == 2 else {k: DEFAULT_BC[k] for k in ("cathode", "anode")}
    return MechanicsSpec(model="plane_strain" if config.dim == 2 else "film", bc=bc,
                         materials={m: MECHANICAL_PRESETS["default"] for m in config.materials})


def _cell_materials(smesh, Q0) -> np.ndarray:
    """Material name of every local cell (owned and ghost), from the region tags."""
    tags = smesh.cell_tags
    imap = smesh.mesh.topology.index_map(smesh.mesh.topology.dim)
    names = np.full(imap.size_local + imap.num_ghosts, "", dtype=object)
    names[tags.indices] = [smesh.regions[int(t)].material for t in tags.values]
    return names


def _dg(mesh, degree: int, shape=None, name: str = ""):
    element = ("DG", degree) if shape is None else ("DG", degree, shape)
    return fem.Function(fem.functionspace(mesh, element), name=name)


def _interpolate(target: fem.Function, expr) -> None:
    V = target.function_space
    target.interpolate(fem.Expression(expr, compat.interpolation_points(V)))


def solve_mechanics(smesh, mu: fem.Function, config, comm=None,
                    spec: MechanicsSpec | None = None) -> MechanicsResult:
    """Elastic response of the separator to the Li0(SE) eigenstrain of a mu_Li0 field.

    Args:
        smesh: the :class:`~fem_sse.geometry.SeparatorMesh` (1D or 2D).
        mu: mu_Li0 (eV), any scalar function on ``smesh.mesh`` (DG or CG).
        config: the configuration (materials, kT, geometry).
        comm: communicator (default: the mesh's); must be the mesh's.
        spec: mechanics options; default ``config.mechanics`` (else the defaults).

    Returns:
        :class:`MechanicsResult`. Its summary has max_von_mises, max_principal, min_principal,
        max_hydrostatic, min_hydrostatic (Pa), their locations (m) and, for the von Mises and
        principal peaks, the distance to the nearest electrode (m), crack_risk_index (-),
        crack_risk_location (m, the point), crack_risk_distance_to_electrode (m),
        crack_risk_nearest_electrode,
        max_displacement (m), tractions (per gb/pb/interface group, Pa), dofs, solver,
        ksp_iterations, assemble_time_s, solve_time_s, mechanics_wall_time_s.
    """
    start = time.perf_counter()
    spec = spec or default_spec(config)
    msh = smesh.mesh
    comm = comm or msh.comm
    degree = spec.degree
    kT = config.cell.kT  # noqa: N806
    Q0 = fem.functionspace(msh, ("DG", 0))
    names = _cell_materials(smesh, Q0)
    E, nu, strength = (fem.Function(Q0, name=n) for n in ("E [Pa]", "nu [-]", "strength [Pa]"))
    mu_e = _dg(msh, degree, name="mu_Li0 [eV]")
    mu_e.interpolate(mu)
    estar = _dg(msh, degree, name="eigenstrain [-]")
    dofs0 = Q0.dofmap.list[:, 0]
    dofs_e = estar.function_space.dofmap.list
    for name in sorted(set(names) - {""}):
        mech, transport = spec.materials[name], config.materials[name]
        cells = np.flatnonzero(names == name)
        E.x.array[dofs0[cells]] = mech.E
        nu.x.array[dofs0[cells]] = mech.nu
        strength.x.array[dofs0[cells]] = mech.strength
        d = dofs_e[cells].ravel()
        estar.x.array[d] = mech.eigenstrain(mu_e.x.array[d], transport, kT, spec.mu_ref)
    region = fem.Function(Q0, name="region_id [-]")
    region.x.array[dofs0[smesh.cell_tags.indices]] = smesh.cell_tags.values
    for f in (E, nu, strength, estar, region):
        f.x.scatter_forward()

    problem = ElasticProblem(
        msh, smesh.facet_tags, smesh.facet_groups, E, nu, estar, model=spec.model,
        degree=degree, bc=spec.bc, stack_pressure=spec.stack_pressure,
        roller_component=ROLLER_COMPONENT, solver=spec.solver,
        direct_max_dofs=spec.direct_max_dofs, petsc_options=spec.petsc_options)
    report = problem.solve()

    stress = _dg(msh, degree, (4,), "stress [Pa]")
    _interpolate(stress, ufl.as_vector(problem.stress()))
    values = stress.x.array.reshape(-1, 4)
    inv = invariants(values)
    fields = {"mu_Li0 [eV]": mu_e, "eigenstrain [-]": estar, "stress [Pa]": stress}
    for label, key in SCALAR_FIELDS:
        f = _dg(msh, degree, name=label)
        f.x.array[:] = inv[key]
        fields[label] = f
    risk = _dg(msh, degree, name="crack_risk [-]")
    risk.interpolate(strength)
    risk.x.array[:] = inv["max_principal"] / risk.x.array
    fields["crack_risk [-]"] = risk
    region_id = _dg(msh, degree, name="region_id [-]")
    region_id.interpolate(region)
    fields["region_id [-]"] = region_id
    if msh.geometry.dim == 2:
        direction = _dg(msh, degree, (2,), "principal_direction [-]")
        direction.x.array[:] = np.column_stack([np.cos(inv["theta_1"]),
                                                np.sin(inv["theta_1"])]).ravel()
        fields["principal_direction [-]"] = direction

    owned = risk.function_space.dofmap.index_map.size_local
    points = risk.function_space.tabulate_dof_coordinates()[:owned]
    peak = {key: global_peak(sign * inv[key][:owned], points, comm)
            for key, sign in (("von_mises", 1), ("max_principal", 1), ("min_principal", -1),
                              ("hydrostatic", 1))}
    index, where = global_peak(risk.x.array[:owned], points, comm)

    def to_electrode(point):  # (distance (m), name) of the nearest electrode
        return electrode_distance(msh, smesh.facet_tags, smesh.facet_groups, point, comm)

    distance, electrode = to_electrode(where)
    gdim = msh.geometry.dim
    u_max = comm.allreduce(float(np.max(np.linalg.norm(
        problem.u.x.array.reshape(-1, gdim), axis=1), initial=0.0)), op=MPI.MAX)
    tractions = {group: facet_tractions(msh, smesh.facet_tags, smesh.facet_groups[group], stress)
                 for group in traction_groups(smesh.facet_groups)}
    summary = {
        "model": spec.model, "max_von_mises": peak["von_mises"][0],
        "max_von_mises_location": peak["von_mises"][1][:gdim].tolist(),
        "max_von_mises_distance_to_electrode": to_electrode(peak["von_mises"][1])[0],
        "max_principal": peak["max_principal"][0],
        "max_principal_location": peak["max_principal"][1][:gdim].tolist(),
        "max_principal_distance_to_electrode": to_electrode(peak["max_principal"][1])[0],
        "min_principal": -peak["min_principal"][0],
        "max_hydrostatic": peak["hydrostatic"][0],
        "crack_risk_index": index, "crack_risk_location": where[:gdim].tolist(),
        "crack_risk_distance_to_electrode": distance,
        "crack_risk_nearest_electrode": electrode,
        "max_displacement": u_max, "tractions": tractions,
        "dofs": report.dofs, "solver": report.solver, "ksp_iterations": report.iterations,
        "assemble_time_s": report.assemble_time_s, "solve_time_s": report.solve_time_s,
        "mechanics_wall_time_s": time.perf_counter() - start,
    }
    log.info("mechanics: %d DOFs, %s, %d iterations, max von Mises %.4g Pa, crack risk %.3g",
             report.dofs, report.solver, report.iterations, summary["max_von_mises"], index)
    return MechanicsResult(smesh, problem.u, fields, summary, report, spec)

