"""The ``fem-sse`` command: info, run, mesh, sweep, design, mechanics.

Errors are one line on stderr and a non-zero exit; under MPI an error on any rank aborts the
whole job and is printed once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from pathlib import Path

from fem_sse import __version__

__all__ = ["main"]

log = logging.getLogger("fem_sse")


def _comm():
    from mpi4py import MPI

    return MPI.COMM_WORLD


def _say(comm, text: str) -> None:
    if comm.rank == 0:
        print(text, flush=True)


def cmd_info(args) -> int:
    """Versions of the stack and the MPI size."""
    comm = _comm()
    from mpi4py import MPI

    versions = {"fem_sse": __version__}
    for name in ("dolfinx", "basix", "ufl", "petsc4py", "mpi4py", "gmsh", "pyvista", "numpy",
                 "scipy"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            versions[name] = "not installed"
    try:
        from petsc4py import PETSc

        versions["PETSc"] = ".".join(str(v) for v in PETSc.Sys.getVersion())
    except ImportError:
        pass
    versions["MPI"] = MPI.Get_library_version().splitlines()[0].strip()
    versions["mpi_size"] = comm.size
    if args.json:
        _say(comm, json.dumps(versions))
    else:
        _say(comm, "\n".join(f"{k:>10}: {v}" for k, v in versions.items()))
    return 0


def _check_output(comm, args, default: str, inputs=()) -> str:
    """The output folder (``-o`` or ``default``), checked before any work: a folder fem-sse
    does not own is refused, an earlier result needs --overwrite (fem_sse.io.outdir)."""
    from fem_sse.io.outdir import on_root, plan_output

    raw = args.output or default
    on_root(comm, lambda: plan_output(raw, overwrite=args.overwrite, inputs=inputs,
                                      what="-o" if args.output else "name",
                                      resume_kind="sweep" if args.command == "sweep" else None))
    return raw


def cmd_run(args) -> int:
    """Solve one case and write its outputs."""
    from fem_sse.progress import Progress
    from fem_sse.spec.config import load_config
    from fem_sse.app.run import run_case

    comm = _comm()
    config = load_config(args.config)
    mesh_file = config.geometry2d.mesh_file if config.geometry2d else None
    outdir = Path(_check_output(comm, args, f"out/{config.name}", (args.config, mesh_file)))
    with Progress(config.name, comm=comm) as bar:
        summary = run_case(config, outdir, comm, solver=args.solver, progress=bar.message,
                           overwrite=args.overwrite)
    _say(comm, f"{config.name}: t_Li = {summary['t_li']:.8f} (1 - t_Li = "
               f"{summary['one_minus_t_li']:.4e}), {len(summary['jumps'])} jump(s), "
               f"{summary['dofs']} DOFs, {summary['wall_time_s']:.2f} s [{summary['solver']}]"
               f" -> {outdir}")
    if "max_von_mises" in summary:
        _say(comm, f"{config.name}: max von Mises {summary['max_von_mises'] / 1e6:.1f} MPa, "
                   f"max principal {summary['max_principal'] / 1e6:.1f} MPa, crack risk "
                   f"{summary['crack_risk_index']:.3g} at "
                   f"{summary['crack_risk_distance_to_electrode'] * 1e6:.3g} um from the "
                   f"{summary['mechanics']['crack_risk_nearest_electrode']}")
    return 0


#: mesh file extensions for ``fem-sse mesh -o`` (Gmsh picks the format from it)
MESH_FORMATS = (".msh", ".vtk", ".mesh", ".inp", ".unv", ".med", ".cgns", ".su2", ".bdf")


def _write_mesh(config, paths: dict, report: bool) -> dict | None:
    """Mesh, report and PNG written under temporary names, renamed together on success."""
    from fem_sse.geometry import write_msh

    tmp = {k: p.with_name(f".{p.stem}.{os.getpid()}.partial{p.suffix}") for k, p in paths.items()}
    try:
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        data = write_msh(config, tmp["-o"], report=report, png=tmp.get("--png"))
        if report:
            tmp["--report"].write_text(json.dumps(data, indent=1) + "\n")
        for key, path in paths.items():
            os.replace(tmp[key], path)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return data


def cmd_mesh(args) -> int:
    """Write the Gmsh mesh of a config (rank 0), optionally its report (JSON) and a PNG."""
    from fem_sse.spec.config import ConfigError, load_config
    from fem_sse.io.outdir import check_file_target, on_root

    comm = _comm()
    config = load_config(args.config)
    for flag, given in (("--report", args.report), ("--png", args.png)):
        if given and config.dim != 2:
            raise ConfigError(flag, f"is for 2D cases and {args.config} is 1D (geometry.dim = "
                              f"1): drop {flag}")
    names = {"-o": args.output, "--png": args.png,
             "--report": str(Path(args.output).with_suffix(".report.json")) if args.report
             else None}
    names = {k: v for k, v in names.items() if v}
    if Path(args.output).suffix.lower() not in MESH_FORMATS:
        raise ConfigError("-o", f"{args.output}: the extension picks Gmsh's format: use one of "
                          f"{', '.join(MESH_FORMATS)} (e.g. {Path(args.output).stem}.msh)")
    paths = on_root(comm, lambda: {k: check_file_target(v, overwrite=args.overwrite, what=k)
                                   for k, v in names.items()})
    report = on_root(comm, lambda: _write_mesh(config, paths, args.report))
    if report is not None and comm.rank == 0:
        from fem_sse.geometry.report import format_report

        print(format_report(report), flush=True)
    _say(comm, "wrote " + ", ".join(names.values()))
    return 0


def cmd_sweep(args) -> int:
    """Run a grid (or list) of --set values: one folder per run, results.jsonl/.csv, plots."""
    from fem_sse.spec.config import read_toml
    from fem_sse.app.studies import parse_axis, plan_sweep, run_sweep

    comm = _comm()
    _option(args.ranks_per_run, "--ranks-per-run", 1, comm.size, lo_open=False)
    stem = Path(args.config).stem
    plan = plan_sweep(read_toml(args.config), tuple(parse_axis(s) for s in args.set),
                      mode="list" if args.list else "grid", name=stem)
    outdir = Path(_check_output(comm, args, f"out/sweep_{stem}", (args.config,)))
    _say(comm, f"sweep {stem}: {len(plan.points)} points ({'list' if args.list else 'grid'}), "
               f"{comm.size // args.ranks_per_run} group(s) of {args.ranks_per_run} rank(s)")
    rows = run_sweep(plan, outdir, comm, solver=args.solver, ranks_per_run=args.ranks_per_run,
                     png=args.png, plots=not args.no_plots, show_progress=not args.quiet,
                     overwrite=args.overwrite)
    failed = sum(r["status"] == "failed" for r in rows)
    solvers = sorted({r["solver"] for r in rows if r["solver"]})
    _say(comm, f"wrote {outdir}/results.csv ({len(rows) - failed} runs [{', '.join(solvers)}]"
               f", {sum(r['status'] == 'cached' for r in rows)} cached, {failed} failed)")
    return 1 if failed else 0


def cmd_mechanics(args) -> int:
    """The mechanics of a finished run again, on its saved mu_Li0, with --set changes."""
    from fem_sse.app.restart import parse_set, rerun_mechanics
    from fem_sse.progress import Progress

    comm = _comm()
    sets = [parse_set(text) for text in args.set]
    run = Path(args.outdir)
    outdir = Path(_check_output(comm, args, str(run.with_name(run.name + "_mechanics")), (run,)))
    with Progress(f"mechanics {run.name}", comm=comm) as bar:
        s = rerun_mechanics(run, outdir, comm, sets, png=not args.no_png, progress=bar.message,
                            overwrite=args.overwrite)
    _say(comm, f"{s['case']}: max von Mises {s['max_von_mises'] / 1e6:.1f} MPa, max principal "
               f"{s['max_principal'] / 1e6:.1f} MPa, crack risk {s['crack_risk_index']:.3g} at "
               f"{s['crack_risk_distance_to_electrode'] * 1e6:.3g} um from the "
               f"{s['mechanics']['crack_risk_nearest_electrode']} ({s['wall_time_s']:.1f} s, "
               f"transport of {run} reused) -> {outdir}")
    return 0


def _option(value, name: str, lo: float, hi: float, lo_open: bool = True):
    """A numeric command-line option checked like a config key (one-line error naming it)."""
    from fem_sse.spec.config import ConfigError

    if not ((value > lo) if lo_open else (value >= lo)) or not value <= hi:
        raise ConfigError(name, f"must be {'>' if lo_open else '>='} {lo:g} and <= {hi:g}, "
                          f"got {value!r}")
    return value


def cmd_design(args) -> int:
    """Design maps, optimisation and drift tolerance of a 1D stack (exact solver)."""
    from fem_sse.app.design import parse_constraint, parse_objective, parse_vary
    from fem_sse.app.design.command import DesignRequest, run_design
    from fem_sse.app.design.metrics import DesignOptions

    comm = _comm()
    variables = tuple(parse_vary(v) for v in args.vary)
    objectives = tuple(parse_objective(o) for o in args.objective)
    do_map = args.map or (not args.optimize and len(variables) == 2)
    do_optimize = args.optimize or bool(objectives) or not do_map
    if do_map and len(variables) != 2:
        from fem_sse.spec.config import ConfigError

        raise ConfigError("--map", f"needs exactly two --vary keys, got {len(variables)}")
    request = DesignRequest(
        variables=variables, objectives=objectives,
        constraints=tuple(parse_constraint(c) for c in args.constraint),
        do_map=do_map, do_optimize=do_optimize,
        points=_option(args.points, "--points", 2, 500, lo_open=False),
        seed=args.seed, popsize=_option(args.popsize, "--popsize", 4, 200, lo_open=False),
        maxiter=_option(args.maxiter, "--maxiter", 1, 10000, lo_open=False),
        drift=_option(args.drift, "--drift", 0.0, 2.0),
        options=DesignOptions(edge_zone=_option(args.edge_zone, "--edge-zone", 0.0, 0.5),
                              margin_eV=_option(args.margin, "--margin", 0.0, 5.0)))
    outdir = Path(_check_output(comm, args, f"out/design_{Path(args.config).stem}",
                                (args.config,)))
    summary = run_design(args.config, outdir, comm, request, overwrite=args.overwrite)
    lines = [f"base: max jump distance {summary['base'].get('max_jump_distance_over_L', 'n/a')}"
             f" L, t_Li {summary['base'].get('t_li', 'n/a')}"]
    if "map" in summary:
        m = summary["map"]
        lines.append(f"map: {m['evaluations']} designs ({m['failed']} without solution) in "
                     f"{m['wall_time_s']:.1f} s")
    if "optimization" in summary:
        o = summary["optimization"]
        best = {v["key"]: o["best"].get(v["key"]) for v in summary["varied"]}
        lines.append(f"optimum ({summary['objectives'][0]} = {o['objective_value']}, "
                     f"feasible: {o['feasible']}): {best}, {o['nfev']} evaluations in "
                     f"{o['wall_time_s']:.1f} s")
    _say(comm, "\n".join(lines + [f"-> {outdir}"]))
    return 0


def cmd_view(args) -> int:
    """Load a result's VTU files with pyvista, print their arrays, optionally draw a PNG."""
    from fem_sse.app.view import view

    comm = _comm()
    if args.png:  # never replace a file the user owns without --overwrite
        from fem_sse.io.outdir import check_file_target

        check_file_target(args.png, overwrite=args.overwrite, what="--png")
    lines = view(args.outdir, args.png, args.array, args.file) if comm.rank == 0 else []
    for line in lines:
        print(line)
    return 0


def _overwrite_flag(parser, text: str = "replace an earlier fem-sse result in the output "
                    "folder (a folder fem-sse did not create is never replaced)") -> None:
    parser.add_argument("--overwrite", action="store_true", help=text)


def _progress_parent() -> argparse.ArgumentParser:
    """``--progress`` of every long-running subcommand (fem_sse.progress)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--progress", choices=("auto", "bar", "lines", "off"),
                        help="bar (terminal), lines (timestamped, for logs), off; default auto: "
                             "a bar on a terminal outside mpirun/Slurm, else lines "
                             "(env FEM_SSE_PROGRESS)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
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
    p.add_argument("--solver", choices=("fem", "exact"), help="override [solver] kind")
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
    p.add_argument("--solver", choices=("fem", "exact"), help="override [solver] kind")
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
    from fem_sse.errors import interruptible

    with interruptible():  # Ctrl-C / SIGTERM: clean-up, one line, exit 130 / 143
        try:
            return _main(argv)
        except KeyboardInterrupt as exc:  # before the error reporter exists (MPI start-up)
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
    from fem_sse.errors import EXIT_INTERNAL, ErrorReporter, deferred_interrupts, exit_code
    from fem_sse.progress import configure

    args = build_parser().parse_args(argv)
    level = os.environ.get("FEM_SSE_LOG_LEVEL", "").upper() or ("INFO" if args.verbose
                                                               else "WARNING")
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    with deferred_interrupts():  # MPI start-up
        comm = _comm()
    reporter = ErrorReporter(comm)
    configure("off" if getattr(args, "quiet", False) else getattr(args, "progress", None),
              comm=comm)
    try:
        _preload()
        code = args.func(args)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line; traceback with -v
        if args.verbose and exit_code(exc) == EXIT_INTERNAL:
            traceback.print_exc()
        return reporter.fail(exc)
    reporter.close()
    return code
