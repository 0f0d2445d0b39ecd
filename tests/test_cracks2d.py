"""Crack lines in the 2D EAFE scheme (issue 16): the mesh cut open along each crack
(fem_sse/geometry/cracks.py), the ionic error estimator that makes the adaptive loop refine
around crack tips (fem_sse/transport/ionic_error.py), and the fallback of a default ``fem``
run that ends before its tolerance.

References, each independent of the EAFE code:
* a crack along x (the direction of the current) in a laterally uniform stack carries no
  current anyway: the result is the exact 1D solution's (1 - t_Li to 1e-4, the loop's
  tolerance; jumps to 1e-4 L);
* a crack across the current: the W formulation (which keeps the mesh whole and couples
  nothing across the crack's facets) on the same case, both converged to 1e-4: 1 - t_Li and
  Phi agree to 1e-3 (the two loops' tolerances, accumulated over a few steps each);
* P1 overestimates the ionic conductance by the energy error (Galerkin orthogonality): on
  nested meshes G falls step by step, and the estimate of its relative error falls with it.

Tests without the ``serial`` mark also run under ``mpirun -n 2``.
"""

import copy

import numpy as np
import pytest
from mpi4py import MPI

from conftest import bilayer_2d
from fem_sse.app.run import solve_case
from fem_sse.spec.config import parse_config

UM = 1e-6
BILAYER = {"name": "crack_bilayer", **bilayer_2d(kind="fem-eafe")}
# one crack inside (two tips), one from the side y = 0 (an edge crack, open there)
ACROSS = [{"start": [25 * UM, 0.5 * UM], "end": [25 * UM, 3.5 * UM]},
          {"start": [75 * UM, 0.0], "end": [75 * UM, 3 * UM]}]
EDGE = ACROSS[1:]


def _config(cracks, **solver):
    data = copy.deepcopy(BILAYER)
    data["geometry"]["cracks"] = cracks
    data["solver"].update(solver)
    return parse_config(data)


@pytest.mark.mpi
def test_cut_mesh_gives_each_lip_its_own_facets(comm):
    """Every crack facet lies on one cell only (a boundary), there are twice as many as in the
    whole mesh, the area is unchanged, and the nodes added are the crack's nodes less its
    tips (an inner crack: both ends sealed; an edge crack: one end)."""
    from dolfinx import fem
    import ufl

    from fem_sse.geometry import build_mesh

    config = _config(ACROSS)
    whole = build_mesh(config, comm)
    cut = build_mesh(config, comm, cut_cracks=True)

    def facets(smesh, name):
        msh = smesh.mesh
        msh.topology.create_connectivity(1, 2)
        f2c = msh.topology.connectivity(1, 2)
        owned = msh.topology.index_map(1).size_local
        mine = [f for f in smesh.facet_tags.find(smesh.facet_groups[name]) if f < owned]
        cells = {len(f2c.links(f)) for f in mine}
        return comm.allreduce(len(mine), op=MPI.SUM), comm.allgather(cells)

    def area(smesh):
        one = fem.Constant(smesh.mesh, 1.0)
        return comm.allreduce(fem.assemble_scalar(fem.form(one * ufl.dx(domain=smesh.mesh))),
                              op=MPI.SUM)

    added = 0
    for k, sealed_ends in ((0, 2), (1, 1)):
        n_whole, links_whole = facets(whole, f"crack{k}")
        n_cut, links_cut = facets(cut, f"crack{k}")
        assert set().union(*links_whole) == {2} and set().union(*links_cut) == {1}
        assert n_cut == 2 * n_whole
        added += (n_whole + 1) - sealed_ends  # nodes on the crack, less the sealed tips
    assert cut.info["crack_nodes_added"] == added
    nodes = (m.mesh.topology.index_map(0).size_global for m in (whole, cut))
    assert next(nodes) + added == next(nodes)
    assert area(cut) == pytest.approx(area(whole), rel=1e-12)


@pytest.mark.mpi
def test_crack_along_the_current_changes_nothing(comm):
    """A crack along x in a laterally uniform bilayer: the exact 1D result."""
    config = _config([{"start": [20 * UM, 2 * UM], "end": [80 * UM, 2 * UM]}])
    exact, _ = solve_case(config.stack_1d(), comm, "exact")
    summary, _ = solve_case(config, comm, "fem-eafe")
    assert summary["converged"] and summary["stop_reason"] == "tolerance"
    assert summary["one_minus_t_li"] == pytest.approx(exact["one_minus_t_li"], rel=1e-4)
    fem_x = sorted(j["x"] for j in summary["jumps"])
    ex_x = sorted(j["x"] for j in exact["jumps"])
    assert len(fem_x) == len(ex_x)
    assert max(abs(a - b) for a, b in zip(fem_x, ex_x)) <= 1e-4 * config.thickness


@pytest.mark.serial
def test_crack_across_the_current_matches_the_w_formulation():
    """An edge crack across the current: EAFE (cut mesh) and the W formulation (whole mesh,
    no coupling across the crack facets) agree on 1 - t_Li and Phi to 1e-3, both converged
    (measured: 1.6e-5 and 2.4e-5)."""
    comm = MPI.COMM_SELF
    eafe, _ = solve_case(_config(EDGE), comm, "fem-eafe")
    w, _ = solve_case(_config(EDGE, fallback="none"), comm, "fem")
    assert eafe["converged"] and w["converged"]
    assert eafe["one_minus_t_li"] == pytest.approx(w["one_minus_t_li"], rel=1e-3)
    assert eafe["ionic_potential_drop_V"] == pytest.approx(w["ionic_potential_drop_V"],
                                                           rel=1e-3)
    # the crack matters: the uncracked bilayer's exact value is 4 % away
    exact, _ = solve_case(_config([]).stack_1d(), comm, "exact")
    assert abs(eafe["one_minus_t_li"] / exact["one_minus_t_li"] - 1.0) > 0.02


def test_w_loop_refines_the_ionic_field_at_the_crack_tip():
    """The W loop estimates the ionic field's error on every mesh (its lips are no-flux
    boundaries) and, while that is above the tolerance, refines by it too: the estimate falls
    by more than 1.5 per step."""
    comm = MPI.COMM_SELF
    w, _ = solve_case(_config(EDGE, fallback="none"), comm, "fem")
    estimates = [step["ionic_rel_error_estimate"] for step in w["refinement_history"]]
    # measured: 0.041 at 255 cells, halved per step, 2.9e-4 at 35 155 (the stop rule does not
    # wait for it: the EAFE loop's rule)
    assert estimates[0] > 1e-2 and estimates[-1] < estimates[0] / 100
    assert all(b < a / 1.5 for a, b in zip(estimates, estimates[1:]))


@pytest.mark.mpi
def test_edge_crack_gives_the_same_numbers_on_every_rank_count(comm):
    """The edge crack across the current converges on its tolerance, and under mpirun the
    run on all ranks refines the same cells and gives the serial numbers at every step
    (1 - t_Li and Phi to 1e-10; measured 1e-14). Guards two bugs: at step 6 (13 000 cells)
    Newton's row-scaled merit rose from 0.02 to 41 V through accepted steps (its diagonal
    changes by e^(dmu/kT) from one iterate to the next), and on 2 ranks the same iteration
    failed and the pseudo-transient continuation stalled ("not converged"); and the marking
    at step 5 split 9 cells whose indicators agree to 1e-13 (alike by symmetry) by
    round-off, so 1 and 2 ranks refined different meshes (5e-10 apart in 1 - t_Li)."""
    config = _config(EDGE)
    summary, _ = solve_case(config, comm, "fem-eafe")
    assert summary["converged"] and summary["stop_reason"] == "tolerance"
    assert summary["refinement_steps"] >= 6  # the step that failed on 2 ranks is in the run
    if comm.size == 1:
        return
    serial, _ = solve_case(config, MPI.COMM_SELF, "fem-eafe")
    runs = (summary["refinement_history"], serial["refinement_history"])
    assert [h["cells"] for h in runs[0]] == [h["cells"] for h in runs[1]]
    for mine, ref in zip(*runs):
        assert mine["one_minus_t_li"] == pytest.approx(ref["one_minus_t_li"], rel=1e-10)
    assert summary["ionic_potential_drop_V"] == pytest.approx(serial["ionic_potential_drop_V"],
                                                              rel=1e-10)


@pytest.mark.mpi
def test_marking_keeps_ties_together(comm):
    """Indicators equal up to round-off are marked together, on either side of a Doerfler
    threshold or of the cap; a tie group alone above the cap is marked whole."""
    from fem_sse.transport.adapt import doerfler_mark

    # the top value holds 0.3 of the sum; the group of 4 at 0.1 (spread 1e-14) is needed
    group = 0.1 * (1.0 + 1e-14 * np.array([-1.0, 1.0, 0.5, -0.5]))
    eta = np.concatenate([[0.3], group, [0.05] * 6])
    mine = eta[comm.rank::comm.size]
    count = comm.allreduce(len(doerfler_mark(mine, comm, theta=0.5)), op=MPI.SUM)
    assert count == 5
    count = comm.allreduce(len(doerfler_mark(mine, comm, theta=0.5, max_count=3)), op=MPI.SUM)
    assert count == 1  # the cap falls inside the group: the group is left out
    top = np.concatenate([group, [0.05]])[comm.rank::comm.size]
    count = comm.allreduce(len(doerfler_mark(top, comm, theta=0.5, max_count=2)), op=MPI.SUM)
    assert count == 4  # nothing would be left: the whole group


@pytest.mark.mpi
def test_marking_says_when_the_cap_cut_it(comm):
    """``doerfler_marking(...).capped``: True only when the cap cut the Doerfler set below half
    its share of the estimate (the same on every rank); several sets' markings merge with any
    cap."""
    from fem_sse.transport.adapt import Marking, doerfler_marking

    eta = np.array([0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05])[comm.rank::comm.size]
    whole = doerfler_marking(eta, comm, theta=0.7)
    assert comm.allreduce(len(whole.cells), op=MPI.SUM) == 3 and not whole.capped
    assert not doerfler_marking(eta, comm, theta=0.7, max_count=3).capped
    cut = doerfler_marking(eta, comm, theta=0.7, max_count=2)  # the 0.2 tie group left out
    assert comm.allreduce(len(cut.cells), op=MPI.SUM) == 1 and cut.capped  # 0.3 < 0.7 / 2
    big = np.array([0.4, 0.2, 0.2, 0.1, 0.1])[comm.rank::comm.size]
    cut = doerfler_marking(big, comm, theta=0.7, max_count=2)  # 0.4 >= 0.7 / 2: a step
    assert comm.allreduce(len(cut.cells), op=MPI.SUM) == 1 and not cut.capped
    capped = doerfler_marking(big, comm, theta=0.9, max_count=1)
    assert capped.capped  # 0.4 < 0.9 / 2
    assert Marking.merged([whole, capped]).capped and not Marking.merged([whole, cut]).capped


@pytest.mark.mpi
def test_ionic_conductance_falls_on_nested_meshes(comm):
    """P1's G is an upper bound that falls under refinement, and the estimated relative error
    of G falls with it; on the laterally uniform bilayer (w exact on the extruded mesh) the
    estimate is round-off."""
    from fem_sse.geometry import build_mesh
    from fem_sse.geometry.refine2d import refine_tagged
    from fem_sse.transport.eafe2d import EafeProblem2D
    from fem_sse.transport.ionic_error import ionic_indicators
    from fem_sse.transport.adapt import doerfler_mark

    uniform = EafeProblem2D(_config([]), build_mesh(_config([]), comm))
    assert ionic_indicators(uniform)[1] < 1e-12
    uniform.destroy()
    config = _config(ACROSS)
    smesh = build_mesh(config, comm, cut_cracks=True)
    conductances, estimates = [], []
    for _ in range(4):
        problem = EafeProblem2D(config, smesh)
        eta2, estimate = ionic_indicators(problem)
        conductances.append(problem.conductance)
        estimates.append(estimate)
        smesh = refine_tagged(problem.smesh, doerfler_mark(eta2, comm, theta=0.7))
        problem.destroy()
    assert np.all(np.diff(conductances) < 0.0), conductances
    assert np.all(np.diff(estimates) < 0.0), estimates
    # the estimate bounds the error still left (G_h - G >= G_h - G_last)
    for g, e in zip(conductances[:-1], estimates[:-1]):
        assert g - conductances[-1] <= e * g


@pytest.mark.serial
def test_w_run_stopped_by_its_cell_cap_falls_back():
    """A default ``fem`` run whose W loop hits the cell cap is solved again by EAFE: its
    converged result (the exact one here) replaces the W one, and the fallback block says
    why; where EAFE stops on the cap too, the W result stays, with the fallback's outcome."""
    comm = MPI.COMM_SELF
    uniform = _config([], kind="fem", max_cells=450)
    exact, _ = solve_case(uniform.stack_1d(), comm, "exact")
    summary, _ = solve_case(uniform, comm, "fem")
    assert summary["converged"] and summary["solver"] == "fem-eafe"
    assert summary["fallback"]["stage"] == "adaptive loop"
    assert "cell cap" in summary["fallback"]["reason"]
    assert summary["one_minus_t_li"] == pytest.approx(exact["one_minus_t_li"], rel=1e-4)
    summary, _ = solve_case(_config(ACROSS, kind="fem", max_cells=800), comm, "fem")
    assert not summary["converged"] and summary["stop_reason"] == "cell cap"
    assert "fallback" not in summary
    assert summary["fallback_failed"]["error"] == "not converged either (cell cap)"


@pytest.mark.mpi
def test_slit_outline_is_not_cut(comm):
    """The shipped defects case: a crack line (cut: its facets doubled) and a slit (a cut-out
    whose outline is a boundary already: left as it is; the plugin run on it left nodes of no
    cell and the partitioner aborted the run)."""
    from pathlib import Path

    from fem_sse.geometry import build_mesh
    from fem_sse.spec.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "cases" / "2d" / "defects.toml")
    kinds = [crack.kind for crack in config.geometry2d.cracks]
    assert kinds == ["line", "slit"]
    whole, cut = (build_mesh(config, comm, cut_cracks=flag) for flag in (False, True))

    def count(smesh, name):
        return smesh.mesh.comm.allreduce(
            int(np.count_nonzero(smesh.facet_tags.find(smesh.facet_groups[name])
                                 < smesh.mesh.topology.index_map(1).size_local)), op=MPI.SUM)

    assert count(cut, "crack0") == 2 * count(whole, "crack0")
    assert count(cut, "crack1") == count(whole, "crack1")
    assert cut.info["crack_nodes_added"] == count(whole, "crack0") - 1
