"""The subcommands of ``fem-sse`` (info, run, mesh, sweep, mechanics, design, view): one
function per subcommand, parsed arguments in, exit code out. :mod:`fem_sse.app.cli` parses the
command line, runs one of them and turns an error into one line and an exit code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fem_sse import __version__

__all__ = ["cmd_design", "cmd_info", "cmd_mechanics", "cmd_mesh", "cmd_run", "cmd_sweep",
           "cmd_view", "world"]


def world():
    """MPI.COMM_WORLD, imported on first use (the commands are the only code that takes it)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


def _say(comm, text: str) -> None:
    if comm.rank == 0:
        print(text, flush=True)


def cmd_info(args) -> int:
    """Versions of the stack and the MPI size."""
    comm = world()
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

    given = args.output is not None  # -o "" (an unset shell variable) is an error, not default
    raw = args.output if given else default
    on_root(comm, lambda: plan_output(raw, overwrite=args.overwrite, inputs=inputs,
                                      what="-o" if given else "name",
                                      resume_kind="sweep" if args.command == "sweep" else None))
    return raw


def cmd_run(args) -> int:
    """Solve one case and write its outputs."""
    from fem_sse.app.results import RunInfo
    from fem_sse.app.run import run_case
    from fem_sse.mechanics.results import peak_line
    from fem_sse.progress import Progress
    from fem_sse.spec.config import load_config
    from fem_sse.transport.results import TransportResult

    comm = world()
    config = load_config(args.config)
    mesh_file = config.geometry2d.mesh_file if config.geometry2d else None
    outdir = Path(_check_output(comm, args, f"out/{config.name}", (args.config, mesh_file)))
    with Progress(config.name, comm=comm) as bar:
        summary = run_case(config, outdir, comm, solver=args.solver, progress=bar.message,
                           overwrite=args.overwrite)
    result = TransportResult.from_summary(summary)
    fronts = sum(j.resolved for j in result.jumps)
    fragments = (f" (+{len(result.jumps) - fronts} fragmented crossing(s))"
                 if fronts < len(result.jumps) else "")
    _say(comm, f"{config.name}: t_Li = {result.t_li:.8f} (1 - t_Li = "
               f"{result.one_minus_t_li:.4e}), {fronts} jump(s){fragments}, "
               f"{result.dofs} DOFs, {result.wall_time_s:.2f} s "
               f"[{RunInfo.from_summary(summary).solver}] -> {outdir}")
    peaks = peak_line(summary)
    if peaks is not None:
        _say(comm, f"{config.name}: {peaks}")
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

    comm = world()
    config = load_config(args.config)
    for flag, given in (("--report", args.report), ("--png", args.png)):
        if given and not config.shape.mesh_report:
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
    from fem_sse.app.sweep_table import tally_rows

    comm = world()
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
    tally = tally_rows(rows)
    _say(comm, f"wrote {outdir}/results.csv ({len(rows) - tally.failed} runs "
               f"[{', '.join(tally.solvers)}], {tally.cached} cached, {tally.failed} failed)")
    return 1 if tally.failed else 0


def cmd_mechanics(args) -> int:
    """The mechanics of a finished run again, on its saved mu_Li0, with --set changes."""
    from fem_sse.app.restart import parse_set, rerun_mechanics
    from fem_sse.app.results import RunInfo
    from fem_sse.mechanics.results import peak_line
    from fem_sse.progress import Progress
    from fem_sse.transport.results import TransportResult

    comm = world()
    sets = [parse_set(text) for text in args.set]
    run = Path(args.outdir)
    outdir = Path(_check_output(comm, args, str(run.with_name(run.name + "_mechanics")), (run,)))
    with Progress(f"mechanics {run.name}", comm=comm) as bar:
        s = rerun_mechanics(run, outdir, comm, sets, png=not args.no_png, progress=bar.message,
                            overwrite=args.overwrite)
    _say(comm, f"{RunInfo.from_summary(s).case}: {peak_line(s)} "
               f"({TransportResult.from_summary(s).wall_time_s:.1f} s, transport of {run} "
               f"reused) -> {outdir}")
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
    from fem_sse.app.design.command import DesignRequest, report_lines, run_design
    from fem_sse.app.design.metrics import DesignOptions

    comm = world()
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
    _say(comm, "\n".join(report_lines(summary) + [f"-> {outdir}"]))
    return 0


def cmd_view(args) -> int:
    """Load a result's VTU files with pyvista, print their arrays, optionally draw a PNG."""
    from fem_sse.app.view import view

    comm = world()
    if args.png:  # never replace a file the user owns without --overwrite
        from fem_sse.io.outdir import check_file_target

        check_file_target(args.png, overwrite=args.overwrite, what="--png")
    lines = view(args.outdir, args.png, args.array, args.file) if comm.rank == 0 else []
    if args.png and comm.rank == 0:  # a PNG in a result folder is fem-sse's (--overwrite)
        from fem_sse.io.outdir import record_written

        record_written(Path(args.png))
    for line in lines:
        print(line)
    return 0
