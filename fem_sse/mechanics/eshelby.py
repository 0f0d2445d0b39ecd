"""The Eshelby check of the elastic solve: a circular inclusion in a clamped disk (2D).

An inclusion of radius a with a uniform isotropic eigenstrain e* I in a disk of radius R
clamped on its rim, equal moduli, plane strain (the model's sigma = lambda tr(eps) I + 2 G eps -
3K e* I). The displacement is radial: u = A1 r inside, u = A2 r + B2 / r outside, with u(R) = 0,
u and sigma_rr continuous at r = a:

    B2 = 3K e* a^2 / (2 (lambda + 2G)),   A2 = -B2 / R^2,   A1 = A2 + B2 / a^2.

Inside, sigma_rr = sigma_tt = 2 (lambda + G) A1 - 3K e* and sigma_zz = 2 lambda A1 - 3K e*
(uniform); outside sigma_rr,tt = 2 (lambda + G) A2 -+ 2 G B2 / r^2, sigma_zz = 2 lambda A2.
Used by bench/mechanics_peaks.py and tests/test_mechanics_peaks.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fem_sse.records import MappingRecord

__all__ = ["EshelbyPeaks", "disk_mesh", "exact_peaks"]


@dataclass(frozen=True)
class EshelbyPeaks(MappingRecord):
    """The closed form's largest principal stress, the interior sigma_rr and sigma_zz and the
    largest von Mises stress (Pa), named as the mechanics summary's peaks (it also reads as a
    mapping of its fields)."""

    max_principal: float
    interior_sigma_rr: float
    interior_sigma_zz: float
    max_von_mises: float


def exact_peaks(E: float, nu: float, estar: float, a: float,  # noqa: N803
                R: float) -> EshelbyPeaks:  # noqa: N803
    """The :class:`EshelbyPeaks` of the closed form. E (Pa), nu (-), estar (-), a and R (m)."""
    lam = E * nu / ((1 + nu) * (1 - 2 * nu))
    G = E / (2 * (1 + nu))  # noqa: N806
    K3 = 3 * lam + 2 * G  # noqa: N806
    B2 = K3 * estar * a ** 2 / (2 * (lam + 2 * G))  # noqa: N806
    A2 = -B2 / R ** 2  # noqa: N806
    A1 = A2 + B2 / a ** 2  # noqa: N806
    s_in, z_in = 2 * (lam + G) * A1 - K3 * estar, 2 * lam * A1 - K3 * estar
    rr, tt, zz = (2 * (lam + G) * A2 - 2 * G * B2 / a ** 2,
                  2 * (lam + G) * A2 + 2 * G * B2 / a ** 2, 2 * lam * A2)
    vm_out = math.sqrt(0.5 * ((rr - tt) ** 2 + (tt - zz) ** 2 + (zz - rr) ** 2))
    top = max(s_in, z_in, rr, tt, zz)
    return EshelbyPeaks(top, s_in, z_in, max(abs(s_in - z_in), vm_out))


def disk_mesh(comm, h: float, a: float, R: float, materials=("inc", "mat")):  # noqa: N803
    """:class:`~fem_sse.geometry.SeparatorMesh` of the disk (Gmsh on rank 0, cell size h (m)):
    regions 1 (inclusion, material ``materials[0]``) and 2 (matrix), facet group "cathode" =
    the rim (give it ``bc = {cathode = "clamped"}``)."""
    import gmsh

    from fem_sse.compat import gmsh_model_to_mesh
    from fem_sse.geometry import SeparatorMesh
    from fem_sse.geometry.regions import Region

    if comm.rank == 0:
        gmsh.initialize()
        gmsh.option.setNumber("General.Terminal", 0)
        occ = gmsh.model.occ
        occ.fragment([(2, occ.addDisk(0, 0, 0, R, R))], [(2, occ.addDisk(0, 0, 0, a, a))])
        occ.synchronize()
        small, big = sorted(gmsh.model.getEntities(2), key=lambda e: occ.getMass(*e))
        gmsh.model.addPhysicalGroup(2, [small[1]], 1, "inclusion")
        gmsh.model.addPhysicalGroup(2, [big[1]], 2, "matrix")
        rim = [c for _, c in gmsh.model.getBoundary([big], oriented=False)
               if abs(occ.getMass(1, c) - 2 * math.pi * R) < 1e-3 * R]
        gmsh.model.addPhysicalGroup(1, rim, 1, "cathode")
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.model.mesh.generate(2)
    msh, cells, facets = gmsh_model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, 2)
    if comm.rank == 0:
        gmsh.finalize()
    regions = {1: Region("inclusion", -1, materials[0], 1.0, "custom"),
               2: Region("matrix", -1, materials[1], 1.0, "custom")}
    return SeparatorMesh(msh, cells, facets, regions, {"cathode": 1})
