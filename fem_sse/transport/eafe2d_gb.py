"""Starting the 2D EAFE solve on a mesh with GB interfaces (issue 16).

Two things help where a GB interface carries a large jump of eta_i (and so of mu):

* :func:`gb_start_state`: the exact 1D state to map the start from includes the GBs' ionic
  resistance (:func:`start_state` maps it, with the Phi it implies);
* :func:`conductance_continuation`: where Newton, the continuation in Phi and the
  pseudo-transient continuation all fail from that start, the GB conductance g is continued
  from a value with small jumps (CONTINUATION_START times g) down to g, each step started
  from the last state with its eta_e kept (eta_e is continuous across a GB; the ionic field
  w is solved again for each g).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from fem_sse.errors import ConvergenceError, SolveError
from fem_sse.failures import Diagnosis
from fem_sse.transport.eafe2d import EafeProblem2D, column_start
from fem_sse.transport.exact1d import solve_exact

__all__ = ["CONTINUATION_START", "averaged_state", "conductance_continuation", "gb_start_state",
           "start_state"]

log = logging.getLogger(__name__)

#: the continuation in g starts at this multiple of g (jumps 1/100 of the problem's)
CONTINUATION_START = 100.0
_SMALLEST_STEP = math.log(1.01)  # in ln(g)


def averaged_state(config):
    """The exact state of the laterally averaged stack, the 2D solve's start (None when that
    stack has no steady state: the 2D geometry may still have one)."""
    try:
        return solve_exact(config.stack_1d())
    except SolveError:
        return None


def gb_start_state(problem: EafeProblem2D, sol):
    """The exact 1D state to start from on a mesh with GB interfaces: the laterally averaged
    stack with the GBs' resistance added to its layers of grains, so that its ionic resistance
    is the mesh's (area / G, Ohm m^2); ``sol`` itself without GB interfaces or when that stack
    has no steady state.

    Why: the start maps eta_e = mu - eta_i of the 1D state and adds this mesh's eta_i. Without
    the GBs, the 1D state's eta_i misses their drop (a transverse GB carrying 0.2 V of a
    0.21 V ionic drop: 96 % of it), so near the cathode the start's mu was 0.2 eV off, inside
    the electrode's boundary layer, and Newton, the continuation in Phi and the pseudo-transient
    continuation all failed from it (bench/gb_transverse.py; the exact interface state maps to
    a residual of 2e-5 V on the same mesh)."""
    if problem.w_dg is None or sol is None:
        return sol
    config = problem.config
    stack = config.stack_1d()
    extra = problem.area / problem.conductance - math.fsum(
        layer.thickness / stack.layer_material(k).sigma_li for k, layer in enumerate(stack.layers))
    if extra <= 0.0:
        return sol
    grains = config.geometry2d.grains
    grained = [k for k, spec in enumerate(grains) if spec is not None and spec.count > 1]
    grained = grained or list(range(len(stack.layers)))  # a user mesh: GBs anywhere
    total = math.fsum(stack.layers[k].thickness for k in grained)
    materials, layers = dict(stack.materials), list(stack.layers)
    for k in grained:
        material, length = stack.layer_material(k), layers[k].thickness
        name = f"{layers[k].material}@gb_layer{k}"
        materials[name] = material.with_sigma_li(
            length / (length / material.sigma_li + extra * length / total))
        layers[k] = dataclasses.replace(layers[k], material=name)
    try:
        return solve_exact(dataclasses.replace(stack, materials=materials, layers=tuple(layers)))
    except (SolveError, ConvergenceError):
        return sol


def start_state(problem: EafeProblem2D, sol, start=None, phi=None):
    """(mu (eV) at the local nodes, Phi (V)): ``start`` and ``phi`` where given; else the
    column-mapped state of :func:`gb_start_state` and, galvanostatic, the Phi that drives its
    ionic current through this mesh's conductance (potentiostatic: the applied drop)."""
    cell = problem.config.cell
    sol = gb_start_state(problem, sol)
    if phi is None or not cell.galvanostatic:
        share = float(sol.t_li) if sol is not None else 1.0
        phi = (cell.ionic_potential_drop if not cell.galvanostatic else
               share * cell.current_density * problem.area / problem.conductance)
    return (column_start(problem, sol, phi) if start is None else start), phi


def conductance_continuation(problem: EafeProblem2D, sol, current, solve_from):
    """(mu, Phi, Newton iterations) at the problem's GB conductance g, by continuation in g
    from CONTINUATION_START g (module docstring); ``solve_from(mu, phi)`` is the solve of one
    g from a start (Newton and its fallbacks), ``current`` the applied current (A/m^2, None
    when potentiostatic). Steps in ln(g) grow by 1.5 on success and halve on failure.

    Raises:
        ConvergenceError: the first g fails, or a step below 1 % of g fails.
    """
    from fem_sse.transport.eafe_newton import newton

    target = problem.config.geometry2d.grain_boundaries.conductance
    level = math.log(CONTINUATION_START)
    problem.set_gb_conductance(target * math.exp(level))
    mu, phi, iterations = solve_from(*start_state(problem, sol))
    step = math.log(4.0)
    while level > 0.0:
        trial = max(0.0, level - step)
        eta_e = mu - phi * problem.w.x.array  # continuous across GBs: kept
        problem.set_gb_conductance(target * math.exp(trial))
        guess = np.where(problem.fixed, problem.mu_fixed, eta_e + phi * problem.w.x.array)
        try:
            mu_t, phi_t, its = newton(problem, guess, phi, current, relax=True, natural=True)
        except ConvergenceError:
            problem.set_gb_conductance(target * math.exp(level))
            step *= 0.5
            if step < _SMALLEST_STEP:
                raise ConvergenceError("EAFE continuation in the GB conductance stalled",
                                       Diagnosis(stage="GB conductance continuation",
                                                 conductance_reached_S_per_m2=target
                                                 * math.exp(level))) from None
            continue
        mu, phi, level, step = mu_t, phi_t, trial, step * 1.5
        iterations += its
        log.debug("EAFE 2D: GB conductance %.4g S/m^2 reached", target * math.exp(level))
    return mu, phi, iterations
