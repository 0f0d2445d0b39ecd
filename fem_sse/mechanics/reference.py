"""The stress-free reference state of the eigenstrain, named in the summary (NumPy only).

eps* = expansion (delta(mu_Li0) - delta_ref): delta_ref is the off-stoichiometry at which a
material is stress-free. Per material it is, in this order, the material's ``delta_ref``, or
delta(``[mechanics] mu_ref``), or 0: the as-fabricated SE, synthesised stoichiometric (no
excess Li0; electrons and holes in equal numbers, i.e. mu_Li0 = B for the dilute law and the
default two-state law) before it meets Li metal or a cathode. This single choice sets the sign
and size of the plateau stresses (docs/mechanics.md, "Stress-free reference": sensitivity table
from bench/mechanics_reference.py).
"""

from __future__ import annotations

__all__ = ["reference_summary"]

AS_FABRICATED = ("as-fabricated stoichiometric SE: delta_ref = 0 (no excess Li0, electrons = "
                 "holes, mu_Li0 = B of the material for the dilute and default two-state laws)")


def _basis(mech, mu_ref) -> str:
    if mech.delta_ref is not None:
        return "materials.delta_ref"
    return "mechanics.mu_ref" if mu_ref is not None else "default"


def reference_summary(config, spec) -> dict:
    """``stress_free_reference`` summary block: the basis of every material's delta_ref (-) and,
    where it is the default, what that default means."""
    kT = config.cell.kT  # noqa: N806
    materials = {}
    for name, mech in sorted(spec.materials.items()):
        if name not in config.materials:
            continue
        materials[name] = {
            "delta_ref": mech.reference(config.materials[name], kT, spec.mu_ref),
            "basis": _basis(mech, spec.mu_ref)}
    return {"mu_ref_eV": spec.mu_ref, "materials": materials,
            "default": AS_FABRICATED}
