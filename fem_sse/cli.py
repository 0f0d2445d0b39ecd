"""The ``fem-sse`` command: info, run, mesh, sweep.

Errors are one line on stderr and a non-zero exit; under MPI an error on any rank aborts the
whole job and is printed once.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
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


def cmd_run(args) -> int:
    """Solve one case and write its outputs."""
    from fem_sse.config import load_config
    from fem_sse.run import run_case

    comm = _comm()
    config = load_config(args.config)
    outdir = Path(args.output or Path("out") / config.name)
    summary = run_case(config, outdir, comm, solver=args.solver,
                       progress=(lambda s: _say(comm, s)) if not args.quiet else None)
    _say(comm, f"{config.name}: t_Li = {summary['t_li']:.8f} (1 - t_Li = "
               f"{summary['one_minus_t_li']:.4e}), {len(summary['jumps'])} jump(s), "
               f"{summary['dofs']} DOFs, {summary['wall_time_s']:.2f} s [{summary['solver']}]"
               f" -> {outdir}")
    return 0


def cmd_mesh(args) -> int:
    """Write the Gmsh mesh of a config (rank 0), optionally its report (JSON) and a PNG."""
    from fem_sse.config import load_config
    from fem_sse.geometry import write_msh

    comm = _comm()
    config = load_config(args.config)
    output = Path(args.output)
    report_path = output.with_suffix(".report.json")
    if comm.rank == 0:
        output.parent.mkdir(parents=True, exist_ok=True)
        report = write_msh(config, output, report=args.report and config.dim == 2, png=args.png)
        if report is not None and args.report:
            from fem_sse.geometry.report import format_report

            report_path.write_text(json.dumps(report, indent=1) + "\n")
            print(format_report(report), flush=True)
    comm.barrier()
    extra = f", {report_path}" if args.report and config.dim == 2 else ""
    _say(comm, f"wrote {output}{extra}" + (f", {args.png}" if args.png else ""))
    return 0


def _parse_set(items: list[str]) -> list[tuple[str, list]]:
    from fem_sse.config import ConfigError

    parsed = []
    for item in items:
        if "=" not in item:
            raise ConfigError("--set", f"expected KEY=V1,V2,..., got {item!r}")
        key, values = item.split("=", 1)
        out = []
        for text in values.split(","):
            try:
                out.append(json.loads(text))
            except json.JSONDecodeError:
                out.append(text)
        parsed.append((key.strip(), out))
    return parsed


def _assign(data: dict, dotted: str, value) -> None:
    """data['a']['b'][0]['c'] = value for 'a.b[0].c'."""
    from fem_sse.config import ConfigError

    node = data
    parts = dotted.replace("]", "").replace("[", ".").split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key = int(part) if part.isdigit() else part
        try:
            if last:
                node[key] = value
            else:
                node = node[key]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(dotted, "no such key in the config") from None


def cmd_sweep(args) -> int:
    """Run the grid of --set values, one folder per run, plus results.jsonl and results.csv."""
    import copy
    import csv

    import tomllib

    from fem_sse.config import parse_config
    from fem_sse.run import run_case

    comm = _comm()
    base = tomllib.loads(Path(args.config).read_text())
    grid = _parse_set(args.set)
    keys = [k for k, _ in grid]
    combos = list(itertools.product(*(v for _, v in grid)))
    configs = []
    for combo in combos:  # validate everything before running anything
        data = copy.deepcopy(base)
        for key, value in zip(keys, combo):
            _assign(data, key, value)
        configs.append(parse_config(data, name=Path(args.config).stem))
    outdir = Path(args.output or Path("out") / f"sweep_{Path(args.config).stem}")
    rows = []
    for n, (combo, config) in enumerate(zip(combos, configs), start=1):
        run_dir = outdir / ("run_" + "_".join(f"{k.split('.')[-1]}={v}" for k, v in
                                              zip(keys, combo)).replace("/", "_"))
        done = run_dir / "summary.json"
        if done.exists():
            summary = json.loads(done.read_text())
            state = "cached"
        else:
            summary = run_case(config, run_dir, comm, solver=args.solver)
            state = "done"
        rows.append({**dict(zip(keys, combo)), "t_li": summary["t_li"],
                     "one_minus_t_li": summary["one_minus_t_li"],
                     "jumps_x": [j["x"] for j in summary["jumps"]],
                     "overshoot_fraction": summary["overshoot_fraction"],
                     "solver": summary["solver"], "wall_time_s": summary["wall_time_s"]})
        _say(comm, f"[{n}/{len(combos)}] {state} {run_dir.name}: t_Li = {summary['t_li']:.8f}")
    if comm.rank == 0:
        with (outdir / "results.jsonl").open("w") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        with (outdir / "results.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    _say(comm, f"wrote {outdir}/results.csv")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    parser = argparse.ArgumentParser(prog="fem-sse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fem-sse {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver details")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="print versions of DOLFINx, PETSc, MPI, gmsh, pyvista")
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("run", help="solve a case and write its outputs")
    p.add_argument("config", help="TOML case file")
    p.add_argument("-o", "--output", help="output folder (default out/CASE)")
    p.add_argument("--solver", choices=("fem", "exact"), help="override [solver] kind")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("mesh", help="write the Gmsh mesh of a case")
    p.add_argument("config", help="TOML case file")
    p.add_argument("-o", "--output", required=True, help="output .msh file")
    p.add_argument("--report", action="store_true",
                   help="2D: print the mesh report and write it to OUTPUT.report.json")
    p.add_argument("--png", metavar="FILE", help="2D: PNG of the mesh coloured by region")
    p.set_defaults(func=cmd_mesh)
    p = sub.add_parser("sweep", help="run a grid of parameter values (resumable)")
    p.add_argument("config", help="TOML base case")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="dotted key and values, e.g. cell.mu_anode=0,0.05,0.1")
    p.add_argument("-o", "--output", help="output folder (default out/sweep_CASE)")
    p.add_argument("--solver", choices=("fem", "exact"), help="override [solver] kind")
    p.set_defaults(func=cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (fem_sse.errors: 0 ok, 1 internal, 2 input, 3 not
    converged)."""
    from fem_sse.errors import EXIT_INTERNAL, ErrorReporter, exit_code

    args = build_parser().parse_args(argv)
    level = os.environ.get("FEM_SSE_LOG_LEVEL", "").upper() or ("INFO" if args.verbose
                                                               else "WARNING")
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    reporter = ErrorReporter(_comm())
    try:
        code = args.func(args)
    except Exception as exc:  # noqa: BLE001 - one line for users; traceback with -v
        if args.verbose and exit_code(exc) == EXIT_INTERNAL:
            traceback.print_exc()
        return reporter.fail(exc)
    reporter.close()
    return code
