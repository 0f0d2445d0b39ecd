"""Render a mechanics grid (.vtu) to PNG with pyvista: ``python -m fem_sse.mechanics.render
GRID.vtu OUT.png [SCALE]`` (run with a private Xvfb without a display, fem_sse.childproc).

Left: mu_Li0 (eV, diverging map); right: von Mises (MPa, sequential map). SCALE > 0 draws the
shape deformed by SCALE x displacement over the outline of the undeformed one.
"""

from __future__ import annotations

import sys


def render(vtu: str, png: str, scale: float = 0.0) -> None:
    """Write ``png`` from the grid file ``vtu`` (off-screen)."""
    import pyvista

    grid = pyvista.read(vtu)
    grid.point_data["von Mises [MPa]"] = grid.point_data["von_mises [Pa]"] / 1e6
    shown = grid.warp_by_vector("displacement [m]", factor=scale) if scale > 0 else grid
    plotter = pyvista.Plotter(off_screen=True, shape=(1, 2), window_size=(1600, 700))
    for col, (name, cmap) in enumerate((("mu_Li0 [eV]", "coolwarm"),
                                        ("von Mises [MPa]", "inferno"))):
        plotter.subplot(0, col)
        plotter.add_mesh(shown.copy(), scalars=name, cmap=cmap, show_scalar_bar=True,
                         scalar_bar_args={"title": name, "vertical": False})
        if scale > 0:
            outline = grid.clean().extract_feature_edges(
                boundary_edges=True, feature_edges=False, manifold_edges=False,
                non_manifold_edges=False)
            plotter.add_mesh(outline, color="gray", line_width=1)
            plotter.add_text(f"deformed x{scale:.3g}", font_size=9)
        plotter.view_xy()
        plotter.camera.zoom(1.1)
    plotter.screenshot(png)
    plotter.close()


if __name__ == "__main__":
    render(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
