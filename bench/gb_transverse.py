"""Transverse GB interfaces: both 2D schemes against the exact interface solution (issue 16).

A full-width GB interface parallel to the electrodes keeps a 2D stack laterally uniform, so its
exact state is 1D: :func:`fem_sse.transport.exact1d_interfaces.solve_exact_interfaces` (mu jumps
by -j_i / g at the GB). Seeded random configurations of the paper's Fig. 3 bilayer (50 + 50 um,
2 um wide) draw the GB position (a multiple of 5 um in either layer), its conductance g
(log-uniform in [1, 1e4] S/m^2: jumps of 1 mV to 50 V), the temperature (273-353 K), the current
density (1-50 A/m^2) and a structured mesh (80-640 cells along x). On each, the W formulation
and the EAFE scheme solve the same mesh (no refinement: the scheme, not the adaptive loop, is
measured), and the second-scheme check (:mod:`fem_sse.transport.crosscheck`) is evaluated.

Reported per configuration: both schemes' 1 - t_Li errors against the exact value (or their
error message), and whether the check flags the pair; in total: how many W / EAFE states are
off by more than 1e-3, and how many of those the check leaves unflagged ("silent").

Run:  docker/run python3 bench/gb_transverse.py --count 40 --output bench/results/gb_transverse.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

UM = 1e-6
NX = (80, 160, 240, 320, 400, 640)
LAYER = 50 * UM
CATHODE_TAG, ANODE_TAG, GB_TAG = 1, 2, 6


def random_case(seed: int, index: int) -> dict:
    """The drawn parameters of configuration ``index`` (plain numbers)."""
    rng = np.random.default_rng([seed, index])
    slots = [k for k in range(1, 20) if k != 10]  # not on the phase boundary (50 um)
    return {"x_gb": float(rng.choice(slots)) * 5 * UM,
            "g": float(10.0 ** rng.uniform(0.0, 4.0)),
            "temperature": float(rng.uniform(273.0, 353.0)),
            "current_density": float(rng.uniform(1.0, 50.0)),
            "nx": int(rng.choice(NX))}


def case_data(case: dict, interface: bool = True) -> dict:
    """The fem_sse configuration (2D) of a drawn case."""
    data = {
        "cell": {"temperature": case["temperature"], "current_density": case["current_density"],
                 "mu_cathode": -3.0, "mu_anode": 0.0},
        "materials": {"SE_cathodic": {"sigma_li": 0.1, "A": 1e-17, "B": -2.3},
                      "SE_anodic": {"sigma_li": 0.1, "A": 1e-17, "B": -0.7}},
        "geometry": {"dim": 2, "width": 2 * UM,
                     "layers": [{"material": "SE_cathodic", "thickness": LAYER},
                                {"material": "SE_anodic", "thickness": LAYER}]},
        "mesh": {"size_bulk": 2.5 * UM, "grading": 1.0},
        "solver": {"adaptive": False},
    }
    if interface:
        data["geometry"]["grain_boundaries"] = {"model": "interface", "conductance": case["g"]}
    return data


def structured_mesh(config, comm, x_gb: float, nx: int, ny: int = 2):
    """A structured rectangle with a full-width GB interface (facet group ``gb``) at x_gb: the
    layer holding it is split into two grains."""
    from dolfinx import mesh as dmesh

    from fem_sse.geometry import SeparatorMesh
    from fem_sse.geometry.regions import Region

    length, width = config.thickness, config.width
    msh = dmesh.create_rectangle(comm, [[0.0, 0.0], [length, width]], [nx, ny],
                                 ghost_mode=dmesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    x = dmesh.compute_midpoints(msh, tdim, cells)[:, 0]
    layer = (x > LAYER).astype(int)
    gb_layer = int(x_gb > LAYER)
    grain = (x > x_gb).astype(int)
    tags = np.where(layer == gb_layer, 101000 + 1000 * layer + grain, 100000 + 100000 * layer)
    materials = ("SE_cathodic", "SE_anodic")
    regions = {}
    for k in (0, 1):
        if k == gb_layer:
            for g in (0, 1):
                regions[101000 + 1000 * k + g] = Region(f"layer{k}/grain{g}", k, materials[k],
                                                        1.0, "grain", g)
        else:
            regions[100000 + 100000 * k] = Region(f"layer{k}", k, materials[k], 1.0, "layer")
    found = [dmesh.locate_entities_boundary(msh, tdim - 1, lambda p: np.isclose(p[0], 0.0)),
             dmesh.locate_entities_boundary(msh, tdim - 1, lambda p: np.isclose(p[0], length)),
             dmesh.locate_entities(msh, tdim - 1, lambda p: np.isclose(p[0], x_gb))]
    values = [np.full(len(f), t, dtype=np.int32) for f, t in zip(found, (CATHODE_TAG, ANODE_TAG,
                                                                           GB_TAG))]
    facets = np.concatenate(found)
    order = np.argsort(facets)
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets[order], np.concatenate(values)[order])
    cell_tags = dmesh.meshtags(msh, tdim, cells, tags.astype(np.int32))
    return SeparatorMesh(msh, cell_tags, facet_tags, regions,
                         {"cathode": CATHODE_TAG, "anode": ANODE_TAG, "gb": GB_TAG})


def run_case(case: dict, comm) -> dict:
    """Exact, W and EAFE on one drawn case; the check evaluated on the pair."""
    from fem_sse.errors import SolveError
    from fem_sse.spec.config import parse_config
    from fem_sse.transport.crosscheck import SCHEME_TOLERANCE, check_with_eafe, check_with_w
    from fem_sse.transport.exact1d_interfaces import solve_exact_interfaces

    config = parse_config(case_data(case))
    try:
        exact = solve_exact_interfaces(parse_config(case_data(case, False)).stack_1d(),
                                       [(case["x_gb"], case["g"])])
    except SolveError as exc:  # the drawn window and current: an electronic short
        return {**case, "no_steady_state": str(exc)}
    ref = exact.one_minus_t_li
    row = {**case, "exact": ref, "jump_V": exact.j_ionic / case["g"],
           "mu_left_eV": exact.mu_left[0], "mu_right_eV": exact.mu_right[0]}
    smesh = structured_mesh(config, comm, case["x_gb"], case["nx"])
    for name, check in (("w", check_with_w), ("eafe", check_with_eafe)):
        start = time.perf_counter()
        got = check(config, smesh, ref)  # the scheme's value, compared with the exact one
        row[name] = got.one_minus_t_li
        row[f"{name}_error"] = got.relative_difference
        row[f"{name}_failure"] = got.error
        row[f"{name}_time_s"] = time.perf_counter() - start
    both = row["w"] is not None and row["eafe"] is not None
    row["check_flags"] = bool(both and abs(row["eafe"] / row["w"] - 1.0) > SCHEME_TOLERANCE)
    return row


def totals(rows: list[dict], limit: float = 1e-3) -> dict:
    """Counts over the rows: failures, states off by more than ``limit`` and how many of the
    W states off by more than that the check leaves unflagged (EAFE failed or agreed)."""
    out = {"configurations": len(rows), "error_limit": limit,
           "no_steady_state": sum("no_steady_state" in r for r in rows)}
    rows = [r for r in rows if "no_steady_state" not in r]
    for name in ("w", "eafe"):
        errs = [r[f"{name}_error"] for r in rows if r[f"{name}_error"] is not None]
        out[f"{name}_failed"] = sum(r[f"{name}_error"] is None for r in rows)
        out[f"{name}_off"] = sum(e > limit for e in errs)
        out[f"{name}_max_error_when_right"] = max((e for e in errs if e <= limit), default=0.0)
        out[f"{name}_silent_off"] = sum(
            1 for r in rows if r[f"{name}_error"] is not None and r[f"{name}_error"] > limit
            and not r["check_flags"])
    return out


def _cell(row: dict, name: str) -> str:
    err = row[f"{name}_error"]
    return "failed" if err is None else f"{err:.1e}"


def table(result: dict) -> str:
    """The markdown table of a results JSON (docs/transport2d.md): per configuration the GB
    position, g, the jump of mu it carries, the mesh and both schemes' relative errors in
    1 - t_Li, whether the check flags the pair; the totals below."""
    lines = ["| # | x_GB (um) | g (S/m^2) | [mu] (eV) | mu across B | cells along x | W error | "
             "EAFE error | check |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        if "no_steady_state" in r:
            lines.append(f"| {r['index']} | {r['x_gb'] / UM:.0f} | {r['g']:.3g} | - | - | "
                         f"{r['nx']} | no steady state | | |")
            continue
        b = -2.3 if r["x_gb"] < LAYER else -0.7
        across = "yes" if (r["mu_left_eV"] - b) * (r["mu_right_eV"] - b) < 0 else "no"
        flag = "flags" if r["check_flags"] else ("-" if r["w"] and r["eafe"] else "n/a")
        lines.append(f"| {r['index']} | {r['x_gb'] / UM:.0f} | {r['g']:.3g} | "
                     f"{r['jump_V']:.3g} | {across} | {r['nx']} | {_cell(r, 'w')} | "
                     f"{_cell(r, 'eafe')} | {flag} |")
    t = result["totals"]
    n = t["configurations"] - t["no_steady_state"]
    lines += ["", f"Of {n} configurations with a steady state: the W formulation failed on "
              f"{t['w_failed']}, was off by more than {t['error_limit']:g} on {t['w_off']} "
              f"({t['w_silent_off']} of them not flagged by the check), and within "
              f"{t['w_max_error_when_right']:.1e} on the rest; the EAFE scheme failed on "
              f"{t['eafe_failed']}, was off on {t['eafe_off']} ({t['eafe_silent_off']} not "
              f"flagged), within {t['eafe_max_error_when_right']:.1e} on the rest "
              f"(seed {result['seed']}, {result['ranks']} rank(s))."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--table", type=Path, help="print the markdown table of a results JSON")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rows = []
    for index in range(args.count):
        row = {"index": index, **run_case(random_case(args.seed, index), comm)}
        rows.append(row)
        if comm.rank == 0 and "no_steady_state" in row:
            print(f"{index:3d} no steady state", flush=True)
        elif comm.rank == 0:
            print(f"{index:3d} x={row['x_gb'] / UM:5.1f} um g={row['g']:9.3g} jump="
                  f"{row['jump_V']:8.3g} V nx={row['nx']:3d}  W err {row['w_error']}  EAFE err "
                  f"{row['eafe_error']}  flagged {row['check_flags']}", flush=True)
    result = {"seed": args.seed, "ranks": comm.size, "load_average": os.getloadavg(),
              "totals": totals(rows), "rows": rows}
    if comm.rank == 0:
        print(json.dumps(result["totals"], indent=1))
        if args.output:
            args.output.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
