"""The parameters of a transport problem and the state of its nonlinear solves (no DOLFINx).

:class:`TransportParameters` is what the continuations vary: Phi, the drift strength and how
far the electrode window is opened. A problem takes a new record through
``set_parameters``; nothing else writes its constants. :class:`SolveState` is what the solves
know beyond the unknowns (a scaling chosen, a Phi to start from, the last converged state),
stated explicitly instead of encoded in sentinel values of the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SolveState", "TransportParameters", "window_potentials"]


@dataclass(frozen=True)
class TransportParameters:
    """Parameters of one nonlinear solve.

    Attributes:
        phi_V: ionic potential drop Phi (V): eta_i = Phi w.
        drift: strength of the drift term (continuation parameter; 1 is the problem).
        window: fraction of the electrode window opened about its midpoint (continuation
            parameter; 1 is the configured mu_cathode, mu_anode).
    """

    phi_V: float = 0.0  # noqa: N815
    drift: float = 1.0
    window: float = 1.0


def window_potentials(window: float, mu_cathode: float, mu_anode: float) -> tuple[float, float]:
    """Electrode potentials (eV) with the window opened to the fraction ``window`` about its
    midpoint; the configured ones exactly at 1."""
    if window == 1.0:
        return mu_cathode, mu_anode
    mid = 0.5 * (mu_cathode + mu_anode)
    return mid + window * (mu_cathode - mid), mid + window * (mu_anode - mid)


@dataclass
class SolveState:
    """What the nonlinear solves of one problem know besides its unknowns.

    Attributes:
        scaled: a scaling W = w_scale omega was chosen (by a start or a solve); otherwise the
            first solve chooses it from the applied current and takes the initial guess.
        phi_known: Phi of the parameters is a start value (set by a start or a solve);
            otherwise galvanostatic operation starts from an all-ionic current.
        converged_phi: Phi (V) of the last converged state (a continuation start), or None.
        last_converged: (Phi (V), omega) of the last converged solve on this mesh, or None.
        reference_norm: the residual scale of this mesh and scaling (Newton's round-off
            floor), or None until the next Newton sets it.
    """

    scaled: bool = False
    phi_known: bool = False
    converged_phi: float | None = None
    last_converged: tuple[float, np.ndarray] | None = None
    reference_norm: float | None = None
