"""A failed solve's diagnosis record (no DOLFINx): its keys, their order, unknown fields."""

import json
import pickle

import pytest

from fem_sse.errors import ConvergenceError
from fem_sse.failures import Diagnosis
from fem_sse.transport.certificate import ExactCheck, ExactDifferences
from fem_sse.transport.diagnosis import ResidualPeak


def test_keys_in_the_order_the_layers_set_them():
    """The raiser's fields first (in its order, not the class's), then each layer's; a field
    set twice keeps its place; a field never set is not written."""
    inner = Diagnosis(residuals=[1.0, 0.5], iterations=2)
    attempt = Diagnosis(stage="continuation in the drift strength").merged(inner)
    failed = Diagnosis(phi_V=0.01, attempts=[attempt], good_state=False, stage="x")
    failed.update(stage="Newton", refinement_step=0)
    failed.residual_peak = ResidualPeak(1e-6, 0.01, "layer_0", "llzo", 3.0, {"layer_0": 1.0})
    assert failed.to_summary() == {
        "phi_V": 0.01,
        "attempts": [{"stage": "continuation in the drift strength", "residuals": [1.0, 0.5],
                      "iterations": 2}],
        "good_state": False, "stage": "Newton", "refinement_step": 0,
        "residual_peak": {"x_m": 1e-6, "x_over_L": 0.01, "region": "layer_0",
                          "material": "llzo", "residual_norm": 3.0,
                          "share_by_region": {"layer_0": 1.0}}}
    assert list(failed.to_summary()) == ["phi_V", "attempts", "good_state", "stage",
                                         "refinement_step", "residual_peak"]
    assert json.loads(json.dumps(failed.to_summary())) == failed.to_summary()


def test_an_unknown_field_is_an_error():
    """A misspelt key fails where it is set, instead of landing in summary.json."""
    diagnosis = Diagnosis(stage="budget")
    with pytest.raises(AttributeError, match="stag"):
        diagnosis.stag = "budget"
    with pytest.raises(AttributeError, match="budget"):
        Diagnosis(budget=1.0)
    assert diagnosis.iterations is None and diagnosis.to_summary() == {"stage": "budget"}


def test_exact_check_is_its_own_block_and_copies_are_independent():
    """The exact check keeps its ``exact_check`` key; a copy (the run layer adds ``reason``
    to its copy) leaves the error's diagnosis as it was; an error pickles with it."""
    diff = ExactDifferences(0.1, 0.01, 0.0, 0.0, 1, 1)
    check = ExactCheck(0.1, 0.9, diff, diff, False)
    exc = ConvergenceError("differs", Diagnosis(stage="check", exact_check=check))
    assert exc.diagnosis.to_summary() == {"stage": "check", **check.to_summary()}
    copy = exc.diagnosis.copy()
    copy.reason = "why"
    assert exc.diagnosis.reason is None and list(copy.to_summary())[-1] == "reason"
    again = pickle.loads(pickle.dumps(exc))
    assert again.diagnosis.to_summary() == exc.diagnosis.to_summary()
    assert ConvergenceError("no diagnosis").diagnosis.to_summary() == {}
