"""ParaView as a real client: its own readers open the written files and render a PNG.

Runs docs/paraview/load_result.py with the distribution's ``pvbatch`` and a private Xvfb
(pvbatch's own off-screen mode aborts without X on Debian). ParaView missing from the runtime is
a failure, not a skip: it is in docker/packages.txt.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
from dolfinx import fem

from fem_sse.childproc import run_child
from fem_sse.config import parse_config
from fem_sse.geometry import build_mesh
from fem_sse.mechanics import solve_mechanics, write_mechanics_fields

SCRIPT = Path(__file__).parent.parent / "docs" / "paraview" / "load_result.py"


def _pvbatch(*args):
    if shutil.which("pvbatch") is None or shutil.which("Xvfb") is None:
        pytest.fail("pvbatch/Xvfb not in the runtime (docker/packages.txt lists paraview, xvfb)")
    # pvbatch is an MPI program that needs a display: a clean child with its own Xvfb
    done = run_child(["pvbatch", str(SCRIPT), *map(str, args)], display=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.serial
def test_paraview_reads_and_renders(bilayer_data, comm, tmp_path):
    for m in bilayer_data["materials"].values():
        m["strain_law"] = "two_state"
    bilayer_data["geometry"] = {"dim": 2, "width": 10e-6, "layers": [
        {"material": "SE_cathodic", "thickness": 5e-6},
        {"material": "SE_anodic", "thickness": 5e-6}]}
    bilayer_data["mesh"] = {"size_bulk": 0.5e-6}
    bilayer_data["mechanics"] = {}
    config = parse_config(bilayer_data)
    smesh = build_mesh(config, comm)
    mu = fem.Function(fem.functionspace(smesh.mesh, ("DG", 1)))
    mu.interpolate(lambda x: -3.0 + 1.5 * (1.0 + np.tanh((x[0] - 4e-6) / 0.3e-6)))
    result = solve_mechanics(smesh, mu, config, comm)
    write_mechanics_fields(tmp_path, result)
    vm = result.summary["max_von_mises"]

    out = _pvbatch(tmp_path, "--png", tmp_path / "xdmf.png", "--deformed", 50.0)
    lines = {line.split("'")[1]: line for line in out.splitlines() if line.startswith("array")}
    for name in ("mu_Li0 [eV]", "von_mises [Pa]", "max_principal [Pa]", "displacement [m]",
                 "crack_risk [-]", "region_id [-]", "regions"):
        assert name in lines, out
    high = float(lines["von_mises [Pa]"].split("[")[-1].split(",")[1].rstrip("]"))
    assert 0.5 * vm < high <= vm * (1 + 1e-5)  # cell values (midpoints) <= the nodal peak
    assert (tmp_path / "xdmf.png").stat().st_size > 10000

    out = _pvbatch(tmp_path, "--bp", "--png", tmp_path / "bp.png")
    assert "von_mises [Pa]" in out and "POINTS" in out, out
    high = [line for line in out.splitlines() if "'von_mises [Pa]'" in line][0]
    assert float(high.split("[")[-1].split(",")[1].rstrip("]")) == pytest.approx(vm, rel=1e-5)
    assert (tmp_path / "bp.png").stat().st_size > 10000
