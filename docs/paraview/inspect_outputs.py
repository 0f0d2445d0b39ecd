"""Open every field file of a fem_sse result with the ParaView reader the docs name; print one
JSON line per file (reader, cells, points, arrays).

    docker/run xvfb-run -a pvbatch docs/paraview/inspect_outputs.py OUTDIR

Readers (docs/paraview/README.md): ``.bp`` -> "ADIOS2VTXReader" (ParaView's default for
``.bp`` is an image reader that cannot read it), ``.xdmf`` -> "Xdmf3ReaderS" (the legacy
"XDMF Reader" crashes on these files), ``.vtu``/``.pvtu`` -> the XML unstructured-grid readers
(ParaView's default). Cell counts of XDMF files add up the grids in the file (mesh, tags and
one per function), so they are a multiple of the mesh's cells.
"""

import json
import os
import sys

from paraview import simple

READERS = {".bp": "ADIOS2VTXReader", ".xdmf": "Xdmf3ReaderS"}


def open_file(path):
    """The source of ``path`` with the reader the docs name (None: not a field file)."""
    ext = os.path.splitext(path)[1]
    if ext in READERS:
        return getattr(simple, READERS[ext])(FileName=[path] if ext == ".xdmf" else path)
    if ext in (".vtu", ".pvtu") and "_p" not in os.path.basename(path):  # pieces: via .pvtu
        return simple.OpenDataFile(path)
    return None


def describe(path):
    source = open_file(path)
    if source is None:
        return None
    simple.UpdatePipeline(proxy=source)
    info = source.GetDataInformation()
    arrays = []
    for data in (info.GetPointDataInformation(), info.GetCellDataInformation()):
        arrays += [data.GetArrayInformation(i).GetName() for i in range(data.GetNumberOfArrays())]
    return {"file": os.path.basename(path), "reader": source.GetXMLName(),
            "cells": info.GetNumberOfCells(), "points": info.GetNumberOfPoints(),
            "arrays": sorted(set(arrays) - {"vtkOriginalPointIds", "vtkOriginalCellIds",
                                            "vtkGhostType"})}


def main(outdir):
    for name in sorted(os.listdir(outdir)):
        found = describe(os.path.join(outdir, name))
        if found is not None:
            print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
