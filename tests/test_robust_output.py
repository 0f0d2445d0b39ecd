"""A user's files are never touched (issue 18): output folders fem-sse does not own are refused
with one line and exit 2, ``--overwrite`` replaces only fem-sse's results, and a seeded fuzz
of output paths checks that no user file changes. Every command runs in a working folder that
holds a user tree whose checksums are compared before and after."""

import fnmatch
import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from fem_sse.app.cli import main
from fem_sse.io.outdir import MARKER, WRITES

ROOT = Path(__file__).parent.parent
CASE = ROOT / "cases" / "fig3_bilayer.toml"
RUN = ["run", str(CASE), "--solver", "exact", "-q"]

pytestmark = pytest.mark.serial


def snapshot(root: Path, times: bool = False) -> dict:
    """Every entry below ``root`` (symbolic links not followed): "dir" for folders, the target
    for links, a content hash for files and, with ``times``, their modification time (ns)."""
    def state(p: Path):
        if p.is_symlink():
            return ("link", os.readlink(p))
        if p.is_dir():
            return "dir"
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        return (digest, p.stat().st_mtime_ns) if times else digest

    return {str(p.relative_to(root)): state(p) for p in sorted(root.rglob("*"))}


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working folder with the user's own files: mydata/, out/other/, a regular file."""
    home = tmp_path / "work"
    for name, text in {"mydata/a.txt": "mine", "mydata/sub/b.csv": "1,2", "out/other/f.txt":
                       "earlier result of mine", "notes.txt": "keep", "data.partial/x": "mine"
                       }.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    (home / "link").symlink_to(home / "mydata")
    # a killed run's leftover into which the user put a file: never deleted (-o kept refused)
    from fem_sse.io.outdir import claim

    (home / "kept.partial").mkdir()
    claim(home / "kept.partial", "run")
    (home / "kept.partial" / "summary.json").write_text("{}")
    (home / "kept.partial" / "my_plot.svg").write_text("mine")
    monkeypatch.chdir(home)
    return home


def _refused(capsys, argv, *needles) -> str:
    """Run ``argv``: exit 2 and one line on stderr containing ``needles``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


@pytest.mark.parametrize("output, needle", [
    ("mydata", "was not created by fem-sse"),
    ("link", "was not created by fem-sse"),
    ("out", "was not created by fem-sse"),
    ("kept", "my_plot.svg"),  # its leftover kept.partial holds a user's file
    (".", "names the current folder"),
    ("..", "names the current folder"),
    ("./", "names the current folder"),
    ("mydata/..", "names the current folder"),
    ("notes.txt", "is a file, not a folder"),
    ("notes.txt/x", "cannot write"),
    ("/", "names the current folder"),
    ("", "-o: is empty"),  # an unset shell variable: not the default out/NAME
    (str(ROOT / "cases"), "'cases' folder of the fem_sse repository"),
    (str(ROOT / "cases" / ".."), "names the current folder"),
    (str(ROOT), "fem_sse repository"),
])
@pytest.mark.parametrize("overwrite", [False, True])
def test_foreign_outputs_refused(work, capsys, output, needle, overwrite):
    before, shipped = snapshot(work), snapshot(ROOT / "cases")
    _refused(capsys, [*RUN, "-o", output] + ["--overwrite"] * overwrite, needle)
    assert snapshot(work) == before
    assert snapshot(ROOT / "cases") == shipped


def test_cwd_and_parents_refused(work, capsys):
    before = snapshot(work)
    for output in (str(work), str(work.parent), str(work / "mydata" / ".." / "..")):
        _refused(capsys, [*RUN, "-o", output, "--overwrite"])
    assert snapshot(work) == before


@pytest.mark.parametrize("name", [".", "..", "a/b", "x" * 101])
def test_case_name_that_is_no_folder_name_refused(work, capsys, name):
    case = work.parent / "named.toml"
    case.write_text(CASE.read_text().replace('name = "fig3_bilayer"', f"name = {name!r}"))
    before = snapshot(work)
    _refused(capsys, ["run", str(case), "--solver", "exact", "-q"], "name:")
    assert snapshot(work) == before  # out/other kept, no out/...partial


def test_overwrite_replaces_only_fem_sse_results(work, capsys):
    before = snapshot(work)
    assert main([*RUN, "-o", "res"]) == 0
    marker = json.loads((work / "res" / MARKER).read_text())
    assert marker["kind"] == "run" and "summary.json" in marker["files"]
    _refused(capsys, [*RUN, "-o", "res"], "earlier fem-sse result", "--overwrite")
    assert main([*RUN, "-o", "res", "--overwrite"]) == 0
    (work / "res" / "my_notes.txt").write_text("mine")  # a user's file in a result folder
    _refused(capsys, [*RUN, "-o", "res", "--overwrite"], "my_notes.txt")
    assert (work / "res" / "my_notes.txt").read_text() == "mine"
    # a folder in the way of the temporary one that fem-sse did not create is not deleted
    _refused(capsys, [*RUN, "-o", "data"], "data.partial")
    assert {k: v for k, v in snapshot(work).items() if not k.startswith("res")} == before


def test_view_png_in_a_result_is_replaced_with_it(work, capsys):
    """``fem-sse view OUT --png OUT/view.png`` (the docs' example) records the PNG as fem-sse's:
    ``--overwrite`` of the result then replaces it instead of refusing it as the user's. A PNG
    written into a user's folder leaves that folder fem-sse's as little as before."""
    fem = ["run", str(CASE), "--solver", "fem", "-q", "-o", "res"]
    assert main(fem) == 0
    assert main(["view", "res", "--png", "res/view.png"]) == 0
    assert "view.png" in json.loads((work / "res" / MARKER).read_text())["files"]
    assert main([*fem, "--overwrite"]) == 0
    assert not (work / "res" / "view.png").exists()
    assert main(["view", "res", "--png", "mydata/view.png"]) == 0
    assert not (work / "mydata" / MARKER).exists()
    capsys.readouterr()
    _refused(capsys, [*RUN, "-o", "mydata", "--overwrite"], "was not created by fem-sse")


def test_empty_folder_is_used_and_case_input_protected(work, capsys):
    (work / "empty").mkdir()
    assert main([*RUN, "-o", "empty"]) == 0
    assert (work / "empty" / MARKER).exists()
    case = work / "mine" / "case.toml"
    case.parent.mkdir()
    case.write_text(CASE.read_text())
    (work / "mine" / MARKER).write_text(json.dumps({"fem_sse_output": 1, "kind": "run"}))
    _refused(capsys, ["run", str(case), "--solver", "exact", "-q", "-o", "mine", "--overwrite"],
             "contains the input file")
    assert case.read_text() == CASE.read_text()


def test_sweep_and_design_outputs(work, capsys):
    before = snapshot(work)
    sweep = ["sweep", str(CASE), "--set", "cell.mu_anode=0,0.05", "--solver", "exact", "-q",
             "--no-plots"]
    _refused(capsys, [*sweep, "-o", "mydata"], "was not created by fem-sse")
    _refused(capsys, [*sweep, "-o", "."], "names the current folder")
    assert main([*sweep, "-o", "sw"]) == 0
    assert main([*sweep, "-o", "sw"]) == 0  # a sweep folder is resumed
    (work / "sw" / "notes.txt").write_text("mine")
    _refused(capsys, [*sweep, "-o", "sw", "--overwrite"], "notes.txt")
    (work / "sw" / "notes.txt").unlink()
    assert main([*sweep, "-o", "sw", "--overwrite"]) == 0
    _refused(capsys, [*RUN, "-o", "sw"], "earlier fem-sse result (sweep")
    design = ["design", str(CASE), "--vary", "materials.SE_anodic.B=-0.9:-0.4", "--vary",
              "cell.mu_anode=-0.1:0.3", "--points", "3"]
    _refused(capsys, [*design, "-o", "mydata"], "was not created by fem-sse")
    _refused(capsys, [*design, "-o", str(ROOT / "cases")], "fem_sse repository")
    assert main([*design, "-o", "des"]) == 0
    files = json.loads((work / "des" / MARKER).read_text())["files"]  # all in WRITES
    assert "map.csv" in files and not [f for f in files if not any(
        fnmatch.fnmatch(f, p) for p in WRITES)]
    capsys.readouterr()
    _refused(capsys, [*design, "-o", "des"], "--overwrite")
    assert main([*design, "-o", "des", "--overwrite"]) == 0
    assert {k: v for k, v in snapshot(work).items()
            if not k.startswith(("sw", "des"))} == before


def test_long_sweep_folder_names(work, capsys):
    """Ten --set keys: folder names are cut to MAX_FOLDER_NAME with a hash (no ENAMETOOLONG)."""
    from fem_sse.app.studies import MAX_FOLDER_NAME

    keys = [f"materials.{m}.{k}" for m in ("SE_cathodic", "SE_anodic")
            for k in ("sigma_li", "A")] + ["cell.temperature", "cell.current_density"]
    values = {"sigma_li": "0.1,0.2", "A": "1e-17", "temperature": "298",
              "current_density": "10"}
    sets = [f"{k}={values[k.rsplit('.', 1)[1]]}" for k in keys]
    sets += [f"geometry.layers[{i}].thickness=5e-05" for i in (0, 1)]
    sets += ["cell.mu_anode=0", "cell.mu_cathode=-3"]
    assert len(sets) == 10
    argv = ["sweep", str(CASE), "--solver", "exact", "-q", "--no-plots", "-o", "long"]
    assert main(argv + [a for s in sets for a in ("--set", s)]) == 0
    runs = [p.name for p in (work / "long").iterdir() if p.name.startswith("run_")]
    assert len(runs) == 4 and all(len(n) <= MAX_FOLDER_NAME for n in runs)
    assert len((work / "long" / "results.csv").read_text().splitlines()) == 5


def test_mesh_file_targets(work, capsys):
    one_d = ["mesh", str(CASE)]
    _refused(capsys, [*one_d, "-o", "m.msh", "--report"], "--report", "1D")
    _refused(capsys, [*one_d, "-o", "m.msh", "--png", "m.png"], "--png", "1D")
    _refused(capsys, [*one_d, "-o", "notes.txt", "--overwrite"], "extension")
    _refused(capsys, [*one_d, "-o", "mydata"], "extension")
    _refused(capsys, [*one_d, "-o", "mydata.msh/"], "names a folder")
    assert main([*one_d, "-o", "m.msh"]) == 0
    _refused(capsys, [*one_d, "-o", "m.msh"], "--overwrite")
    shipped = ROOT / "meshes" / "2d_defects.msh"
    before = shipped.read_bytes()
    _refused(capsys, [*one_d, "-o", str(shipped), "--overwrite"], "file of the fem_sse repo")
    assert shipped.read_bytes() == before
    assert main([*one_d, "-o", "m.msh", "--overwrite"]) == 0
    case2d = ROOT / "cases" / "2d" / "bilayer_bottlenecks.toml"
    assert main(["mesh", str(case2d), "-o", "new/sub/m2.msh", "--png", "pngs/m2.png",
                 "--report"]) == 0
    assert (work / "pngs" / "m2.png").stat().st_size > 1000
    assert (work / "new" / "sub" / "m2.report.json").exists()
    assert not [p for p in work.rglob("*partial*") if p.name not in ("data.partial",
                                                                       "kept.partial")]


def test_bad_command_line_values(work, capsys):
    big = work.parent / "big.toml"
    big.write_text(CASE.read_text().replace("temperature = 298.0", "temperature = " + "9" * 400))
    _refused(capsys, ["run", str(big), "--solver", "exact"], "cell.temperature", "400 digits")
    _refused(capsys, ["sweep", str(CASE), "--set", "cell.mu_anode=0,0.1", "--ranks-per-run",
                      "0"], "--ranks-per-run")
    bom = work.parent / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + CASE.read_bytes())
    assert main(["run", str(bom), "--solver", "exact", "-q", "-o", "bom"]) == 0


# ---------------------------------------------------------------------------------------------
# Seeded fuzz of output paths
# ---------------------------------------------------------------------------------------------

_PARTS = ("mydata", "out", "other", "sub", ".", "..", "notes.txt", "link", "new", "res",
          "data.partial", "data", "x y", "é", "", "cases", "kept", "kept.partial", "ext",
          "notes_link", "dangling", "prev", "prev.old-1")
_SHIPPED = ("", "cases", "docs", "fem_sse", "meshes", "cases/..", "docs/../tests", ".git")
_UP = ("", "outside", "outside/f.txt", "work", "new_beside", "work/mydata")  # under "up/"


def _random_path(rng: random.Random, work: Path) -> str:
    parts = [rng.choice(_PARTS) for _ in range(rng.randint(1, 3))]
    path = "/".join(parts)
    if path.startswith("/"):  # a leading "" part: stay in the working folder, not at the root
        path = "." + path
    roll = rng.random()
    if roll < 0.15:
        path = str(work / path)
    elif roll < 0.25:  # the repository's own folders (never a new folder in it)
        path = str(ROOT / rng.choice(_SHIPPED))
    elif roll < 0.3:
        path = "~"
    elif roll < 0.4:  # through a link to the parent folder: beside the working folder
        path = "up/" + rng.choice(_UP)
    elif roll < 0.45:
        path = rng.choice(("../outside", "../..", "../work", str(work.parent)))
    return path + ("/" if rng.random() < 0.1 else "")


def _fuzz_tree(work: Path) -> Path:
    """Beside the fixture's user tree: a foreign folder outside the working folder reached
    through a link, links to a file, to nowhere and to the parent, and an earlier fem-sse
    result (``prev``, which --overwrite may replace) with the aside copy of an older one."""
    outside = work.parent / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "f.txt").write_text("foreign, outside the working folder")
    (outside / "deep" / "g.bin").write_bytes(bytes(range(256)))
    (work / "ext").symlink_to(outside)
    (work / "notes_link").symlink_to(work / "notes.txt")
    (work / "dangling").symlink_to(work / "nowhere")
    (work / "up").symlink_to(work.parent)
    assert main([*RUN, "-o", "prev"]) == 0
    assert main([*RUN, "-o", "prev.old-1"]) == 0  # a leftover aside copy (sealed: removable)
    return outside


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_output_paths_touch_no_user_file(work, capsys, seed):
    """Seeded random output paths (relative, absolute, through links to folders, files, the
    parent and nowhere, '.', '..', parents, the home folder, the repository; with and without
    --overwrite): exit 0 or one line and exit 2, and every file fem-sse did not write keeps its
    bytes and modification time (links their targets) inside and outside the working folder."""
    rng = random.Random(seed)
    outside = _fuzz_tree(work)
    fem_sse = ("prev", "prev.old-1")  # fem-sse's: --overwrite may replace them

    def foreign(tree: dict) -> dict:
        return {k: v for k, v in tree.items() if k.split(os.sep)[0] not in fem_sse}

    before, shipped = foreign(snapshot(work, times=True)), snapshot(ROOT / "cases", times=True)
    beside = snapshot(outside, times=True)
    repo_top, parent_top = sorted(os.listdir(ROOT)), set(os.listdir(work.parent))
    outcomes = {0: 0, 2: 0}
    for _ in range(40):
        path = _random_path(rng, work)
        argv = [*RUN, "-o", path] + (["--overwrite"] if rng.random() < 0.5 else [])
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code in outcomes, (path, err)
        outcomes[code] += 1
        assert len(err) == (code != 0), (path, err)
        after = snapshot(work, times=True)
        # every user file, folder and link is still there, unchanged
        assert {k: v for k, v in after.items() if k in before} == before, path
        assert {k: v for k, v in snapshot(outside, times=True).items() if k in beside} == beside
        if code == 0:
            target = Path(os.path.realpath(os.path.expanduser(path)))
            assert json.loads((target / MARKER).read_text())["kind"] == "run", path
            assert target == Path.home() or work.parent in target.parents, (path, target)
    assert snapshot(ROOT / "cases", times=True) == shipped and sorted(os.listdir(ROOT)) == repo_top
    assert outcomes[0] > 3 and outcomes[2] > 3, outcomes  # the fuzz reaches both outcomes
    assert not [p for p in work.rglob("*.partial") if p.name not in ("data.partial",
                                                                      "kept.partial")]
    for name in set(os.listdir(work.parent)) - parent_top:  # new beside work: fem-sse's
        top = work.parent / name  # (a result, or missing parent folders of one)
        for f in [top] if top.is_file() else top.rglob("*"):
            assert f.is_dir() or any((d / MARKER).is_file() for d in f.parents
                                     if d == top or top in d.parents), f


# ---------------------------------------------------------------------------------------------
# What a killed run leaves: removed only when it holds nothing but what fem-sse wrote
# ---------------------------------------------------------------------------------------------

def _leftover(folder: Path, entries: dict, marker: dict | None = None) -> None:
    """A folder as a run killed while writing leaves it: claimed, not sealed."""
    from fem_sse.io.outdir import claim

    folder.mkdir()
    if marker is None:
        claim(folder, "run")
    else:
        (folder / MARKER).write_text(json.dumps(marker))
    for name, text in entries.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def test_killed_runs_leftover_removed_only_if_all_fem_sse(work, capsys):
    """The next run of the same output removes OUTDIR.partial and OUTDIR.old-PID when they
    hold only names the marker records (fem_sse.io.outdir.WRITES); a user's file in one stops
    it with one line naming that file, and nothing is deleted."""
    mine = {"summary.json": "{}", "fields.bp/data.0": "x", "checkpoint/state.json": "{}",
            ".summary.json.123.tmp": "", "fields_p1.vtu": ""}
    _leftover(work / "res.partial", mine)
    assert main([*RUN, "-o", "res"]) == 0
    assert not (work / "res.partial").exists() and (work / "res" / "summary.json").exists()

    _leftover(work / "two.partial", {**mine, "my_notes.txt": "mine", "sub/keep.csv": "1"})
    before = snapshot(work)
    _refused(capsys, [*RUN, "-o", "two"], "two.partial", "my_notes.txt", "files it did not write")
    assert snapshot(work) == before

    # a marker without a record (an older fem-sse, or written by hand): nothing is fem-sse's
    _leftover(work / "old.partial", {"summary.json": "{}"}, {"fem_sse_output": 1, "kind": "run"})
    _refused(capsys, [*RUN, "-o", "old"], "old.partial", "summary.json")
    assert (work / "old.partial" / "summary.json").exists()

    # the aside copy of a replaced result: a sealed record
    sealed = {"fem_sse_output": 1, "kind": "run", "files": ["summary.json"]}
    _leftover(work / "res.old-77", {"summary.json": "{}", "photo.png": "mine"}, sealed)
    _refused(capsys, [*RUN, "-o", "res", "--overwrite"], "res.old-77", "photo.png")
    assert (work / "res.old-77" / "photo.png").read_text() == "mine"
    (work / "res.old-77" / "photo.png").unlink()
    assert main([*RUN, "-o", "res", "--overwrite"]) == 0
    assert not (work / "res.old-77").exists()


def test_remove_owned(tmp_path):
    from fem_sse.io.outdir import OutputError, remove_owned

    assert remove_owned(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    assert remove_owned(tmp_path / "empty") and not (tmp_path / "empty").exists()
    _leftover(tmp_path / "user", {"a.txt": "x"}, {"kind": "not a marker"})
    assert not remove_owned(tmp_path / "user") and (tmp_path / "user" / "a.txt").exists()
    _leftover(tmp_path / "run", {"mu_map.png": "", "x.txt": "mine"})
    with pytest.raises(OutputError, match="x.txt"):
        remove_owned(tmp_path / "run")
    (tmp_path / "run" / "x.txt").unlink()
    assert remove_owned(tmp_path / "run") and not (tmp_path / "run").exists()
