"""``hh``: single-compartment conductance-based cell built from the channel library.

The cell (``RMD``, ``AVA``, ... ; a file in ``celegans/cells/``) is chosen by the ``cell`` option
(``"hh:RMD"`` in assignment strings). Parameters are the cell file's parameters; building
delegates to :func:`celegans.nrn.hh_cell.build_hh_section`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from celegans.models.base import ModelError, NeuronModel, NrnCell, validate_parameters
from celegans.parameters import ParameterSet

DEFAULT_CELL = "RMD"


@lru_cache(maxsize=64)
def load_cell_spec(cell: str) -> Any:
    """The channel library's cell description for ``cell`` (celegans/cells/<cell>.yaml)."""
    try:
        from celegans import cells
    except ImportError as exc:  # pragma: no cover - channel library missing
        raise ModelError(f"model 'hh': the cell library is unavailable: {exc}") from None
    loader = getattr(cells, "load_cell", None)
    if loader is None:  # pragma: no cover
        raise ModelError("model 'hh': celegans.cells has no load_cell()")
    try:
        return loader(cell)
    except (KeyError, FileNotFoundError, ValueError) as exc:
        known = getattr(cells, "list_cells", lambda: [])()
        raise ModelError(f"model 'hh': unknown cell {cell!r} (known: {known}): {exc}") from None


def cell_parameter_set(spec: Any) -> ParameterSet:
    """The :class:`ParameterSet` of a cell description."""
    ps = getattr(spec, "parameters", spec)
    if callable(ps):
        ps = ps()
    if not isinstance(ps, ParameterSet):
        raise ModelError(f"model 'hh': cell description {spec!r} carries no ParameterSet")
    return ps


class HHModel(NeuronModel):
    """Single compartment with the channels of a published cell."""

    name = "hh"
    description = "single-compartment conductance-based cell from the channel library"
    option_names = ("cell",)
    state_vars = ("v",)

    def default_parameters(self, **options: Any) -> ParameterSet:
        self.check_options(options)
        return cell_parameter_set(load_cell_spec(options.get("cell", DEFAULT_CELL)))

    def parameters(self, overrides: Mapping[str, Any] | None = None,
                   **options: Any) -> dict[str, float]:
        cell = options.get("cell", DEFAULT_CELL)
        return validate_parameters(self.default_parameters(**options), overrides,
                                   where=f"model 'hh:{cell}'")

    def build_nrn(self, params: Mapping[str, float], name: str, *, dt_ms: float = 0.025,
                  **options: Any) -> NrnCell:
        from celegans.nrn.hh_cell import build_hh_section

        self.check_options(options)
        spec = load_cell_spec(options.get("cell", DEFAULT_CELL))
        defaults = spec.values
        changed = {k: v for k, v in params.items() if defaults.get(k) != v}
        sec = build_hh_section(spec, overrides=changed, name=name)
        return NrnCell(name, self.name, sec, [sec],
                       capacitance_pF=float(params.get("C_pF", float("nan"))),
                       aliases={"ca": "cai"})
