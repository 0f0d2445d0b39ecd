"""VTU files: the format that pyvista, meshio and ParaView's XML reader all open.

The VTX (``.bp``) and XDMF files stay the ParaView route for exact fields; these are the
portable copy. Each cell gets its own copies of its vertices (a discontinuous grid), so the
point data is each field's value *in that cell* at its vertices: exact for P1/DG1 fields (jumps
at interfaces stay sharp), the vertex values of higher degrees. Functions with one value per
cell (DG0) become cell data. Vectors of a 1D/2D mesh get zero components up to 3 (VTK
vectors), arrays keep the names given (with their unit).

One ``NAME.vtu`` holds the whole mesh when it is gathered on rank 0 (serial runs, and parallel
runs up to ``cap`` cells); above ``cap`` every rank writes its own cells to ``NAME_pR.vtu`` and
rank 0 writes ``NAME.pvtu`` listing them (pyvista and ParaView read the ``.pvtu``; meshio reads
the pieces), so no rank holds a whole large field. Binary, zlib-compressed (meshio's writer).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from fem_sse import compat

__all__ = ["write_vtu"]

_CELL_TYPES = {2: ("line", "VTK_LINE"), 3: ("triangle", "VTK_TRIANGLE")}


def write_vtu(path: str | Path, msh, fields: dict, cap: int) -> list[str]:
    """Write ``fields`` ({array name: dolfinx Function on ``msh``}) to ``path`` (``.vtu``).

    Collective over ``msh.comm``. Returns the names of the files written (``NAME.vtu``, or
    ``NAME.pvtu`` and its pieces above ``cap`` cells on more than one rank).
    """
    path = Path(path)
    comm = msh.comm
    piece = _local_piece(msh, fields)
    tdim = msh.topology.dim
    if comm.size == 1 or msh.topology.index_map(tdim).size_global <= cap:
        pieces = comm.gather(piece, root=0)
        if comm.rank == 0:
            _write_meshio(path, _concatenate(pieces))
        return [path.name]
    counts = comm.allgather(len(piece[0]))
    names = [f"{path.stem}_p{r}.vtu" for r, n in enumerate(counts) if n]
    if len(piece[0]):
        _write_meshio(path.with_name(f"{path.stem}_p{comm.rank}.vtu"), piece)
    if comm.rank == 0:
        _write_pvtu(path.with_suffix(".pvtu"), piece, names)
    return [path.with_suffix(".pvtu").name, *names]


def _local_piece(msh, fields: dict):
    """(vertex coordinates (n, nv, 3), point data, cell data) of the owned cells."""
    tdim = msh.topology.dim
    n = msh.topology.index_map(tdim).size_local
    nv = tdim + 1  # simplices: the first tdim + 1 geometry nodes are the vertices
    coords = msh.geometry.x[compat.geometry_dofmap(msh)[:n, :nv]]
    points = coords.reshape(-1, 3)
    which = np.repeat(np.arange(n, dtype=np.int32), nv)
    point_data, cell_data = {}, {}
    for name, f in fields.items():
        dofs = f.function_space.dofmap.list
        if dofs.shape[1] == 1:  # one value per cell (DG0)
            bs = f.function_space.dofmap.index_map_bs
            values = f.x.array.reshape(-1, bs)[dofs[:n, 0]]
            cell_data[name] = _vtk_vector(values, f, msh)
        elif _vertex_dofs_first(f):
            bs = f.function_space.dofmap.index_map_bs
            values = f.x.array.reshape(-1, bs)[dofs[:n, :nv].reshape(-1)]
            point_data[name] = _vtk_vector(values, f, msh)
        else:
            values = f.eval(points, which) if n else np.zeros((0, _size(f)))
            point_data[name] = _vtk_vector(np.asarray(values).reshape(len(points), -1), f, msh)
    return coords, point_data, cell_data


def _vertex_dofs_first(f) -> bool:
    """Whether the first tdim + 1 dofs of each cell are ``f``'s values at the cell's vertices,
    in the geometry's vertex order (Lagrange elements, continuous or not, on affine cells):
    those are written as they are. Evaluating at the vertices instead cost round-off of the
    pull-back (DOLFINx 0.11: a DG1 W of 6e-14 A/m, steep in its cell, came out 5e-7 off, 1e-8
    eV in mu, tests/test_eafe_outputs.py)."""
    import basix

    try:
        family = f.function_space.element.basix_element.family
    except (AttributeError, RuntimeError):  # an element basix does not describe alone
        return False
    return family == basix.ElementFamily.P and compat.geometry_degree(f.function_space.mesh) == 1


def _size(f) -> int:
    return int(np.prod(f.ufl_shape)) if f.ufl_shape else 1


def _vtk_vector(values: np.ndarray, f, msh) -> np.ndarray:
    """Vectors of a mesh with fewer than 3 coordinates padded with zeros (VTK vectors are 3D);
    scalars as a flat array, other shapes (e.g. the 4 stress components) as they are."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    if f.ufl_shape == (msh.geometry.dim,):  # padded to 3 components (none for a 3D mesh)
        values = np.hstack([values, np.zeros((len(values), 3 - values.shape[1]))])
    return values[:, 0] if values.shape[1] == 1 else values


def _concatenate(pieces):
    coords = np.concatenate([p[0] for p in pieces])
    point_data = {k: np.concatenate([p[1][k] for p in pieces]) for k in pieces[0][1]}
    cell_data = {k: np.concatenate([p[2][k] for p in pieces]) for k in pieces[0][2]}
    return coords, point_data, cell_data


def _write_meshio(path: Path, piece) -> None:
    import meshio

    coords, point_data, cell_data = piece
    n, nv = coords.shape[:2]
    cells = [(_CELL_TYPES[nv][0], np.arange(n * nv, dtype=np.int64).reshape(n, nv))]
    mesh = meshio.Mesh(coords.reshape(-1, 3), cells, point_data=point_data,
                       cell_data={k: [v] for k, v in cell_data.items()})
    tmp = path.with_name(f".{path.name}.tmp")
    meshio.write(tmp, mesh, file_format="vtu", binary=True, compression="zlib")
    tmp.replace(path)


def _write_pvtu(path: Path, piece, sources: list[str]) -> None:
    """The parallel index of the pieces (array names and sizes from this rank's piece)."""
    def arrays(data: dict) -> str:
        return "".join(f'      <PDataArray type="Float64" Name={quoteattr(k)} '
                       f'NumberOfComponents="{1 if v.ndim == 1 else v.shape[1]}"/>\n'
                       for k, v in data.items())

    _, point_data, cell_data = piece
    text = ('<?xml version="1.0"?>\n<VTKFile type="PUnstructuredGrid" version="1.0" '
            'byte_order="LittleEndian" header_type="UInt64">\n'
            '  <PUnstructuredGrid GhostLevel="0">\n'
            f"    <PPointData>\n{arrays(point_data)}    </PPointData>\n"
            f"    <PCellData>\n{arrays(cell_data)}    </PCellData>\n"
            '    <PPoints>\n      <PDataArray type="Float64" NumberOfComponents="3"/>\n'
            "    </PPoints>\n"
            + "".join(f"    <Piece Source={quoteattr(s)}/>\n" for s in sources)
            + "  </PUnstructuredGrid>\n</VTKFile>\n")
    path.write_text(text)
