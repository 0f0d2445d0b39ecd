"""Forms compiled once per run and instantiated on every mesh of the adaptive loop.

Each refinement step builds the same UFL forms on a new mesh. ``dolfinx.fem.form`` would
hash every form (the UFL signature, a full traversal of the expression tree) and look its
kernel up in the JIT cache again: about 50 ms per mesh for the transport forms, a third of
a 1D paper case. A :class:`FormCache` compiles a form the first time it sees it and from then
on only binds the compiled kernels to the new mesh, its integration entities, coefficients and
constants (``dolfinx.fem.create_form``).

A form is reused when its name and its structure (integral types and subdomain ids, argument,
coefficient and coordinate elements, number of constants) match; the integrands themselves are not
compared, so one cache serves the forms of one configuration (as in one adaptive run).
"""

from __future__ import annotations

from collections import defaultdict

import ufl
from dolfinx import fem
from petsc4py import PETSc

__all__ = ["FormCache"]

_INTEGRAL_TYPES = {"cell": fem.IntegralType.cell,
                   "exterior_facet": fem.IntegralType.exterior_facet,
                   "interior_facet": fem.IntegralType.interior_facet}


def _structure(form: ufl.Form) -> tuple:
    """What a compiled kernel depends on besides the integrands (cheap to compute)."""
    integrals = tuple((itg.integral_type(), str(itg.subdomain_id()),
                       tuple(sorted(itg.metadata().items()))) for itg in form.integrals())
    elements = tuple(f.ufl_element() for f in (*form.arguments(), *form.coefficients()))
    geometry = form.ufl_domain().ufl_coordinate_element()
    return integrals, elements, geometry, len(form.constants())


def _integration_domains(form: ufl.Form) -> dict:
    """Integration entities of the tagged integrals of ``form`` on its own mesh.

    As ``dolfinx.fem.form`` does: the ids of each integral type with subdomain data ("everywhere"
    integrals run over all entities and need none).
    """
    (domain,) = form.subdomain_data().keys()
    ids = defaultdict(set)
    for itg in form.integrals():
        sid = itg.subdomain_id()
        if itg.subdomain_data() is not None and sid != "everywhere":
            ids[itg.integral_type()].update(sid if isinstance(sid, tuple) else (sid,))
    domains = {}
    for kind, data in form.subdomain_data()[domain].items():
        itype = _INTEGRAL_TYPES[kind]
        domains[itype] = fem.forms.get_integration_domains(itype, data[0], sorted(ids[kind]))
    return domains


class FormCache:
    """Compiled forms by name, bound to each new mesh's data (see the module docstring).

    Attributes:
        compiled: how many forms were compiled (JIT-hashed); ``reused``: how many were bound
            from a compiled one.
    """

    def __init__(self, comm):
        self._comm = comm
        self._forms: dict = {}
        self.compiled = 0
        self.reused = 0

    def form(self, name: str, form: ufl.Form, mesh) -> fem.Form:
        """The DOLFINx form of ``form`` on ``mesh`` (its dolfinx Mesh), compiled on the first
        use of ``name`` with this structure."""
        key = (name, _structure(form))
        coefficients, constants = form.coefficients(), form.constants()
        entry = self._forms.get(key)
        if entry is None:
            options = {"scalar_type": PETSc.ScalarType}
            compiled = fem.compile_form(self._comm, form, form_compiler_options=options)
            entry = self._forms[key] = (compiled, coefficients, constants)
            self.compiled += 1
        else:
            self.reused += 1
        compiled, first_coefficients, first_constants = entry
        spaces = [arg.ufl_function_space() for arg in form.arguments()]
        return fem.create_form(compiled, spaces, mesh, _integration_domains(form),
                               dict(zip(first_coefficients, coefficients)),
                               dict(zip(first_constants, constants)))
