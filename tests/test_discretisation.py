"""The discretisation objects, the jump rules and the gather helper (issue 15 item 3).

The adaptive loops that use them are checked end to end by tests/test_fem1d.py,
test_transport2d.py, test_eafe.py and test_eafe2d.py; these are the pieces on their own.
"""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from fem_sse.geometry import discretisation as geometry
from fem_sse.parallel import gather_arrays
from fem_sse.spec.config import parse_config
from fem_sse.transport.discretisation import Line1D, Plane2D, for_dimension
from fem_sse.transport.jumps import crosses, opposite_sides, touches, zero_point


def test_one_object_per_dimension():
    assert isinstance(for_dimension(1), Line1D) and isinstance(for_dimension(2), Plane2D)
    assert isinstance(for_dimension(1), geometry.Line1D)  # the geometry part is inherited
    assert for_dimension(1).banded and not for_dimension(2).banded
    assert for_dimension(2).axes == ("x", "y") and for_dimension(1).axes == ("x",)
    with pytest.raises(KeyError):
        for_dimension(3)


def test_marked_cell_cap():
    """2D: a refined triangle becomes 4 and its closure splits about as many neighbours, so at
    most (max_cells - cells) / 6 cells are marked (at least one); 1D: no cap."""
    opts = SimpleNamespace(max_cells=1000)
    assert Plane2D().mark_cap(opts, 400) == 100
    assert Plane2D().mark_cap(opts, 999) == 1
    assert Line1D().mark_cap(opts, 400) is None


def test_stack_sizes_of_the_line_mesh(bilayer_data):
    """The 1D line mesh takes the [mesh] table's bulk size (L/100 by default)."""
    config = parse_config(bilayer_data)
    h_bulk, strip_cells = geometry.for_dimension(1).stack_sizes(config, config.stack_1d())
    assert h_bulk == pytest.approx(config.thickness / 100.0, rel=1e-15)
    assert strip_cells == config.mesh.bottleneck_cells


def test_the_jump_rules():
    """crosses | touches is the 1D rule (a sign change, or W leaving or reaching zero from the
    positive side); crosses alone splits a triangle's edges in two; opposite_sides is strict."""
    for a, b in itertools.product((-2.0, 0.0, 3.0), repeat=2):
        rule_1d = (a < 0 and b >= 0) or (a > 0 and b <= 0) or (a == 0 and b != 0)
        assert bool(crosses(a, b) | touches(a, b)) == rule_1d, (a, b)
        assert bool(crosses(a, b)) == ((a >= 0) != (b >= 0)), (a, b)
        assert bool(opposite_sides(a, b)) == (a * b < 0), (a, b)
    # a level line cuts a triangle's edges twice or not at all, also through a vertex W = 0
    for w in itertools.product((-1.0, 0.0, 1.0), repeat=3):
        cut = sum(bool(crosses(w[i], w[j])) for i, j in ((0, 1), (1, 2), (2, 0)))
        assert cut in (0, 2), w
    assert zero_point(1.0, 3.0, -1.0, 3.0) == pytest.approx(1.5, rel=1e-15)
    assert opposite_sides(np.array([1e-200, -1e-200]), -1e-200).tolist() == [True, False]


def test_gather_arrays_in_rank_order(comm):
    rows = gather_arrays(comm, np.full(comm.rank + 1, comm.rank), np.zeros((comm.rank, 2)))
    if comm.rank != 0:
        assert rows is None
        return
    ranks, empty = rows
    assert ranks.tolist() == [r for r in range(comm.size) for _ in range(r + 1)]
    assert empty.shape == (sum(range(comm.size)), 2)
