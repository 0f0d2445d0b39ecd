"""What differs between the elasticity of a 1D film and of a 2D plane, in one object per
dimension (issue 15: :mod:`.elasticity`, :mod:`.post` and :mod:`.solve` ask a
:class:`FilmElasticity` or a :class:`PlaneElasticity` instead of branching on the dimension):

====================  ================================  ====================================
operation             FilmElasticity (interval mesh)    PlaneElasticity (triangles)
====================  ================================  ====================================
stress components     sigma_xx; sigma_yy = sigma_zz     sigma_xx, sigma_yy, sigma_xy,
                      (lateral), sigma_xy = 0           sigma_zz
strain energy         sigma_xx eps_xx                   sigma : eps (in plane)
rigid-body modes      the translation                   two translations and the rotation
a roller              clamps the point (one component)  fixes the component normal to it
traction samples      the facet point, weight 1         vertices and midpoint (Simpson)
front refinement      none (the film mechanics is a     refine and fit the mesh to the
                      closed form; a mesh stays as is)  eigenstrain fronts (prepare_mesh)
principal direction   not written                       a DG vector field
====================  ================================  ====================================

Only UFL and NumPy are imported here.
"""

from __future__ import annotations

import numpy as np
import ufl

__all__ = ["FilmElasticity", "PlaneElasticity", "for_mesh"]


class FilmElasticity:
    """A laterally constrained film on an interval mesh (uniaxial strain)."""

    #: a roller on a point fixes its only displacement component: it is a clamp
    roller_is_clamp = True
    #: the fronts of the eigenstrain are not refined or fitted
    fits_fronts = False
    #: no principal-direction field is written (sigma_xx is the only in-plane stress)
    principal_direction = False

    @staticmethod
    def components(sigma, szz, eps) -> tuple:
        """UFL (sigma_xx, sigma_yy, sigma_xy, sigma_zz) of the 1x1 stress ``sigma``: the
        lateral stresses are both ``szz``, no shear."""
        return sigma[0, 0], szz, 0.0 * ufl.tr(eps), szz

    @staticmethod
    def energy_density(sxx, syy, sxy, eps_v):
        """sigma : eps(v) (UFL) of the bilinear form."""
        return sxx * eps_v[0, 0]

    @staticmethod
    def rotations(x: np.ndarray) -> list[np.ndarray]:
        """No rotation of a line (``x``: centred dof coordinates)."""
        return []

    @staticmethod
    def facet_samples(coords: np.ndarray, count: int):
        """(points (n, 1, 3), weights (1,), unit normals (n, 2), lengths (n,) = 1) of the
        ``count`` facets (points) at ``coords`` (n, 1, 3)."""
        return coords, np.ones(1), np.tile([1.0, 0.0], (count, 1)), np.ones(count)


class PlaneElasticity:
    """Plane strain or plane stress on a triangle mesh."""

    roller_is_clamp = False
    fits_fronts = True
    principal_direction = True

    @staticmethod
    def components(sigma, szz, eps) -> tuple:
        """UFL (sigma_xx, sigma_yy, sigma_xy, sigma_zz) of the 2x2 stress ``sigma``."""
        return sigma[0, 0], sigma[1, 1], sigma[0, 1], szz

    @staticmethod
    def energy_density(sxx, syy, sxy, eps_v):
        """sigma : eps(v) (UFL) of the bilinear form."""
        return sxx * eps_v[0, 0] + syy * eps_v[1, 1] + 2.0 * sxy * eps_v[0, 1]

    @staticmethod
    def rotations(x: np.ndarray) -> list[np.ndarray]:
        """The in-plane rotation about the centroid (``x``: centred dof coordinates)."""
        return [np.column_stack([-x[:, 1], x[:, 0]])]

    @staticmethod
    def facet_samples(coords: np.ndarray, count: int):
        """(points (n, 3, 3): vertices and midpoint, Simpson weights (3,), left unit normals
        (n, 2), lengths (n,) (m)) of the ``count`` facets (segments) at ``coords`` (n, 2, 3)."""
        a, b = coords[:, 0], coords[:, 1]
        samples = np.stack([a, 0.5 * (a + b), b], axis=1)
        weights = np.array([1.0, 4.0, 1.0]) / 6.0
        tangent = (b - a)[:, :2]
        lengths = np.linalg.norm(tangent, axis=1)
        tangent = tangent / np.maximum(lengths, 1e-300)[:, None]
        return samples, weights, np.column_stack([-tangent[:, 1], tangent[:, 0]]), lengths


_BY_DIMENSION = {1: FilmElasticity, 2: PlaneElasticity}


def for_mesh(mesh):
    """The elasticity of ``mesh`` (a DOLFINx mesh; its geometric dimension, which is also its
    topological one for fem_sse's meshes)."""
    return _BY_DIMENSION[mesh.geometry.dim]()


def for_dimension(dim: int):
    """The elasticity of a ``dim``-dimensional case or mesh."""
    return _BY_DIMENSION[dim]()
