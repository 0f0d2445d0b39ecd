"""Load a fem_sse mechanics result in ParaView and render mu_Li0 and von Mises side by side.

    xvfb-run -a pvbatch docs/paraview/load_result.py OUTDIR [--png OUT.png] [--bp]
    (or, in the ParaView GUI: View > Python Shell > Run Script, after setting OUTDIR below)

OUTDIR holds ``mechanics.xdmf`` (+ .h5) and ``mechanics.bp`` written by
``fem_sse.mechanics.write_mechanics_fields``. The XDMF file is read with ParaView's own XDMF3
reader (cell data: mu_Li0 [eV], eigenstrain [-], von_mises [Pa], max_principal [Pa], ...;
point data: displacement [m]); ``--bp`` uses the ADIOS2 VTX reader instead, when the ParaView
build has it (Debian's 5.13 does; ``OpenDataFile`` would pick the image reader for .bp). Arrays carry their unit in their name. Colour maps: mu_Li0 "Cool to Warm"
(diverging), von Mises "Inferno" (sequential, from 0), crack_risk "Blue Orange" centred on 1.
Prints the arrays found (name, association, range) so scripts and tests can check them.
"""

import argparse
import os
import sys

from paraview.simple import (ADIOS2VTXReader, ColorBy, CreateView, GetColorTransferFunction, GetScalarBar,
                             OpenDataFile, ResetCamera, SaveScreenshot, Show, UpdatePipeline,
                             WarpByVector)

MAPS = {"mu_Li0 [eV]": "Cool to Warm", "von_mises [Pa]": "Inferno (matplotlib)",
        "crack_risk [-]": "Blue Orange (divergent)"}


def arrays(source):
    """(name, association, (min, max)) of every point and cell array."""
    info = source.GetDataInformation()
    found = []
    for where, data in (("POINTS", info.GetPointDataInformation()),
                        ("CELLS", info.GetCellDataInformation())):
        for i in range(data.GetNumberOfArrays()):
            array = data.GetArrayInformation(i)
            found.append((array.GetName(), where, array.GetComponentRange(-1 if
                          array.GetNumberOfComponents() > 1 else 0)))
    return found


def apply_preset(lut, preset):
    """Apply a colour preset by name; ParaView 6 dropped the " (matplotlib)" suffixes."""
    for candidate in (preset, preset.split(" (")[0], "Viridis (matplotlib)", "Viridis"):
        try:
            if lut.ApplyPreset(candidate, True) is not False:
                return candidate
        except RuntimeError:
            continue
    return None


def show(source, view, name, association, deformed):
    shown = WarpByVector(Input=source, Vectors=["POINTS", "displacement [m]"],
                         ScaleFactor=deformed) if deformed else source
    display = Show(shown, view)
    ColorBy(display, (association, name))
    lut = GetColorTransferFunction(name)
    apply_preset(lut, MAPS.get(name, "Viridis (matplotlib)"))
    if name == "crack_risk [-]":
        low, high = [r for n, _, r in arrays(source) if n == name][0]
        span = max(abs(low - 1.0), abs(high - 1.0))
        lut.RescaleTransferFunction(1.0 - span, 1.0 + span)
    display.SetScalarBarVisibility(view, True)
    bar = GetScalarBar(lut, view)
    bar.Title = name
    bar.ComponentTitle = ""
    view.InteractionMode = "2D"
    ResetCamera(view)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--png", default=None)
    parser.add_argument("--bp", action="store_true", help="read mechanics.bp (ADIOS2 VTX)")
    parser.add_argument("--deformed", type=float, default=0.0, help="displacement scale")
    args = parser.parse_args(argv)
    path = os.path.join(args.outdir, "mechanics.bp" if args.bp else "mechanics.xdmf")
    source = ADIOS2VTXReader(FileName=path) if args.bp else OpenDataFile(path)
    if source is None:
        sys.exit(f"ParaView has no reader for {path}")
    UpdatePipeline(proxy=source)
    found = arrays(source)
    for name, where, (low, high) in found:
        print(f"array {name!r} {where} range [{low:.6g}, {high:.6g}]")
    association = {name: where for name, where, _ in found}
    panels = [n for n in ("mu_Li0 [eV]", "von_mises [Pa]") if n in association]
    if args.png:
        views = []
        for name in panels:
            view = CreateView("RenderView")
            view.ViewSize = [800, 600]
            view.OrientationAxesVisibility = 0
            show(source, view, name, association[name], args.deformed)
            views.append(view)
        from paraview.simple import AssignViewToLayout, CreateLayout

        layout = CreateLayout("fem_sse mechanics")
        for view in views:
            AssignViewToLayout(view=view, layout=layout, hint=0)
        SaveScreenshot(args.png, layout, ImageResolution=[1600, 600])
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
