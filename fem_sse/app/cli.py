"""The ``fem-sse`` command: info, run, mesh, sweep, design, mechanics.

Errors are one line on stderr and a non-zero exit; under MPI an error on any rank aborts the
whole job and is printed once.
"""

from __future__ import annotations

import os
import sys

from fem_sse import __version__

# The other imports are made inside the functions: until main() has set fem-sse's Ctrl-C
# handling, a Ctrl-C is Python's own (a traceback), so this module imports nothing else.

__all__ = ["build_parser", "main"]


def _overwrite_flag(parser, text: str = "replace an earlier fem-sse result in the output "
                    "folder (a folder fem-sse did not create is never replaced)") -> None:
    parser.add_argument("--overwrite", action="store_true", help=text)


def _progress_parent():
    """``--progress`` of every long-running subcommand (fem_sse.progress)."""
    import argparse

    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--progress", choices=("auto", "bar", "lines", "off"),
                        help="bar (terminal), lines (timestamped, for logs), off; default auto: "
                             "a bar on a terminal outside mpirun/Slurm, else lines "
                             "(env FEM_SSE_PROGRESS)")
    return parent


def build_parser():
    """The argument parser (an ``argparse.ArgumentParser``; also used by the docs)."""
    import argparse

    from fem_sse.app.commands import (
        cmd_design,
        cmd_info,
        cmd_mechanics,
        cmd_mesh,
        cmd_run,
        cmd_sweep,
        cmd_view,
    )

    parser = argparse.ArgumentParser(prog="fem-sse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fem-sse {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver details")
    sub = parser.add_subparsers(dest="command", required=True)
    progress = _progress_parent()
    p = sub.add_parser("info", help="print versions of DOLFINx, PETSc, MPI, gmsh, pyvista")
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("run", help="solve a case and write its outputs", parents=[progress])
    p.add_argument("config", help="TOML case file")
    p.add_argument("-o", "--output", help="output folder (default out/CASE)")
    p.add_argument("--solver", choices=("fem", "fem-eafe", "exact"),
                   help="override [solver] kind (default fem-eafe in 1D, fem in 2D)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _overwrite_flag(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("mesh", help="write the Gmsh mesh of a case", parents=[progress])
    p.add_argument("config", help="TOML case file")
    p.add_argument("-o", "--output", required=True, help="output .msh file")
    p.add_argument("--report", action="store_true",
                   help="2D: print the mesh report and write it to OUTPUT.report.json")
    p.add_argument("--png", metavar="FILE", help="2D: PNG of the mesh coloured by region")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=cmd_mesh)
    p = sub.add_parser("sweep", help="run a grid of parameter values (resumable)",
                       parents=[progress])
    p.add_argument("config", help="TOML base case")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="dotted key and values (V1,V2,... or LO:HI:N or LO:HI:N:log), e.g. "
                        "cell.mu_anode=0,0.05,0.1 or geometry.layers[1].thickness=1e-5:5e-5:5")
    p.add_argument("--list", action="store_true",
                   help="pair the i-th values of every --set (default: every combination)")
    p.add_argument("-o", "--output", help="output folder (default out/sweep_CASE)")
    p.add_argument("--solver", choices=("fem", "fem-eafe", "exact"),
                   help="override [solver] kind (default fem-eafe in 1D, fem in 2D)")
    p.add_argument("--ranks-per-run", type=int, default=1, metavar="N",
                   help="MPI ranks per run; the ranks split into groups running points "
                        "side by side (default 1)")
    p.add_argument("--png", action="store_true", help="also write each run's PNG")
    p.add_argument("--no-plots", action="store_true", help="skip the summary plots")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _overwrite_flag(p, "start again in an earlier fem-sse sweep folder (default: resume it)")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("mechanics", help="re-solve only the mechanics of a finished run "
                       "(saved mu_Li0) with changed mechanical keys", parents=[progress])
    p.add_argument("outdir", metavar="OUTDIR", help="output folder of a `fem-sse run`")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="mechanics key and value, e.g. mechanics.stack_pressure=5e6 or "
                        "materials.SE_anodic.E=1e11 (repeatable)")
    p.add_argument("-o", "--output", help="output folder (default OUTDIR_mechanics)")
    p.add_argument("--no-png", action="store_true", help="2D: skip mechanics.png")
    _overwrite_flag(p)
    p.set_defaults(func=cmd_mechanics)
    p = sub.add_parser("design", help="design maps, optimisation and drift tolerance (exact 1D)",
                       parents=[progress])
    p.add_argument("config", help="TOML base case (1D, or the 1D stack of a 2D case)")
    p.add_argument("--vary", action="append", required=True, metavar="KEY=LO:HI[:log]",
                   help="varied dotted key, e.g. materials.SE_anodic.B=-1.2:0 or "
                   "geometry.layers[1].fraction=0.05:0.5")
    p.add_argument("--objective", action="append", default=[], metavar="[min:|max:]METRIC",
                   help="metric to optimise (the first; more give a Pareto front)")
    p.add_argument("--constraint", action="append", default=[], metavar="METRIC<=V",
                   help="metric bound, e.g. one_minus_t_li<=0.1")
    p.add_argument("--map", action="store_true", help="heat maps over the two --vary keys")
    p.add_argument("--optimize", action="store_true", help="differential evolution")
    p.add_argument("--points", type=int, default=50, help="map points per key (50)")
    p.add_argument("--seed", type=int, default=1, help="optimiser seed (1)")
    p.add_argument("--popsize", type=int, default=15, help="population per key (15)")
    p.add_argument("--maxiter", type=int, default=100, help="generations (100)")
    p.add_argument("--edge-zone", type=float, default=0.05,
                   help="jumps count as at the edges within this fraction of L (0.05)")
    p.add_argument("--margin", type=float, default=0.3,
                   help="mu_Li0 within this of an electrode is open to over/undershoot (eV)")
    p.add_argument("--drift", type=float, default=0.2,
                   help="largest electrode-potential drift of the tolerance analysis (eV)")
    p.add_argument("-o", "--output", help="output folder (default out/design_CASE)")
    _overwrite_flag(p)
    p.set_defaults(func=cmd_design)
    p = sub.add_parser("view", help="load a result with pyvista: arrays, ranges, a PNG")
    p.add_argument("outdir", help="result folder of fem-sse run")
    p.add_argument("--png", metavar="FILE", help="draw one array (matplotlib, no X server)")
    p.add_argument("--array", help="array to draw (default mu_Li0 [eV] / von_mises [Pa])")
    p.add_argument("--file", choices=("fields", "mechanics"), help="which VTU file to draw")
    _overwrite_flag(p, "replace an existing --png file")
    p.set_defaults(func=cmd_view)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (fem_sse.errors: 0 ok, 1 internal, 2 input, 3 not
    converged)."""
    try:  # a Ctrl-C before fem-sse's handlers are set is Python's KeyboardInterrupt
        from fem_sse.errors import interruptible

        with interruptible():  # Ctrl-C / SIGTERM: clean-up, one line, exit 130 / 143
            try:
                return _main(argv)
            except KeyboardInterrupt as exc:  # before the error reporter exists (MPI start-up)
                return _interrupted(exc)
    except KeyboardInterrupt as exc:  # while the handlers were being set (start-up)
        return _interrupted(exc)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Print the interruption's one line (rank 0) and return its exit code."""
    from fem_sse.errors import exit_code, one_line

    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None or not mpi.Is_initialized() or mpi.COMM_WORLD.rank == 0:
        print(f"fem-sse: error: {one_line(exc)}", file=sys.stderr, flush=True)
    return exit_code(exc)


#: imported up front with Ctrl-C held back (fem_sse.errors.deferred_interrupts): a signal
#: during their import would abort the process or break the import for the rest of the run
PRELOAD = ("mpi4py.MPI", "numpy", "scipy.optimize", "ufl", "basix", "dolfinx", "dolfinx.fem.petsc",
           "gmsh", "matplotlib")


def _preload() -> None:
    import importlib

    from fem_sse.errors import deferred_interrupts

    with deferred_interrupts():
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:  # e.g. no DOLFINx: the exact solver still runs
                pass


def _main(argv: list[str] | None) -> int:
    import traceback

    from fem_sse.app.commands import world
    from fem_sse.app.logs import configure_logging
    from fem_sse.errors import EXIT_INTERNAL, ErrorReporter, deferred_interrupts, exit_code
    from fem_sse.progress import configured

    args = build_parser().parse_args(argv)
    level = os.environ.get("FEM_SSE_LOG_LEVEL", "").upper() or ("INFO" if args.verbose
                                                               else "WARNING")
    with deferred_interrupts():  # MPI start-up
        comm = world()
    configure_logging(level, comm.rank)  # warnings once, from rank 0
    reporter = ErrorReporter(comm)
    mode = "off" if getattr(args, "quiet", False) else getattr(args, "progress", None)
    with configured(mode, comm=comm):  # restored on return (main() may run again in-process)
        try:
            _preload()
            code = args.func(args)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line; -v: traceback
            if args.verbose and exit_code(exc) == EXIT_INTERNAL:
                traceback.print_exc()
            return reporter.fail(exc)
    reporter.close()
    return code
