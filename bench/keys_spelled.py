"""How many summary.json keys are spelled in more than one module of a fem_sse/ tree.

    docker/run python3 bench/keys_spelled.py [[LABEL=]TREE ...] [--json OUT]

The keys come from this checkout's records (``_summary_keys`` of tests/test_architecture.py:
the records' ``to_summary``), the scan and the allowances for other meanings are that test's
too; each TREE (a repository checkout, default: this one) is scanned. The test requires 0 for
this checkout; an older tree (e.g. ``git archive`` of a commit before issue 15's typed
readers) shows what it replaced.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rule():
    spec = importlib.util.spec_from_file_location("arch", ROOT / "tests" / "test_architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spread(tree: Path) -> dict[str, list[str]]:
    """{key: modules of ``tree``/fem_sse that spell it} for the keys spelled in two or more."""
    rule = _rule()
    keys = rule._summary_keys()
    rule.PACKAGE = tree / "fem_sse"
    uses = rule._spelled_keys()
    found = {k: sorted(m for m in uses.get(k, ()) if not rule._other_meaning(m, k))
             for k in sorted(keys)}
    return {k: v for k, v in found.items() if len(v) > 1}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", default=[str(ROOT)])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = {}
    for item in args.trees:
        label, _, path = item.rpartition("=")
        tree = Path(path)
        found = spread(tree)
        report[label or str(tree)] = {"keys_checked": len(_rule()._summary_keys()),
                             "spelled_in_several_modules": len(found), "keys": found}
        print(f"{tree}: {len(found)} summary keys spelled in more than one module")
        for key, modules in sorted(found.items(), key=lambda kv: -len(kv[1])):
            print(f"    {key}: {len(modules)} {modules}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
