"""The EAFE edge current and the P1 edge coefficients (NumPy only): the flux of the
exponentially fitted scheme of :mod:`fem_sse.transport.eafe`, on any simplex.

Along a cell edge from node i to node j, with y = (mu - B)/kT at the nodes and
d = Phi (w_j - w_i)/kT the ionic drop along it, the edge current (times the edge's length) is

    G_ij = kT A [Bern(d)(e^y_j + e^-y_i) - Bern(-d)(e^y_i + e^-y_j)],  Bern(z) = z / (e^z - 1)

(Xu & Zikatanov 1999, "edge-averaged finite elements"; in 1D the Scharfetter-Gummel flux);
a cell's node equations weight it by c_ij = -K_ij, K the P1 stiffness matrix of the cell.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bernoulli", "edge_current", "log_bernoulli", "p1_edge_coefficients"]

_Y_MAX = 700.0  # exponents are clipped here (e^709 overflows); only wild Newton trials get there


def log_bernoulli(z):
    """ln Bern(z), Bern(z) = z / (e^z - 1) (-), without overflow for any real z."""
    z = np.asarray(z, dtype=float)
    az = np.abs(z)
    small = az < 1e-4
    safe = np.where(small, 1.0, az)
    # z > 0: ln z - z - ln(1 - e^-z); z < 0: ln|z| - ln(1 - e^z)
    big = np.log(safe) - np.log(-np.expm1(-safe)) - np.where(z > 0.0, safe, 0.0)
    series = -0.5 * z + z * z / 24.0  # ln(1 - z/2 + z^2/12) to O(z^4)
    return np.where(small, series, big)


def bernoulli(z):
    """Bern(z) = z / (e^z - 1) (-)."""
    return np.exp(log_bernoulli(z))


def _d_log_bernoulli(z):
    """d ln Bern / dz = 1/z - e^z/(e^z - 1) = (1 - Bern(z))/z - 1 (-)."""
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 1e-4
    safe = np.where(small, 1.0, z)
    return np.where(small, -0.5 + z / 12.0, (1.0 - bernoulli(safe)) / safe - 1.0)


def edge_current(y_i, y_j, d, A, kT):  # noqa: N803
    """EAFE edge current G_ij (A/m times the edge length in 1D: A) and its derivatives.

    Args:
        y_i, y_j: (mu - B)/kT at the edge's nodes (-), in the cell's material.
        d: (eta_i(j) - eta_i(i))/kT along the edge (-).
        A: the material's prefactor (S/m).
        kT: thermal energy (eV).

    Returns:
        (G, dG/dy_i, dG/dy_j, dG/dd, S): S is the sum of the magnitudes of the four terms
        (the scale of G's round-off).
    """
    lb_p, lb_m = log_bernoulli(d), log_bernoulli(-d)

    def term(lb, y):
        return np.exp(np.clip(lb + y, -_Y_MAX, _Y_MAX))

    t1, t2 = term(lb_p, y_j), term(lb_p, -y_i)  # Bern(d) e^y_j, Bern(d) e^-y_i
    t3, t4 = term(lb_m, y_i), term(lb_m, -y_j)  # Bern(-d) e^y_i, Bern(-d) e^-y_j
    scale = kT * A
    g = scale * ((t1 + t2) - (t3 + t4))
    dg_dyi = -scale * (t2 + t3)
    dg_dyj = scale * (t1 + t4)
    dlb_p, dlb_m = _d_log_bernoulli(d), _d_log_bernoulli(-d)
    dg_dd = scale * (dlb_p * (t1 + t2) + dlb_m * (t3 + t4))
    return g, dg_dyi, dg_dyj, dg_dd, scale * (t1 + t2 + t3 + t4)


def p1_edge_coefficients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per simplex cell (nodes x: (cells, k, 3) in m), the vertex pairs (a, b) of its edges and
    c_ab = -K_ab, K the P1 stiffness matrix (m^(dim-2)): 1/h for an interval."""
    k = x.shape[1]
    edges = np.array([(a, b) for a in range(k) for b in range(a + 1, k)])
    e = x[:, 1:, :] - x[:, :1, :]  # (cells, tdim, 3)
    gram = np.einsum("cik,cjk->cij", e, e)
    inv = np.linalg.inv(gram)
    grads = np.einsum("cij,cjk->cik", inv, e)  # gradients of barycentrics 1..tdim
    grads = np.concatenate([-grads.sum(axis=1, keepdims=True), grads], axis=1)
    tdim = k - 1
    volume = np.sqrt(np.linalg.det(gram)) / np.prod(np.arange(1, tdim + 1))
    stiff = volume[:, None, None] * np.einsum("cik,cjk->cij", grads, grads)
    return edges, -stiff[:, edges[:, 0], edges[:, 1]]
