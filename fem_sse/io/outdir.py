"""Output folders fem-sse owns, and the output paths it refuses (docs/robustness.md).

A user's files are never replaced or deleted. fem-sse replaces or removes a folder only when it
carries the marker file :data:`MARKER`, which fem-sse writes into every folder it creates (a
folder written by an older fem-sse, without it, is foreign too). Everything else is refused
before any work starts, with one line naming the cause and the fix (:class:`OutputError`, exit
code 2):

* a name whose last part is ``.`` or ``..``, the current folder or one of its parents, the
  repository or a folder containing one of its shipped folders (``-o cases``), a folder
  containing an input file, a regular file where a folder is expected;
* an existing folder without the marker, unless it is empty (nothing to lose);
* an earlier fem-sse result without ``--overwrite``; with it, a result into which someone put
  files fem-sse did not write (the marker lists what fem-sse wrote).

The marker is JSON: ``{"fem_sse_output": 1, "kind", "created_utc", "fem_sse_version"}`` plus
``"files"`` (the entries fem-sse wrote, once the folder is complete), ``"patterns"`` (a sweep
folder, which grows point by point) or ``"writes"`` (a folder still being written, e.g. the
``OUTDIR.partial`` a killed run leaves: the names fem-sse may have written into it,
:data:`WRITES`). Only entries in that record are fem-sse's; a marked folder holding anything
else is never deleted (:func:`remove_owned` refuses with one line).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import time
from pathlib import Path

from fem_sse.errors import ConfigError, OutputError

__all__ = ["MARKER", "WRITES", "OutputError", "check_file_target", "claim", "foreign_entries",
           "on_root", "open_resumable", "plan_output", "read_marker", "record_written",
           "remove_owned", "seal"]

MARKER = ".fem_sse_output.json"

#: the names fem-sse writes into a result folder (run, mechanics, design; files and folders,
#: with the temporary names of its atomic writes): recorded in the marker of a folder while it
#: is written, so that what a killed run leaves is removed without touching anything else
WRITES = ("summary.json", "profile.csv", "profile.png", "fields.bp", "currents.bp",
          "regions.xdmf", "regions.h5", "fields.vtu", "fields.pvtu", "fields_p*.vtu",
          "fronts.json", "fronts.csv", "mu_map.png", "checkpoint", "mechanics.bp",
          "mechanics.xdmf", "mechanics.h5", "mechanics.vtu", "mechanics.pvtu", "mechanics_p*.vtu",
          "mechanics.png", "tractions.csv", "map.csv", "map.png", "evaluations.csv", "best.toml",
          "best_profile.png", "pareto.csv", "pareto.png", "*.tmp")

#: top-level folders of the repository that an output may never be (or contain)
SHIPPED = (".git", "bench", "cases", "docker", "docs", "fem_sse", "meshes", "tests")


def repo_root() -> Path | None:
    """The repository this package runs from (a source checkout), else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "cases").is_dir() else None


def resolve(path) -> Path:
    """Absolute path with ``~``, ``..`` and symbolic links resolved (what is really written)."""
    return Path(os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def _check_name(raw: str, what: str) -> None:
    tail = raw.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if not raw.strip():
        raise OutputError(what, "is empty: give a new folder name, e.g. out/NAME")
    if tail in ("", ".", ".."):
        raise OutputError(what, f"{raw!r} names the current folder, its parent or the root "
                          "('.', '..', '/'): give a new folder name, e.g. out/NAME")


def _check_place(final: Path, what: str, inputs=()) -> None:
    """Refuse the current folder and its parents, the repository's folders and input files."""
    cwd = resolve(os.getcwd())
    if final == cwd or final in cwd.parents:
        raise OutputError(what, f"{final} is the current folder or one of its parents: give a "
                          "new folder below it, e.g. out/NAME")
    home = resolve(Path.home())
    if final == home or final in home.parents:
        raise OutputError(what, f"{final} is your home folder or contains it: give a new folder "
                          "in it, e.g. ~/NAME")
    root = repo_root()
    if root is not None:
        for shipped in (root, *(root / name for name in SHIPPED)):
            if final == shipped or final in shipped.parents:
                part = "" if shipped == root else f"'{shipped.name}' folder of the "
                raise OutputError(what, f"{final} is or contains the {part}fem_sse "
                                  "repository: write results elsewhere, e.g. out/NAME")
        if root / ".git" in final.parents:
            raise OutputError(what, f"{final} is inside the repository's .git folder")
    for item in inputs:
        if item and final in resolve(item).parents:
            raise OutputError(what, f"{final} contains the input file {item}: choose another "
                              "folder")


def read_marker(folder: Path) -> dict | None:
    """The ownership marker of ``folder`` (a dict), or None when fem-sse does not own it."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("fem_sse_output") == 1 else None


def foreign_entries(folder: Path, marker: dict) -> list[str]:
    """Entries of an owned ``folder`` that fem-sse did not write (subfolders with their own
    marker are looked into)."""
    allowed = set(marker.get("files") or ())
    patterns = list(marker.get("patterns") or ())
    if "files" not in marker:
        patterns += marker.get("writes") or ()  # still being written: what fem-sse may write
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if name == MARKER or name in allowed or any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        sub = read_marker(Path(entry.path)) if entry.is_dir(follow_symlinks=False) else None
        if sub is None:
            found.append(name)
        else:
            found += [f"{name}/{x}" for x in foreign_entries(Path(entry.path), sub)]
    return found


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def plan_output(path, *, overwrite: bool, what: str = "-o", inputs=(),
                resume_kind: str | None = None) -> tuple[Path, str]:
    """Check that fem-sse may write the folder ``path``; no file is touched.

    Args:
        path: the folder as the user gave it (the raw string: ``x/.`` is checked as such).
        overwrite: replace an earlier fem-sse result (never a foreign folder).
        what: the option or key that named it (``-o``, ``name``), for the message.
        inputs: files the command reads; the output may not contain them.
        resume_kind: a folder of this kind is resumed, not replaced (sweeps), unless
            ``overwrite``.

    Returns:
        (resolved folder, action): action is "create" (absent or empty), "replace" (an owned
        folder, ``overwrite``) or "resume".

    Raises:
        OutputError: one line with the cause and the fix.
    """
    raw = os.fspath(path)
    _check_name(raw, what)
    final = resolve(raw)
    _check_place(final, what, inputs)
    if os.path.lexists(final) and not final.is_dir():
        raise OutputError(what, f"{raw} is a file, not a folder: give a folder name (fem-sse "
                          "never replaces a file with a folder)")
    if not final.exists() or _is_empty_dir(final):
        return final, "create"
    marker = read_marker(final)
    if marker is None:
        raise OutputError(what, f"{raw} exists and was not created by fem-sse (it has no "
                          f"{MARKER}): choose a new folder name; fem-sse never replaces a "
                          "folder it did not create")
    if resume_kind is not None and marker.get("kind") == resume_kind and not overwrite:
        return final, "resume"
    if not overwrite:
        raise OutputError(what, f"{raw} holds an earlier fem-sse result ({marker.get('kind')}, "
                          f"{marker.get('created_utc', '?')}): add --overwrite to replace it, "
                          "or choose another folder")
    foreign = foreign_entries(final, marker)
    if foreign:
        raise OutputError(what, f"{raw} holds files fem-sse did not write ({', '.join(foreign[:3])}"
                          f"{', ...' if len(foreign) > 3 else ''}): move them out first, or "
                          "choose another folder (--overwrite replaces only fem-sse's results)")
    return final, "replace"


def check_file_target(path, *, overwrite: bool, what: str) -> Path:
    """Check a single output file (``fem-sse mesh -o FILE``, ``--png FILE``); returns it
    resolved. An existing file needs ``overwrite``; a file of the repository is never
    replaced."""
    raw = os.fspath(path)
    _check_name(raw, what)
    if raw.endswith(("/", os.sep)):
        raise OutputError(what, f"{raw!r} names a folder: give a file name")
    final = resolve(raw)
    if final.is_dir():
        raise OutputError(what, f"{raw} is a folder: give a file name")
    if not os.path.lexists(final):
        return final
    root = repo_root()
    if root is not None and root in final.parents:
        top = final.relative_to(root).parts[0]
        if top in SHIPPED:
            raise OutputError(what, f"{raw} is a file of the fem_sse repository: choose "
                              "another name")
    if not overwrite:
        raise OutputError(what, f"{raw} exists: add --overwrite to replace it, or choose "
                          "another name")
    return final


def claim(folder: Path, kind: str, patterns=None, writes=WRITES) -> None:
    """Write the marker into a folder fem-sse has just created (still being written).

    Args:
        patterns: names (fnmatch) of a folder that grows over several runs (a sweep).
        writes: names (fnmatch) fem-sse may write into it before :func:`seal` (what a killed
            run may leave; anything else found in it is the user's).
    """
    from fem_sse import __version__

    data = {"fem_sse_output": 1, "kind": kind, "fem_sse_version": __version__,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "note": "written by fem-sse; fem-sse replaces this folder only with --overwrite "
                    "and only if it holds nothing else"}
    if patterns is not None:
        data["patterns"] = list(patterns)
    else:
        data["writes"] = list(writes)
    (Path(folder) / MARKER).write_text(json.dumps(data, indent=1) + "\n")


def seal(folder: Path) -> None:
    """Record the entries of a complete folder in its marker (whatever is added later is the
    user's)."""
    path = Path(folder) / MARKER
    data = json.loads(path.read_text())
    data["files"] = sorted(name for name in os.listdir(folder) if name != MARKER)
    data.pop("writes", None)  # the record is now exact
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def record_written(path: Path) -> None:
    """Add the file ``path`` that fem-sse has just written into a finished result folder (e.g.
    ``fem-sse view OUTDIR --png OUTDIR/view.png``) to that folder's record, so that a later
    ``--overwrite`` of the result replaces it instead of refusing it as the user's. A folder
    fem-sse does not own, or one still being written, is left as it is."""
    folder = Path(path).resolve().parent
    data = read_marker(folder)
    if data is None or "files" not in data or not Path(path).is_file():
        return
    data["files"] = sorted(set(data["files"]) | {Path(path).name})
    marker = folder / MARKER
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, marker)


def remove_owned(path: Path, what: str = "-o") -> bool:
    """Delete ``path`` if fem-sse owns it and it holds only what fem-sse wrote (the marker's
    record), or it is an empty folder; True if it is gone, False if it is not fem-sse's.

    Raises:
        OutputError: a marked folder that holds entries fem-sse did not write (one line naming
            them); nothing is deleted.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return True
    if path.is_dir() and not path.is_symlink():
        if _is_empty_dir(path):
            path.rmdir()
            return True
        marker = read_marker(path)
        if marker is not None:
            foreign = foreign_entries(path, marker)
            if foreign:
                raise OutputError(what, f"{path} was written by fem-sse but holds files it did "
                                  f"not write ({', '.join(foreign[:3])}"
                                  f"{', ...' if len(foreign) > 3 else ''}): move them out, or "
                                  "choose another output folder")
            shutil.rmtree(path, ignore_errors=True)
            return not path.exists()
    return False


def open_resumable(path, *, kind: str, overwrite: bool, patterns, what: str = "-o") -> Path:
    """A folder that grows over several runs (a sweep): resumed when it is an owned folder of
    ``kind``, else created (after removing an owned one when ``overwrite``) and claimed with
    the names fem-sse writes into it (``patterns``; subfolders carry their own marker)."""
    final, action = plan_output(path, overwrite=overwrite, what=what, resume_kind=kind)
    if action == "resume":
        return final
    if not remove_owned(final):  # plan_output allowed it: owned or empty
        raise OutputError(what, f"{final} could not be removed: remove it by hand")
    final.mkdir(parents=True)
    claim(final, kind, patterns)
    return final


def on_root(comm, work):
    """``work()`` on rank 0 of ``comm`` (or here, without MPI); its result, or its
    :class:`OutputError` (OSErrors become one), reaches every rank."""
    result = error = None
    if comm is None or comm.rank == 0:
        try:
            result = work()
        except OutputError as exc:
            error = exc
        except OSError as exc:
            error = OutputError("-o", f"cannot write {exc.filename or 'the output'}: "
                                f"{exc.strerror or exc}: choose a folder you can write to")
    if comm is not None and comm.size > 1:
        result, error = comm.bcast((result, error), root=0)
    if error is not None:
        raise error
    return result
