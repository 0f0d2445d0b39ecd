"""The CI lanes (.ci/run) run what the tests say they run.

A test marked ``mpi`` says it is collective-safe and runs under ``mpirun -n 2`` as well; the
2-rank lane lists its files explicitly (a file with serial-only helpers stays out). Session 18
found six files with ``mpi`` tests outside that list, among them tests/test_eafe2d.py, whose
docs claimed 2-rank runs: every file with an ``mpi`` mark must be in the lane.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _two_rank_files() -> set[str]:
    text = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if "mpirun -n 2" in line and "pytest" in line]
    assert len(lines) == 1, lines
    return set(re.findall(r"tests/\S+\.py", lines[0]))


def test_every_mpi_test_file_runs_on_two_ranks():
    marked = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")
              if re.search(r"mark\.mpi\b", p.read_text())}
    listed = _two_rank_files()
    assert marked <= listed, f"mpi-marked files not in the 2-rank lane: {sorted(marked - listed)}"
    assert all((ROOT / f).exists() for f in listed), sorted(listed)
