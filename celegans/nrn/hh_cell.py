"""Single-compartment NEURON cells built from a :class:`celegans.cells.CellSpec`.

Unit conversions (exact): the section is a cylinder with ``L = diam = sqrt(area/pi)`` µm, so its
membrane area equals the cell's ``area_um2``. Then

* conductance density (S/cm²) = ``g_nS * 1e-9 / (area_um2 * 1e-8)`` = ``0.1 * g_nS / area_um2``
* specific capacitance (µF/cm²) = ``C_pF * 1e-6 / (area_um2 * 1e-8)`` = ``100 * C_pF / area_um2``
* injected current (IClamp, nA) = ``pA * 1e-3``

so the NEURON equations are ``C dV/dt = I_inj - Σ g·gates·(V - E)`` in pF, nS, mV, pA, ms, the
same as :func:`celegans.channels.kinetics.derivatives`. Every kinetic constant of the cell
(``<group>.<constant>``) is written to the mechanism's RANGE variable of the same name (prefixed
``slo1_``/``slo2_``/``nd_`` inside the EGL-19/UNC-2 complexes), so the YAML data are the single
source of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from celegans.cells import CellError, CellSpec, load_cell
from celegans.channels.kinetics import CHANNELS, REVERSAL_BY_ION, group_params
from celegans.nrn.mechanisms import load_mechanisms
from celegans.protocols import CurrentClamp, TraceResult, n_steps

__all__ = ["build_hh_section", "run_current_clamp", "simulate_hh_current_clamp",
           "density_from_nS", "section_v_init"]

_V_INIT: dict[str, float] = {}
_counter = [0]


def density_from_nS(g_nS: float, area_um2: float) -> float:
    """Whole-cell conductance (nS) -> NEURON density (S/cm²) for a membrane area (µm²)."""
    return 0.1 * g_nS / area_um2


def _set(mech: Any, attr: str, value: float, where: str) -> None:
    try:
        setattr(mech, attr, float(value))
    except (AttributeError, LookupError, TypeError) as exc:
        raise CellError(f"{where}: mechanism has no parameter {attr!r} ({exc})") from None


def build_hh_section(cell_spec: CellSpec | str, overrides: Mapping[str, float] | None = None,
                     name: str | None = None) -> Any:
    """Create a one-segment NEURON section with the cell's channels and parameters.

    Args:
        cell_spec: a :class:`CellSpec` or the name of a published cell (``"RMD"``).
        overrides: ``{parameter: value}`` replacing cell values (names as in
            ``CellSpec.values``: ``g_shl1``, ``C_pF``, ``E_K``, ``shl1.va``, ...).
        name: section name (default: ``<cell>_<n>``).

    Returns:
        the ``h.Section``; :func:`section_v_init` gives its initial potential.
    """
    load_mechanisms()
    from neuron import h

    cell = load_cell(cell_spec) if isinstance(cell_spec, str) else cell_spec
    cell = cell.with_values(overrides)
    vals = cell.values
    if name is None:
        _counter[0] += 1
        name = f"{cell.name}_{_counter[0]}"
    where = f"cell {cell.name!r}"
    mechs_used: dict[str, str] = {}
    for c in cell.channels:
        spec = CHANNELS[c]
        if spec.partner is None and spec.mechanism in mechs_used:
            raise CellError(f"{where}: channels {mechs_used[spec.mechanism]!r} and {c!r} share "
                            f"the NEURON mechanism {spec.mechanism!r}; a cell can hold only one")
        if spec.partner is None:
            mechs_used[spec.mechanism] = c

    area = vals["area_um2"]
    sec = h.Section(name=name)
    sec.nseg = 1
    sec.L = sec.diam = math.sqrt(area / math.pi)
    sec.Ra = 100.0
    sec.cm = 100.0 * vals["C_pF"] / area
    seg = sec(0.5)
    for c in cell.channels:
        spec = CHANNELS[c]
        if spec.partner is None:
            sec.insert(spec.mechanism)
    for c in cell.channels:
        spec = CHANNELS[c]
        mech = getattr(seg, spec.mechanism)
        g = density_from_nS(vals[f"g_{c}"], area)
        E = vals[REVERSAL_BY_ION[spec.ion]]
        if spec.partner is None:
            _set(mech, "g", g, where)
            _set(mech, "e", E, where)
            for k, v in group_params(vals, spec.group).items():
                _set(mech, k, v, where)
            if spec.mechanism in ("ce_egl19", "ce_unc2"):
                _set(mech, "g_slo1", 0.0, where)
                _set(mech, "g_slo2", 0.0, where)
                _set(mech, "e_k", vals["E_K"], where)
                for k, v in group_params(vals, "nanodomain").items():
                    _set(mech, f"nd_{k}", v, where)
        else:
            pre = spec.group  # slo1 / slo2
            _set(mech, f"g_{pre}", g, where)
            _set(mech, "e_k", E, where)
            for k, v in group_params(vals, spec.group).items():
                _set(mech, f"{pre}_{k}", v, where)
    ca_bg = vals["ca_pool.ca_bg"]
    if cell.calcium == "pool":
        sec.insert("ce_capool")
        pool = seg.ce_capool
        for k, v in group_params(vals, "ca_pool").items():
            _set(pool, k, v, where)
        _set(pool, "area_um2", area, where)
        _set(pool, "volume_um3", vals["volume_um3"], where)
    elif cell.calcium == "shell":
        sec.insert("ce_cashell")
        for k, v in group_params(vals, "ca_shell").items():
            _set(seg.ce_cashell, k, v, where)
    if any(CHANNELS[c].needs_ca_i or CHANNELS[c].ion == "ca" for c in cell.channels):
        # resting/fixed intracellular Ca (cells without a pool keep ca_i = ca_bg)
        if abs(h.cai0_ca_ion - ca_bg) > 1e-15:
            h.cai0_ca_ion = ca_bg
    _V_INIT[sec.name()] = vals["v_init"]
    return sec


def section_v_init(section: Any) -> float:
    """Initial potential (mV) of a section built by :func:`build_hh_section` (else -65)."""
    return _V_INIT.get(section.name(), -65.0)


def run_current_clamp(section: Any, protocol: CurrentClamp, dt_ms: float = 0.025,
                      v_init: float | None = None,
                      record: Sequence[str] = ("v",),
                      secondorder: int = 2) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run every sweep of a current-clamp protocol on ``section`` (fixed step ``dt_ms``).

    The step (``holding + amplitude`` pA) is on for ``t_on <= t < t_off``; ``holding`` during
    the whole sweep. Recordable: ``"v"`` (mV), ``"cai"`` (mM), or any ``"<mech>.<range>"``.
    ``secondorder`` is NEURON's ``h.secondorder`` during the run (2: Crank-Nicolson, second-order
    accurate; 0: backward Euler); the previous value is restored afterwards.

    Returns:
        ``(time_ms (n_t,), {var: (n_sweeps, n_t)})`` sampled every ``dt_ms`` from 0 to
        ``duration_ms`` inclusive.
    """
    from neuron import h

    n = n_steps(protocol.duration_ms, dt_ms)
    v0 = section_v_init(section) if v_init is None else float(v_init)
    seg = section(0.5)
    step = h.IClamp(seg)
    step.delay = protocol.t_on_ms
    step.dur = protocol.t_off_ms - protocol.t_on_ms
    hold = h.IClamp(seg)
    hold.delay = 0.0
    hold.dur = 1e12
    hold.amp = protocol.holding_pA * 1e-3
    cvode = h.CVode()
    was_active = cvode.active()
    was_order = h.secondorder
    cvode.active(0)
    h.secondorder = secondorder
    h.dt = dt_ms
    vecs = {}
    for var in record:
        vec = h.Vector()
        if var == "v":
            ref = seg._ref_v
        elif var == "cai":
            ref = seg._ref_cai
        else:
            mech, _, rng = var.partition(".")
            try:
                ref = getattr(getattr(seg, mech), f"_ref_{rng}")
            except AttributeError:
                raise ValueError(f"record: cannot record {var!r} on {section.name()}") from None
        vecs[var] = (vec, ref)
    out = {var: np.empty((protocol.n_sweeps, n + 1)) for var in record}
    try:
        for s, amp in enumerate(protocol.amplitudes_pA):
            step.amp = amp * 1e-3
            for vec, ref in vecs.values():
                vec.resize(0)
                vec.record(ref)
            h.t = 0.0
            h.finitialize(v0)
            for _ in range(n):
                h.fadvance()
            for var, (vec, _) in vecs.items():
                arr = vec.as_numpy()
                if arr.size < n + 1:
                    raise RuntimeError(f"recorded {arr.size} samples of {var}, expected {n + 1}")
                out[var][s] = arr[: n + 1]
    finally:
        for vec, _ in vecs.values():
            vec.play_remove()
        cvode.active(was_active)
        h.secondorder = was_order
    t = np.arange(n + 1) * dt_ms
    return t, out


def simulate_hh_current_clamp(cell: CellSpec | str, protocol: CurrentClamp,
                              dt_ms: float = 0.025,
                              overrides: Mapping[str, float] | None = None,
                              record: Sequence[str] = ("v",)) -> TraceResult:
    """Build ``cell`` and run ``protocol``; a :class:`TraceResult` with one named cell."""
    spec = load_cell(cell) if isinstance(cell, str) else cell
    sec = build_hh_section(spec, overrides)
    t, data = run_current_clamp(sec, protocol, dt_ms, record=record)
    res = TraceResult(time_ms=t, names=[spec.name],
                      data={k: v[:, None, :] for k, v in data.items()},
                      failed=np.array(not all(np.all(np.isfinite(v)) for v in data.values())))
    return res
