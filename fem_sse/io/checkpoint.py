"""Restart files: the converged transport state of a run, re-loadable on any number of ranks.

``fem-sse run`` writes ``OUTDIR/checkpoint/`` (docs/commands/mechanics.md)::

    state.json          format and version, dim, solver, ranks that wrote it, DG degree of W,
                        region table and facet groups, t_Li
    case.toml           the validated case, with its name
    profile.npz         1D: the profile rows (x (m), mu_Li0 (eV), eta_i, eta_e (eV),
                        sigma_eh (S/m), layer) that the film mechanics reads
    mesh.xdmf, mesh.h5  2D: the converged (adapted) transport mesh, cell tags "regions" and
                        facet tags "facets"
    kirchhoff.R.npz     2D, one per writing rank R: for each owned cell its row in mesh.xdmf,
                        the coordinates (m) of its DG dofs and W (A/m) there

Only DOLFINx's own XDMF and NumPy are used, so no install route needs another package. XDMF
re-partitions the mesh on read, on any number of ranks, and gives each cell its row in the
file; W is then put back cell by cell, matching the saved dof coordinates to the new dofs (so
the local dof order of the reader does not matter). The reloaded W is bit-for-bit the saved one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from mpi4py import MPI

from fem_sse.spec.validate import ConfigError
from fem_sse.transport.results import TransportResult, transference_summary

__all__ = ["FORMAT", "FieldState", "ProfileState", "SavedRun", "SavedTransport", "load_profile",
           "load_transport", "read_state", "write_checkpoint"]

FORMAT = "fem_sse-checkpoint"
VERSION = 1
FOLDER = "checkpoint"
SAMPLE = "held_sample_"  # profile.npz keys of the held-faces samples (layer, x, mu rows)


@dataclass
class ProfileState:
    """What a 1D run saves: its profile rows and the held-faces samples
    (:func:`fem_sse.app.mechanics_step.held_samples`), on rank 0 (None elsewhere)."""

    rows: dict | None
    samples: list | None = None

    def state(self) -> dict:
        """No state.json keys of its own."""
        return {}

    def write(self, folder: Path, comm) -> list[str]:
        """profile.npz (rank 0). Returns the file names in ``folder``."""
        if comm.rank == 0:
            _write_profile(folder / "profile.npz", self.rows, self.samples)
        return ["profile.npz"]


@dataclass
class FieldState:
    """What a 2D run saves: the converged mesh, its tags and W of ``problem`` (a
    TransportProblem, or the W view of an EAFE state)."""

    problem: object

    def state(self) -> dict:
        """The state.json keys that reload the fields: W's degree, cells, regions, facets."""
        problem = self.problem
        return dict(degree=problem.degree,
                    cells=problem.mesh.topology.index_map(problem.mesh.topology.dim).size_global,
                    regions={str(k): asdict(v) for k, v in problem.smesh.regions.items()},
                    facet_groups=problem.smesh.facet_groups)

    def write(self, folder: Path, comm) -> list[str]:
        """mesh.xdmf/.h5 and one kirchhoff.R.npz per rank (collective)."""
        return _write_transport(folder, self.problem)


@dataclass(frozen=True)
class SavedRun:
    """state.json of a checkpoint: what was saved (its format and version are checked on
    reading), by which solver on how many ranks, the run's t_Li and 1 - t_Li (-), and the
    payload's own keys (``fields``; 2D: W's degree, cells, regions, facet groups)."""

    dim: int
    case: str
    solver: str | None
    ranks: int
    t_li: float | None
    one_minus_t_li: float | None
    fields: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The state.json keys, in their order."""
        return {"format": FORMAT, "version": VERSION, "dim": self.dim, "case": self.case,
                "solver": self.solver, "ranks": self.ranks,
                **transference_summary(self.t_li, self.one_minus_t_li), **self.fields}

    @classmethod
    def from_json(cls, state: dict) -> SavedRun:
        """The record of a state.json (ValueError: not this format and version)."""
        if state.get("format") != FORMAT or state.get("version") != VERSION:
            raise ValueError(f"format {state.get('format')} {state.get('version')}")
        own = set(cls(0, "", None, 0, None, None).to_json())
        result = TransportResult.from_summary(state)
        return cls(state["dim"], state["case"], state.get("solver"), state["ranks"],
                   result.t_li, result.one_minus_t_li,
                   {k: v for k, v in state.items() if k not in own})

    @property
    def cells(self) -> int | None:
        """2D: the cells of the saved mesh."""
        return self.fields.get("cells")


def _write_state(folder: Path, config, state: SavedRun) -> None:
    from fem_sse.spec.tomlwrite import dumps

    (folder / "case.toml").write_text(dumps(config.source, header=f"{config.name}: the case "
                                            "of this checkpoint"))
    (folder / "state.json").write_text(json.dumps(state.to_json(), indent=1) + "\n")


def write_checkpoint(folder: str | Path, config, saved: ProfileState | FieldState | None,
                     solver: str | None, result, comm) -> list[str]:
    """Write the restart files of a converged run into ``folder`` (collective; the folder is
    created): state.json (``solver`` and the t_Li of ``result``, a
    :class:`~fem_sse.transport.results.TransportResult`), case.toml and the files of
    ``saved``. Returns the file names (relative to the run folder), or [] when the config has
    no source dictionary (built in code) or there is nothing to save (``saved`` None: a 1D
    run without its profile)."""
    folder = Path(folder)
    if config.source is None or saved is None:
        return []
    if comm.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        _write_state(folder, config, SavedRun(config.dim, config.name, solver, comm.size,
                                              result.t_li, result.one_minus_t_li,
                                              saved.state()))
    comm.barrier()
    files = saved.write(folder, comm)
    comm.barrier()
    return [f"{FOLDER}/{name}" for name in ("state.json", "case.toml", *files)]


def _write_profile(path: Path, rows: dict, samples=None) -> None:
    """The profile rows and the held-faces samples (fem_sse.app.run.held_samples) of a 1D run."""
    from fem_sse.io.outputs import PROFILE_COLUMNS

    arrays = {k: np.asarray(rows[k]) for k in PROFILE_COLUMNS if k != "layer"}
    for i, (layer, x, mu) in enumerate(samples or ()):
        arrays[f"{SAMPLE}{i}"] = np.stack([np.full(len(x), float(layer)), x, mu])
    np.savez(path, layer=np.asarray(rows["layer"], dtype=str), **arrays)


def _write_transport(folder: Path, problem) -> list[str]:
    import dolfinx.io

    smesh, msh, comm = problem.smesh, problem.mesh, problem.comm
    smesh.cell_tags.name, smesh.facet_tags.name = "regions", "facets"
    with dolfinx.io.XDMFFile(comm, str(folder / "mesh.xdmf"), "w") as xdmf:
        xdmf.write_mesh(msh)
        msh.topology.create_connectivity(msh.topology.dim - 1, msh.topology.dim)
        xdmf.write_meshtags(smesh.cell_tags, msh.geometry)
        xdmf.write_meshtags(smesh.facet_tags, msh.geometry)
    imap = msh.topology.index_map(msh.topology.dim)
    owned = imap.size_local
    dofs = problem.V.dofmap.list[:owned]
    gdim = msh.geometry.dim
    coords = problem.V.tabulate_dof_coordinates()[dofs][:, :, :gdim]
    # XDMF writes the owned cells of each rank in local order, rank after rank
    rows = imap.local_range[0] + np.arange(owned, dtype=np.int64)
    np.savez(folder / f"kirchhoff.{comm.rank}.npz", rows=rows, coords=coords,
             w=problem.kirchhoff_function().x.array[dofs])
    return ["mesh.xdmf", "mesh.h5"] + [f"kirchhoff.{r}.npz" for r in range(comm.size)]


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def read_state(run_folder: str | Path, comm) -> tuple[SavedRun, str]:
    """(state.json, case.toml text) of ``run_folder/checkpoint`` (read on rank 0, broadcast).

    Raises:
        ConfigError: naming the folder when it holds no readable checkpoint of this format.
    """
    folder = Path(run_folder) / FOLDER
    answer = None
    if comm.rank == 0:
        try:
            state = SavedRun.from_json(json.loads((folder / "state.json").read_text()))
            text = (folder / "case.toml").read_text()
            answer = (state, text)
        except (OSError, ValueError) as exc:
            answer = ConfigError("OUTDIR", f"{run_folder} has no readable restart files "
                                 f"({folder}: {getattr(exc, 'strerror', None) or exc}); they "
                                 "are written by `fem-sse run` (converged runs)")
    answer = comm.bcast(answer, root=0)
    if isinstance(answer, Exception):
        raise answer
    return answer


def load_profile(run_folder: str | Path) -> tuple[dict, list]:
    """The saved 1D profile rows and held-faces samples (calling rank)."""
    with np.load(Path(run_folder) / FOLDER / "profile.npz") as data:
        rows = {k: data[k] for k in data.files if not k.startswith(SAMPLE)}
        pieces = sorted((k for k in data.files if k.startswith(SAMPLE)),
                        key=lambda k: int(k[len(SAMPLE):]))
        samples = [(int(data[k][0, 0]), data[k][1], data[k][2]) for k in pieces]
    rows["layer"] = rows["layer"].tolist()
    return rows, samples


@dataclass
class SavedTransport:
    """A converged 2D transport state reloaded from a checkpoint, with the part of the
    :class:`~fem_sse.transport.problem.TransportProblem` surface that the mechanics and the
    writers of a finished state read: ``smesh``, ``mesh``, ``comm``, ``config``, ``V``,
    :meth:`kirchhoff_function` and :meth:`mu_function`.

    Attributes:
        kirchhoff: W (A/m) in the DG space ``V`` of the saved run.
    """

    smesh: object
    V: object
    kirchhoff: object
    config: object

    @property
    def mesh(self):
        return self.smesh.mesh

    @property
    def comm(self):
        return self.smesh.mesh.comm

    def kirchhoff_function(self):
        """W (A/m) in the DG space (a copy, named "W")."""
        from dolfinx import fem

        W = fem.Function(self.V, name="W")  # noqa: N806
        W.x.array[:] = self.kirchhoff.x.array
        return W

    def mu_function(self):
        """mu_Li0 (eV) at the DG dofs of W, per material (the transport's formula)."""
        from fem_sse.transport.fields import mu_from_kirchhoff

        return mu_from_kirchhoff(self.smesh, self.kirchhoff, self.config)


def _original_cells(msh) -> np.ndarray:
    index = msh.topology.original_cell_index
    return np.asarray(index[0] if isinstance(index, list) else index, dtype=np.int64)


def load_transport(run_folder: str | Path, state: SavedRun, config, comm) -> SavedTransport:
    """The saved mesh, tags and W on ``comm`` (any number of ranks; collective).

    Raises:
        ConfigError: when the saved dofs do not match the reloaded mesh (a damaged checkpoint).
    """
    import dolfinx.io
    from dolfinx import fem

    from fem_sse.geometry import Region, SeparatorMesh

    folder = Path(run_folder) / FOLDER
    with dolfinx.io.XDMFFile(comm, str(folder / "mesh.xdmf"), "r") as xdmf:
        msh = xdmf.read_mesh(name="mesh")
        msh.topology.create_connectivity(msh.topology.dim - 1, msh.topology.dim)
        cell_tags = xdmf.read_meshtags(msh, name="regions")
        facet_tags = xdmf.read_meshtags(msh, name="facets")
    payload = state.fields
    regions = {int(k): Region(**v) for k, v in payload["regions"].items()}
    smesh = SeparatorMesh(msh, cell_tags, facet_tags, regions, dict(payload["facet_groups"]))
    V = fem.functionspace(msh, ("DG", int(payload["degree"])))
    kirchhoff = fem.Function(V, name="W")
    owned = msh.topology.index_map(msh.topology.dim).size_local
    dofs = V.dofmap.list[:owned]
    rows, coords, w = _read_parts(folder, int(state.ranks))
    where = np.searchsorted(rows, _original_cells(msh)[:owned])
    mine = V.tabulate_dof_coordinates()[dofs][:, :, :msh.geometry.dim]
    saved = coords[where]
    gap = np.linalg.norm(mine[:, :, None, :] - saved[:, None, :, :], axis=-1)
    match = np.argmin(gap, axis=2)  # saved dof of each local dof
    scale = float(np.ptp(msh.geometry.x[:, :msh.geometry.dim], axis=0).max(initial=1.0))
    worst = comm.allreduce(float(np.take_along_axis(gap, match[..., None], 2).max(initial=0.0)),
                           op=MPI.MAX)
    if worst > 1e-9 * max(scale, 1e-300):
        raise ConfigError("OUTDIR", f"{run_folder}: the saved W does not fit the saved mesh "
                          f"(dof mismatch {worst:.3g} m); the checkpoint is damaged")
    kirchhoff.x.array[dofs] = np.take_along_axis(w[where], match, axis=1)
    kirchhoff.x.scatter_forward()
    return SavedTransport(smesh, V, kirchhoff, config)


def _read_parts(folder: Path, ranks: int):
    """(rows, dof coordinates, W) of every writing rank, sorted by row (every reading rank
    reads all parts: a few numbers per cell)."""
    parts = []
    for r in range(ranks):
        with np.load(folder / f"kirchhoff.{r}.npz") as data:
            parts.append((data["rows"], data["coords"], data["w"]))
    rows = np.concatenate([p[0] for p in parts])
    order = np.argsort(rows)
    return (rows[order], np.concatenate([p[1] for p in parts])[order],
            np.concatenate([p[2] for p in parts])[order])

