"""Open every field file of a fem_sse result with the ParaView reader the docs name; print one
JSON line per file (reader, cells, points, arrays).

    docker/run xvfb-run -a pvbatch docs/paraview/inspect_outputs.py OUTDIR

Readers (docs/paraview/README.md): ``.bp`` -> "ADIOS2VTXReader" (ParaView's default for
``.bp`` is an image reader that cannot read it), ``.xdmf`` -> "Xdmf3ReaderS", and a second
line ``"file": "NAME.xdmf (XDMFReader)"`` from the legacy "XDMF Reader" (VTK's XDMF2 reader,
the one pyvista uses), ``.vtu``/``.pvtu`` -> the XML unstructured-grid readers (ParaView's
default). Cell counts of XDMF files add up the grids in the file (mesh, tags and
one per function), so they are a multiple of the mesh's cells.
"""

import json
import os
import sys

from paraview import simple

READERS = {".bp": "ADIOS2VTXReader", ".xdmf": "Xdmf3ReaderS"}


def open_file(path, legacy=False):
    """The source of ``path`` with the reader the docs name (``legacy``: the "XDMF Reader" for
    an ``.xdmf`` file; None: not a field file)."""
    ext = os.path.splitext(path)[1]
    if legacy:
        return simple.XDMFReader(FileNames=[path]) if ext == ".xdmf" else None
    if ext in READERS:
        return getattr(simple, READERS[ext])(FileName=[path] if ext == ".xdmf" else path)
    if ext in (".vtu", ".pvtu") and "_p" not in os.path.basename(path):  # pieces: via .pvtu
        return simple.OpenDataFile(path)
    return None


def describe(path, legacy=False):
    source = open_file(path, legacy)
    if source is None:
        return None
    simple.UpdatePipeline(proxy=source)
    info = source.GetDataInformation()
    arrays = []
    for data in (info.GetPointDataInformation(), info.GetCellDataInformation()):
        arrays += [data.GetArrayInformation(i).GetName() for i in range(data.GetNumberOfArrays())]
    name = os.path.basename(path) + (" (XDMFReader)" if legacy else "")
    return {"file": name, "reader": source.GetXMLName(),
            "cells": info.GetNumberOfCells(), "points": info.GetNumberOfPoints(),
            "arrays": sorted(set(arrays) - {"vtkOriginalPointIds", "vtkOriginalCellIds",
                                            "vtkGhostType"})}


def main(outdir):
    for name in sorted(os.listdir(outdir)):
        for legacy in (False, True):
            found = describe(os.path.join(outdir, name), legacy)
            if found is not None:
                print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
