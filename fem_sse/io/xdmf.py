"""XDMF files that VTK's legacy XDMF reader (pyvista's ``.xdmf`` reader) opens too.

DOLFINx (0.9 to 0.11 at least) declares the XInclude namespace as
``xmlns:xi="https://www.w3.org/2001/XInclude"``; the namespace XInclude defines, and the only
one libxml2 expands, is ``http://...``. Its grids for mesh tags and functions point at the mesh's
Topology/Geometry through ``<xi:include xpointer=...>``; with the wrong namespace the legacy
reader (``vtkXdmfReader``, XDMF2; what ``pyvista.read`` picks for ``.xdmf``) leaves them
unexpanded, finds a grid without a Topology and dereferences a null pointer (segmentation fault
in ``xdmf2::XdmfDOM::FindElement``). With the namespace corrected that reader, ParaView's "Xdmf3
Reader S" and "XDMF Reader", and DOLFINx's own reader open the same file (tests/test_paraview.py).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["fix_xinclude_namespace"]

_WRONG = b'xmlns:xi="https://www.w3.org/2001/XInclude"'
_RIGHT = b'xmlns:xi="http://www.w3.org/2001/XInclude"'


def fix_xinclude_namespace(path: str | Path, comm) -> None:
    """Correct the XInclude namespace of the XDMF file ``path`` that fem-sse has just written
    and closed (collective: rank 0 rewrites it, the others wait). A file without DOLFINx's
    declaration is left as it is."""
    if comm.rank == 0:
        path = Path(path)
        text = path.read_bytes()
        if _WRONG in text:
            path.write_bytes(text.replace(_WRONG, _RIGHT, 1))
    comm.barrier()
