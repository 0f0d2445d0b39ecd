"""``fem-sse mechanics OUTDIR``: the mechanics of a finished run again, on its saved mu_Li0 field,
with other mechanical data (docs/commands/mechanics.md).

The transport state is read from ``OUTDIR/checkpoint`` (:mod:`fem_sse.io.checkpoint`), on any
number of ranks; only keys that do not change the transport may be set (the ``[mechanics]``
table and the mechanical keys of the materials), so the stresses are those a full run of the
changed case would give. The elastic solve is the one ``fem-sse run`` makes
(:mod:`fem_sse.app.mechanics_step`), so a restart without changes reproduces the
run's stresses to round-off.
"""

from __future__ import annotations

import time
from pathlib import Path

import tomllib

from fem_sse.app.dimension import run_for
from fem_sse.spec.config import parse_config
from fem_sse.spec.dotted import set_dotted
from fem_sse.spec.mechanics import MATERIAL_KEYS
from fem_sse.spec.validate import ConfigError
from fem_sse.transport.results import wall_time_summary

__all__ = ["parse_set", "rerun_mechanics"]


def parse_set(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` of a mechanics key; VALUE is a TOML value (``2e11``, ``"two_state"``,
    ``{kind = "two_state"}``) or bare text (``two_state``).

    Raises:
        ConfigError: naming ``--set`` for a malformed item or a key that changes the transport.
    """
    key, sep, value = (part.strip() for part in text.partition("="))
    if not sep or not key or not value:
        raise ConfigError("--set", f"expected KEY=VALUE, got {text!r}")
    parts = key.split(".")
    mechanical = parts[0] == "mechanics" or (
        len(parts) >= 3 and parts[0] == "materials" and parts[2] in MATERIAL_KEYS)
    if not mechanical:
        allowed = f"mechanics.*, materials.NAME.{{{','.join(MATERIAL_KEYS)}}}"
        raise ConfigError(f"--set {key}", "only mechanics keys can change without solving the "
                          f"transport again: {allowed}; for other keys use `fem-sse run`")
    try:
        return key, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value


def _config(case_text: str, sets: list[tuple[str, object]], name: str):
    data = tomllib.loads(case_text)
    for key, value in sets:
        set_dotted(data, key, value, make_tables=True)
    data.setdefault("mechanics", {})  # no [mechanics] in the run: the defaults
    return parse_config(data, name=name)


def rerun_mechanics(run_folder: str | Path, outdir: str | Path, comm,
                    sets: list[tuple[str, object]] = (), png: bool = True,
                    progress=None, overwrite: bool = True) -> dict:
    """Solve the mechanics of ``run_folder``'s saved state with ``sets`` applied; write
    ``summary.json`` and the mechanics files to ``outdir`` (replaced atomically).

    Args:
        run_folder: a ``fem-sse run`` output folder with ``checkpoint/``.
        sets: (dotted key, value) pairs from :func:`parse_set`.
        png: 2D: also ``mechanics.png``.
        progress: optional callable(str) for progress lines.
        overwrite: replace an earlier fem-sse result at ``outdir`` (never a foreign folder).

    Returns:
        The summary (identical on every rank): the run's t_Li and the new mechanics keys.
    """
    from fem_sse.app.results import files_summary, restart_summary
    from fem_sse.io.checkpoint import read_state
    from fem_sse.io.outputs import output_directory, write_json

    start = time.perf_counter()
    state, case_text = read_state(run_folder, comm)
    config = _config(case_text, list(sets), state.case)
    say = progress or (lambda _text: None)
    summary = restart_summary(config.name, run_folder, {k: v for k, v in sets}, state,
                              comm.size)
    run = run_for(config)
    keys, data = run.restart(config, run_folder, state, comm, say, start)
    summary.update(keys)
    summary.update(wall_time_summary(time.perf_counter() - start))
    with output_directory(outdir, comm, overwrite, kind="mechanics",
                          inputs=(run_folder,)) as folder:
        files = run.restart_files(folder, summary, data, png, comm)
        summary.update(files_summary(["summary.json"] + files))
        if comm.rank == 0:
            write_json(folder / "summary.json", summary)
    return summary
