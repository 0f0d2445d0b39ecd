"""The layers of the package (docs/architecture.md), checked on the source (no imports run).

* imports flow one way: a module may import its own layer and the layers below it, never one
  above (also not inside a function: a lazy import still ties the layers together);
* no import circle between modules at module level (a package's ``__init__`` importing its own
  submodules is not a circle of the code);
* the light layers (spec, materials, the exact 1D solver) import no DOLFINx, PETSc or MPI, so
  that config validation, the design assistant and the exact solver run without them;
* every package ``__init__`` is light: importing the package imports none of its submodules
  (names are re-exported on first use, fem_sse/lazy.py), and no DOLFINx, PETSc, MPI or Gmsh;
* no line of fem_sse/ is longer than pyproject's ruff line-length (100), but for the files of
  the explicit allowance below.
"""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fem_sse"
#: bottom to top; a top-level module (compat, errors, progress, solvers) is the base layer
LAYERS = ("base", "materials", "spec", "geometry", "transport", "io", "mechanics", "app")
LIGHT = ("fem_sse.spec", "fem_sse.materials", "fem_sse.transport.exact1d",
         "fem_sse.transport.exact1d_branch")
HEAVY = ("dolfinx", "petsc4py", "mpi4py", "ufl", "basix", "gmsh")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _layer(module: str) -> str:
    if module == "fem_sse.__main__":
        return "app"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else "base"


def _top_level(body):
    """The statements run at import: into ``if``/``try`` blocks, but not ``if TYPE_CHECKING``
    (annotations only)."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        if isinstance(node, ast.If | ast.Try):
            for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                          *(h.body for h in getattr(node, "handlers", []))):
                yield from _top_level(block)


def _imports(path: Path, top_level_only: bool = False):
    """(line, imported module) for every absolute import of the file."""
    tree = ast.parse(path.read_text())
    nodes = _top_level(tree.body) if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # ``from fem_sse.x import module``
                if f"{node.module}.{alias.name}" in MODULES:
                    yield node.lineno, f"{node.module}.{alias.name}"


def test_the_layers_are_known():
    assert {_layer(m) for m in MODULES} <= set(LAYERS)
    assert _layer("fem_sse.compat") == "base" and _layer("fem_sse.transport.problem") == "transport"
    assert _layer("fem_sse.app.design.metrics") == "app" and _layer("fem_sse.spec") == "spec"


def test_imports_flow_down():
    upward = []
    for module, path in MODULES.items():
        for line, target in _imports(path):
            if target.startswith("fem_sse.") and target != "fem_sse":
                if LAYERS.index(_layer(target)) > LAYERS.index(_layer(module)):
                    upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def _circles() -> list[list[str]]:
    graph = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for _, target in _imports(path, top_level_only=True):
            if target in MODULES and not (module == target.rsplit(".", 1)[0]
                                          or target.startswith(module + ".")):
                graph[module].add(target)
    circles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return circles


def test_no_import_circle():
    assert _circles() == []


@pytest.mark.parametrize("light", LIGHT)
def test_light_layers_import_no_dolfinx(light):
    heavy = [f"{path.name}:{line} {target}" for module, path in MODULES.items()
             if module == light or module.startswith(light + ".")
             for line, target in _imports(path) if target.split(".")[0] in HEAVY]
    assert not heavy, heavy


#: every package
PACKAGES = ("fem_sse.spec", "fem_sse.materials", "fem_sse.geometry", "fem_sse.transport",
            "fem_sse.io", "fem_sse.mechanics", "fem_sse.app", "fem_sse.app.design")


@pytest.mark.serial  # a fresh interpreter per package (sys.modules of this one is polluted)
@pytest.mark.parametrize("package", PACKAGES)
def test_packages_are_light(package):
    code = (f"import sys, {package}; print(sorted(m for m in sys.modules if m.startswith("
            f"'{package}.') or m.split('.')[0] in {HEAVY!r}))")
    run = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert ast.literal_eval(run.stdout.strip()) == [], f"import {package} loads these"


def test_lazy_names_resolve():
    """Each name a light package lists in __all__ is found in the submodule it names."""
    for package in ("fem_sse.geometry", "fem_sse.mechanics", "fem_sse.app.design"):
        module = __import__(package, fromlist=["__all__"])
        for name in module.__all__:
            value = getattr(module, name)
            assert getattr(value, "__name__", name) == name, (package, name)  # METRICS: a dict
        with pytest.raises(AttributeError):
            module.no_such_name  # noqa: B018


def test_line_length():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    limit = pyproject["tool"]["ruff"].get("line-length", 100)
    long = [f"{path.relative_to(PACKAGE.parent)}:{n}: {len(line)}"
            for path in sorted(PACKAGE.rglob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), 1) if len(line) > limit]
    assert not long, f"lines over {limit} characters:\n" + "\n".join(long)


def test_no_private_attribute_of_a_transport_problem_outside_its_class():
    """Everything outside ``transport/problem.py`` uses the public surface of a transport
    problem (issue 15): no ``problem._name`` in the package, the tests or the benchmarks (the
    EAFE problem is another class with its own module)."""
    root = PACKAGE.parent
    private = re.compile(r"\b(problem|other|saved)\._[A-Za-z]")
    found = []
    for folder in ("fem_sse", "tests", "bench"):
        for path in (root / folder).rglob("*.py"):
            if path.name == "problem.py" or "eafe" in path.name or path == Path(__file__):
                continue
            found += [f"{path.relative_to(root)}:{i}" for i, line in
                      enumerate(path.read_text().splitlines(), 1) if private.search(line)]
    assert not found, found


#: modules that may exceed MAX_MODULE_LINES for now (issue 15: to split next)
LONG_MODULES_ALLOWED: tuple[str, ...] = ()
MAX_MODULE_LINES = 400


def test_module_size():
    """No module over ~400 lines (issue 15), but for the explicit allowance above."""
    big = [f"{path.relative_to(PACKAGE.parent)}: {n}" for path in sorted(PACKAGE.rglob("*.py"))
           if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
           and str(path.relative_to(PACKAGE)) not in LONG_MODULES_ALLOWED]
    assert not big, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(big)


@pytest.mark.serial  # a fresh interpreter: the order of the imports is the point
def test_lazy_name_shared_with_a_submodule():
    """``optimize`` is a function of app.design and its submodule's name: importing the
    submodule first still leaves the package's ``optimize`` the function."""
    code = ("import fem_sse.app.design.optimize; from fem_sse.app.design import optimize; "
            "print(callable(optimize) and optimize.__module__)")
    run = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "fem_sse.app.design.optimize"


#: a branch on a mesh's or a case's dimension (``config.dim == 1``, ``tdim != 2``,
#: ``mesh.geometry.dim > 1``; not numpy's ``ndim``, not a Gmsh entity's ``entity_dim == 2``)
DIM_BRANCH = re.compile(r"\b[tg]?dim\s*(==|!=|<=|>=|<|>)\s*[123]\b")
#: where the dimension is asked: one object per dimension and layer (issue 15), chosen by a
#: table lookup (none of them branches on it either)
DISCRETISATION_MODULES = ("spec/dimension.py", "geometry/discretisation.py",
                          "transport/discretisation.py", "mechanics/discretisation.py",
                          "app/dimension.py")
#: dimension branches left outside them: none (a ratchet: never raise it)
MAX_DIM_BRANCHES = 0
#: modules that ask the discretisation instead (must stay free of dimension branches)
NO_DIM_BRANCH = ("transport/adapt.py", "transport/eafe.py", "transport/eafe_edges.py",
                 "transport/eafe_solve.py", "transport/eafe_newton.py",
                 "transport/eafe2d.py", "transport/eafe2d_solve.py",
                 "transport/linear.py", "transport/forms.py", "transport/problem.py",
                 "transport/diagnosis.py", "transport/metrics1d.py", "transport/metrics2d.py",
                 "geometry/build.py", "io/outputs.py", "io/vtu.py", "mechanics/write.py",
                 "compat.py", "geometry/line.py")


def _dim_branches() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if name in DISCRETISATION_MODULES:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if DIM_BRANCH.search(code):
                found.append(f"{name}:{n}")
    return found


def test_dimension_branches_only_in_the_discretisation():
    """No ``dim`` branch outside the discretisation objects (issue 15): a ratchet on the
    count left, and none in the modules that were folded onto the discretisation."""
    found = _dim_branches()
    folded = [f for f in found if f.split(":")[0] in NO_DIM_BRANCH]
    assert not folded, f"dimension branches in folded modules: {folded}"
    assert len(found) <= MAX_DIM_BRANCHES, (
        f"{len(found)} dimension branches (at most {MAX_DIM_BRANCHES}): ask "
        "fem_sse.transport.discretisation instead:\n" + "\n".join(found))


def test_dimension_branch_pattern():
    """The pattern of the ratchet finds the branches and only them."""
    for branch in ("if config.dim == 1:", "tdim != 2", "msh.geometry.dim > 1", "gdim == 1"):
        assert DIM_BRANCH.search(branch), branch
    for other in ("values.ndim == 1", "feature.dim == 0", "entity_dim == 2", "dim=2",
                  "(dim 1 or 2)"):
        assert not DIM_BRANCH.search(other), other


def _spelled_keys() -> dict[str, set[str]]:
    """Every string constant used as a dict key, a subscript or a ``.get``/``.pop``/
    ``.setdefault`` key in fem_sse/, with the modules (relative paths) that spell it."""
    uses: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text())):
            keys = []
            if isinstance(node, ast.Dict):
                keys = node.keys
            elif isinstance(node, ast.Subscript):
                keys = [node.slice]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("get", "pop", "setdefault") and node.args):
                keys = [node.args[0]]
            for key in keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    uses.setdefault(key.value, set()).add(name)
    return uses


def _keys_in(value) -> set[str]:
    """The keys of a summary value at every depth (dicts and lists of dicts)."""
    if isinstance(value, dict):
        return set(value).union(*(_keys_in(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(_keys_in(v) for v in value))
    return set()


def _nested_blocks() -> list:
    """Records of the nested blocks with every optional key set: the 2D certificate (EAFE
    current balance, exact 1D comparison, second-scheme check), the 1D exact check, a region's
    statistics, a 2D front and an interface potential."""
    from fem_sse.transport import certificate as cert
    from fem_sse.transport.crosscheck import SchemeCheck
    from fem_sse.transport.refined_check import RefinedCheck
    from fem_sse.transport.results import InterfacePotential, Jump, Metrics, RegionStats

    def every_key(record):  # every field set: the optional ones too
        return record(**{name: 1.0 for name in record.__dataclass_fields__})

    certificate = cert.Certificate(every_key(cert.CurrentBalance),
                                   cert.residual_summary(0.0, 0.0, "V"),
                                   every_key(cert.ExactComparison), [], [], 0,
                                   (SchemeCheck("fem", 0.1, 0.1, 10, "failed"),
                                    RefinedCheck("fem", 0.1, 0.1, 40, None, 5e-4, 3, 1.0)))
    diff = cert.ExactDifferences(0.0, 0.0, 0.0, 0.0, 1, 1)
    region = {"region_name": RegionStats("llzo", "grain", 1.0, 0.0, 0.0, 0.0, 0.0)}
    metrics = Metrics((Jump(0.0, "a", "up", 1.0, 1.0, "anode"),),
                      (InterfacePotential(0.0, 0.0),), 0.0, 0.0, region)
    return [certificate.to_summary(), cert.ExactCheck(0.1, 0.9, diff, diff, True).to_summary(),
            *_mechanics_blocks(),
            {"region_stats": metrics.region_summary()},
            {"jumps": [j.to_summary() for j in metrics.jumps],
             "mu_interfaces": [m.to_summary() for m in metrics.mu_interfaces]}]


def _mechanics_blocks() -> list:
    """The run keys of the film's and the elastic solve's mechanics summaries (every field
    set; per-electrode distances spliced with their prefix)."""
    from dataclasses import fields

    from fem_sse.mechanics.results import FilmSummary, PlaneSummary

    blocks = []
    for record in (FilmSummary, PlaneSummary):
        values = {f.name: ({"cathode": 1.0} if "prefix" in f.metadata else 1.0)
                  for f in fields(record)}
        blocks.append(record(**values).run_keys())
    return blocks


def _every_diagnosis_key():
    """A Diagnosis with every field set: an attempt, a residual peak (every optional key
    set), an exact check and the fallback's error among them."""
    from fem_sse.app.results import Fallback
    from fem_sse.failures import Diagnosis
    from fem_sse.transport import certificate as cert
    from fem_sse.transport.diagnosis import ResidualPeak

    diff = cert.ExactDifferences(0.0, 0.0, 0.0, 0.0, 1, 1)
    special = {"attempts": [Diagnosis(stage="Newton", iterations=1)],
               "residual_peak": ResidualPeak(**{name: 1.0 for name in
                                                ResidualPeak.__dataclass_fields__}),
               "exact_check": cert.ExactCheck(0.1, 0.9, diff, diff, False),
               "current_balance": cert.CurrentBalance(
                   **{name: 1.0 for name in cert.CurrentBalance.__dataclass_fields__}),
               "fallback": Fallback.failure("EAFE failed")}
    return Diagnosis(**{name: special.get(name, 1.0) for name in Diagnosis.keys()})


def _summary_keys() -> set[str]:
    """The keys of summary.json as the records write them, at every depth: a run's
    (transport result, adaptive loop, 2D certificate, 1D exact check, fallback, run
    information), a failed run's with its ``diagnosis`` (every key a Diagnosis may have, its
    residual peak's and the fallback's), a restart's, a refinement step's and the nested
    blocks of :func:`_nested_blocks` (taken from the records' to_summary, not from a hand
    list; region names are data, not keys)."""
    from fem_sse.app.results import (
        Fallback,
        RunInfo,
        RunResult,
        failed_summary,
        files_summary,
        restart_summary,
    )
    from fem_sse.io.checkpoint import SavedRun
    from fem_sse.transport.results import (
        FailedStep,
        Refinement,
        RefinementStep,
        StepChange,
        TransportResult,
    )

    change = StepChange(1e-6, 1e-6, 1e-6)
    steps = (RefinementStep(0, 10, 21, 0.1, 5, 0.2), RefinementStep(1, 15, 31, 0.1, 3, 0.1,
                                                                    change, 1e-7),
             FailedStep(2, "diverged"))
    blocks = _nested_blocks()
    transport = TransportResult(0.9, 0.1, 9.0, 1.0, 0.01, wall_time_s=1.0).to_summary({
        **Refinement(steps, True, "tolerance", change).to_summary(),
        **blocks[0], **blocks[1],
        **Fallback("W failed", "budget", 1.0).to_summary(), **Fallback.not_taken("EAFE failed")})
    info = RunInfo("case", "fem", True, 1e-4, 1, "0.9")
    keys = _keys_in(RunResult(info, {**transport, **files_summary([])}).to_summary())
    keys |= _keys_in(failed_summary(info, ValueError("x"), _every_diagnosis_key(), False,
                                    True))
    keys |= _keys_in(restart_summary("case", "out", {}, SavedRun(1, "case", "fem", 1, 0.9, 0.1),
                                     1))
    keys |= _keys_in(blocks) - {"region_name"}
    return keys


#: (module or folder of fem_sse/, keys) that spell a summary key for something else: another
#: file or the input language. The summary's own keys are spelled by the records only.
OTHER_MEANINGS = {
    ("spec/", ("solver", "fallback", "mechanics", "kind", "material", "mu")):
        "the input language: the [solver] and [mechanics] tables, solver.fallback, a layer's "
        "material, a grain or crack kind, a strain law's kind and mu table",
    ("app/design/", ("case", "files", "t_li", "one_minus_t_li", "ionic_potential_drop_V",
                     "overshoot_fraction", "undershoot_fraction", "wall_time_s", "status",
                     "x", "crack_risk_index")):
        "the design command's own summary.json and metric names (its --objective language, "
        "crack_risk_index of the exact film among them), "
        "its points' status and its maps' axes",
    ("io/checkpoint.py", ("case", "solver", "ranks", "cells", "layer")):
        "state.json of a checkpoint (SavedRun) and its profile arrays, files of their own",
    ("app/studies.py", ("solver", "mode", "error", "status")):
        "the sweep's stamp file and its table rows (results.jsonl)",
    ("app/sweep_table.py", ("solver", "error", "status")):
        "the sweep's table columns (results.jsonl)",
    ("app/sweep_plan.py", ("solver",)): "the fingerprint of a sweep point",
    ("io/outputs.py", ("fronts", "x", "mu", "material")):
        "fronts.json and fronts.csv, files of their own; the cell samples of mu_map.png",
    ("transport/metrics2d.py", ("x", "mu", "material", "layer", "direction", "length_m",
                                "boundary_layer")):
        "a front polyline of fronts.json (Jump.to_summary writes the summary's entry) and the "
        "per-cell samples the metrics take",
    ("transport/front_groups.py", ("direction", "length_m", "boundary_layer")):
        "the front polylines of fronts.json that it joins",
    ("io/outdir.py", ("files", "fem_sse_version", "kind")):
        "the ownership marker of an output folder",
    ("geometry/", ("cells", "kind", "material", "length_m")):
        "the mesh report: elements, kind, material per physical group, GB length",
    ("progress.py", ("mode",)): "the progress display's settings",
    ("app/view.py", ("mechanics",)): "the stems of a result's VTU files",
    ("app/restart.py", ("mechanics",)): "the [mechanics] table of the restarted case",
    ("app/dimension.py", ("cells",)):
        "a 2D restart's summary: the cells of the elastic mesh (PlaneSummary.cells)",
    ("app/rows.py", ("layer", "x_m")): "profile.csv's columns",
    ("app/mechanics_step.py", ("layer", "x_m")): "profile.csv's columns, read by the film",
    ("app/run_output.py", ("x_m",)): "profile.csv's positions, read by the profile plot",
    ("transport/eafe2d.py", ("x",)): "the EAFE cut currents (positions of the cuts)",
    ("app/eafe_case.py", ("scheme",)):
        "the run's own scheme (top level); scheme_check.scheme is the checking one",
}


def _other_meaning(module: str, key: str) -> bool:
    return any(module.startswith(where) and key in keys for where, keys in OTHER_MEANINGS)


def test_summary_keys_are_spelled_once():
    """Each summary.json key is spelled in at most one module of fem_sse/ (issue 15): the
    records' ``to_summary`` write them and their ``from_summary`` (or a small helper beside
    them) read them back; elsewhere a key is only the explicit other meanings above."""
    uses = _spelled_keys()
    keys = _summary_keys()
    assert {"t_li", "jumps", "wall_time_s", "converged", "current_balance", "fallback",
            "not_converged_because", "newton_iterations", "exact_check", "case"} <= keys
    spread = {key: sorted(m for m in uses.get(key, ()) if not _other_meaning(m, key))
              for key in sorted(keys)}
    twice = {key: modules for key, modules in spread.items() if len(modules) > 1}
    assert not twice, f"summary keys spelled in more than one module: {twice}"
    unused = [(where, key) for where, names in OTHER_MEANINGS for key in names
              if not any(m.startswith(where) for m in uses.get(key, ()))]
    assert not unused, f"allowances no longer needed: {unused}"
