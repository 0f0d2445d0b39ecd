"""Tutorial step 4: transport, then stresses, of the polycrystalline bilayer (docs/tutorial.md).

    docker/run mpirun -n 2 python3 docs/examples/poly_bilayer_stress.py -o out/tutorial
    docker/run xvfb-run -a pvbatch docs/paraview/load_result.py out/tutorial --png stress.png

The steady mu_Li0 (eV) of cases/2d/poly_bilayer.toml (adaptive FEM, any number of ranks) drives
a Li0(SE) eigenstrain; plane-strain elasticity with the default elastic data (docs/mechanics.md)
gives von Mises, principal stresses and the crack-risk index. The strain law is the bounded
"two_state" one of the design study (bench/mechanics_study.py; --law dilute for the default, whose
strain is negligible at A = 1e-17 S/m) with a 5 MPa stack pressure on the anode. Writes to OUT
(collectively, replaced atomically): mechanics.xdmf/.h5 and mechanics.bp (fields with units in
their names), mechanics.png and mechanics_summary.json (peaks in Pa, locations in m).
"""

import argparse
import json
from pathlib import Path

from mpi4py import MPI

from fem_sse.spec.config import parse_config, read_toml
from fem_sse.mechanics import run_mechanics
from fem_sse.io.outputs import output_directory, write_json
from fem_sse.app.run import solve_case

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(ROOT / "cases" / "2d" / "poly_bilayer.toml"))
    parser.add_argument("-o", "--output", default="out/tutorial")
    parser.add_argument("--law", default="two_state", help="strain law of every material")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    data = read_toml(args.case)
    for material in data["materials"].values():
        material["strain_law"] = args.law
    data.setdefault("mechanics", {"stack_pressure": 5e6})  # Pa
    config = parse_config(data, name=Path(args.case).stem)

    # 1. electrochemistry: the steady state (the same call `fem-sse run` makes)
    summary, outputs = solve_case(config, comm, "fem")
    problem = outputs.problem
    # W (A/m), linear per cell: mu_Li0 = B + kT asinh(W / (2 A kT)) jumps by eV where W
    # crosses zero inside a cell. Give the mechanics W, not mu_Li0 interpolated at the nodes
    # (problem.mu_function()): a linear ramp of mu between nodes misplaces the fronts and
    # inflates the peaks (docs/mechanics.md, "Where the polycrystal's peaks sit").
    kirchhoff = problem.kirchhoff_function()

    # 2. mechanics on the same (adapted) mesh, one-way coupled; files written by all ranks
    with output_directory(args.output, comm, extra_names=("mechanics_summary.json",)) as folder:
        mech, files = run_mechanics(problem.smesh, None, config, folder, comm,
                                    kirchhoff=kirchhoff)
        if comm.rank == 0:
            write_json(folder / "mechanics_summary.json",
                       {"t_li": summary["t_li"], "cells": summary["cells"], **mech})
    if comm.rank == 0:
        keys = ("max_von_mises", "max_principal", "crack_risk_index", "crack_risk_location",
                "crack_risk_distance_to_electrode")
        print(json.dumps({"t_li": summary["t_li"], "cells": summary["cells"],
                          **{k: mech[k] for k in keys}}, indent=1))
        print(f"wrote {args.output}: {', '.join(files)}, mechanics_summary.json")


if __name__ == "__main__":
    main()
