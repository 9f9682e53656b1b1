"""Channel kinetics written once, for numpy arrays and torch tensors alike.

Every function here uses only arithmetic and functions of an array namespace ``xp`` passed in by
the caller (``numpy`` or ``torch``): ``xp.exp``, ``xp.log``, ``xp.expm1``, ``xp.where``. Voltages
and parameters may be Python floats, numpy arrays or torch tensors (broadcasting applies), so
the same code serves the scipy reference integrator (:mod:`celegans.reference`), the torch
backend (batched, differentiable) and the tests that check the NEURON ``.mod`` files.

Units: V in mV, time constants in ms, conductances in nS, currents in pA (outward positive),
capacitance in pF, intracellular calcium ``ca_i`` in mM.

Two levels of API:

* per channel — :data:`CHANNELS` (name -> :class:`ChannelSpec`), :func:`rates` (all gates of a
  channel: ``{gate: (inf, tau)}``), :func:`gate_inf_tau` (one gate), :func:`open_fraction`
  (the gating product multiplying ``g``), :func:`current` (pA). Kinetic constants come as a
  plain mapping ``params`` (the channel's YAML ``parameters`` values, see
  :func:`celegans.channels.load_kinetics`).
* per cell — :func:`state_names`, :func:`initial_state`, :func:`derivatives`: the complete
  right-hand side of a single-compartment cell. ``cell`` is a :class:`celegans.cells.CellSpec`
  (any object with ``channels`` (tuple of channel names), ``calcium`` (``"pool"`` or
  ``"none"``) and ``values`` (flat ``{name: value}``)). ``values`` may be overridden by a flat
  mapping of arrays/tensors, e.g. ``{"g_shl1": torch.tensor([...]), "shl1.va": ...}``.

Flat value names (see ``CellSpec.values``): ``C_pF``, ``area_um2``, ``volume_um3``, ``E_K``,
``E_Ca``, ``E_Na``, ``E_leak``, ``g_<channel>`` (nS), ``<group>.<constant>`` for kinetic
constants (group = the channel's parameter file, e.g. ``shl1.va``, ``slo1.wom``,
``ca_pool.tau``). State names are ``"<channel>.<gate>"`` plus ``"ca_i"`` (mM) for cells with a
calcium pool.

Example (torch, batch of 8 cells)::

    import torch
    from celegans.cells import load_cell
    from celegans.channels import kinetics as K
    cell = load_cell("RMD")
    V = torch.full((8,), -70.0, dtype=torch.float64)
    state = K.initial_state(cell, V, torch)
    d_state, i_ion = K.derivatives(cell, state, V, torch)
    dV = (i_inj - i_ion) / cell.values["C_pF"]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Array = Any  # float | numpy.ndarray | torch.Tensor

REVERSAL_BY_ION = {"k": "E_K", "ca": "E_Ca", "na": "E_Na", "leak": "E_leak"}


class KineticsError(ValueError):
    """Unknown channel or gate, or missing context (calcium, partner gates)."""


@dataclass(frozen=True)
class ChannelSpec:
    """Static description of one conductance.

    Attributes:
        name: channel name used in cell files (``g_<name>``) and state names.
        group: kinetic-parameter group (YAML file ``celegans/channels/data/<group>.yaml``).
        mechanism: NEURON SUFFIX implementing it (SLO complexes live inside their calcium
            channel's mechanism).
        ion: ``k``, ``ca``, ``na`` or ``leak`` (selects the reversal ``E_K``/``E_Ca``/...).
        gates: state variables, in order.
        partner: calcium channel whose gates couple to this one (SLO nanodomain complexes).
        needs_ca_i: the kinetics read intracellular calcium ``ca_i``.
        source: publication of the equations.
    """

    name: str
    group: str
    mechanism: str
    ion: str
    gates: tuple[str, ...]
    partner: str | None = None
    needs_ca_i: bool = False
    source: str = ""


N2019 = "Nicoletti et al. 2019 PLoS ONE 14:e0218738"
N2024 = "Nicoletti et al. 2024 PLoS ONE 19:e0298105"
HH52 = "Hodgkin & Huxley 1952 J Physiol 117:500"

CHANNELS: dict[str, ChannelSpec] = {c.name: c for c in (
    ChannelSpec("shl1", "shl1", "ce_shl1", "k", ("m", "hf", "hs"), source=N2019),
    ChannelSpec("shl1_2024", "shl1_2024", "ce_shl1", "k", ("m", "hf", "hs"), source=N2024),
    ChannelSpec("shk1", "shk1", "ce_shk1", "k", ("m", "h"), source=N2019),
    ChannelSpec("egl36", "egl36", "ce_egl36", "k", ("m1", "m2", "m3"), source=N2019),
    ChannelSpec("kvs1", "kvs1", "ce_kvs1", "k", ("m", "h"), source=N2019),
    ChannelSpec("egl2", "egl2", "ce_egl2", "k", ("m",), source=N2019),
    ChannelSpec("kqt3", "kqt3", "ce_kqt3", "k", ("mf", "ms", "w", "s"), source=N2019),
    ChannelSpec("kqt1", "kqt1", "ce_kqt1", "k", ("m", "s"), source=N2024),
    ChannelSpec("irk", "irk", "ce_irk", "k", ("m",), source=N2019),
    ChannelSpec("egl19", "egl19", "ce_egl19", "ca", ("m", "h"), source=N2019),
    ChannelSpec("unc2", "unc2", "ce_unc2", "ca", ("m", "h"), source=N2019),
    ChannelSpec("cca1", "cca1", "ce_cca1", "ca", ("m", "h"), source=N2019),
    ChannelSpec("slo1_egl19", "slo1", "ce_egl19", "k", ("m",), partner="egl19", source=N2019),
    ChannelSpec("slo2_egl19", "slo2", "ce_egl19", "k", ("m",), partner="egl19", source=N2019),
    ChannelSpec("slo1_unc2", "slo1", "ce_unc2", "k", ("m",), partner="unc2", source=N2019),
    ChannelSpec("slo2_unc2", "slo2", "ce_unc2", "k", ("m",), partner="unc2", source=N2019),
    ChannelSpec("slo1iso", "slo1", "ce_slo1iso", "k", ("m",), needs_ca_i=True, source=N2024),
    ChannelSpec("slo2iso", "slo2", "ce_slo2iso", "k", ("m",), needs_ca_i=True, source=N2024),
    ChannelSpec("kcnl", "kcnl", "ce_kcnl", "k", ("m",), needs_ca_i=True, source=N2019),
    ChannelSpec("nca", "nca", "ce_nca", "na", (), source=N2019),
    ChannelSpec("leak", "leak", "ce_leak", "leak", (), source=N2019),
    ChannelSpec("hh_na", "hh_na", "ce_hh_na", "na", ("m", "h"), source=HH52),
    ChannelSpec("hh_k", "hh_k", "ce_hh_k", "k", ("n",), source=HH52),
)}

# Kinetic groups that carry no current of their own but whose constants cells use.
AUX_GROUPS = ("nanodomain", "ca_pool", "ca_shell")

# Intracellular calcium models: "none" (ca_i fixed at ca_pool.ca_bg), "pool" (Nicoletti 2019),
# "shell" (submembrane shell of the 2024 motor-neuron models, floor ca_shell.ca_min).
CALCIUM_MODELS = ("none", "pool", "shell")


def channel(name: str) -> ChannelSpec:
    """The :class:`ChannelSpec` called ``name`` (clear error if unknown)."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise KineticsError(
            f"unknown channel {name!r}; known: {', '.join(sorted(CHANNELS))}") from None


# --------------------------------------------------------------------------------------------
# small array-agnostic helpers


def _is_py(x: Any) -> bool:
    return isinstance(x, int | float)


def _exp(x: Array, xp: Any) -> Array:
    return math.exp(x) if _is_py(x) else xp.exp(x)


def _log(x: Array, xp: Any) -> Array:
    return math.log(x) if _is_py(x) else xp.log(x)


def _sig_up(V: Array, vh: Array, k: Array, xp: Any) -> Array:
    """1 / (1 + exp(-(V - vh) / k)): increasing Boltzmann."""
    return 1.0 / (1.0 + xp.exp(-(V - vh) / k))


def _sig_down(V: Array, vh: Array, k: Array, xp: Any) -> Array:
    """1 / (1 + exp((V - vh) / k)): decreasing Boltzmann."""
    return 1.0 / (1.0 + xp.exp((V - vh) / k))


def _exprel(u: Array, xp: Any) -> Array:
    """u / (1 - exp(-u)), finite (and with finite gradient) at u = 0."""
    small = abs(u) < 1e-6
    us = xp.where(small, 1e-6 + 0.0 * u, u)
    return xp.where(small, 1.0 + 0.5 * u, us / (-xp.expm1(-us)))


# --------------------------------------------------------------------------------------------
# gate kinetics, one function per kinetic form: (V, p, xp, ctx) -> {gate: (inf, tau)}

Rates = dict[str, tuple[Array, Array]]


def _shl1(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift"], p["ka"], xp)
    tm = (p["tm1"] / (xp.exp(-(V - p["tm2"]) / p["tm3"]) + xp.exp((V - p["tm4"]) / p["tm5"]))
          + p["tm6"]) * p["tm_scale"]
    hinf = _sig_down(V, p["vi"] - p["shift"], p["ki"], xp)
    thf = (p["thf1"] * _sig_down(V, p["thf2"], p["thf3"], xp) + p["thf4"]) * p["thf_scale"]
    ths = (p["ths1"] * _sig_down(V, p["ths2"], p["ths3"], xp) + p["ths4"]) * p["ths_scale"]
    return {"m": (minf, tm), "hf": (hinf, thf), "hs": (hinf, ths)}


def _shk1(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift"], p["ka"], xp)
    v2 = p["tm2"] + p["shift"]
    tm = p["tm1"] / (xp.exp(-(V - v2) / p["tm4"]) + xp.exp((V - v2) / p["tm3"])) + p["tm5"]
    hinf = _sig_down(V, p["vi"] - p["shift"], p["ki"], xp)
    th = p["th"] + 0.0 * V
    return {"m": (minf, tm), "h": (hinf, th)}


def _egl36(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"], p["ka"], xp)
    z = 0.0 * V
    return {"m1": (minf, p["t1"] + z), "m2": (minf, p["t2"] + z), "m3": (minf, p["t3"] + z)}


def _kvs1(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift"], p["ka"], xp)
    tm = (p["tm1"] * _sig_up(V, p["tm2"], p["tm3"], xp) + p["tm4"]) * p["tm_scale"]
    hinf = _sig_down(V, p["vi"] - p["shift"], p["ki"], xp)
    th = (p["th1"] * _sig_up(V, p["th2"], p["th3"], xp) + p["th4"]) * p["th_scale"]
    return {"m": (minf, tm), "h": (hinf, th)}


def _egl2(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift"], p["ka"], xp)
    tm = (p["tm1"] * _sig_down(V, p["tm2"] - p["shift"], p["tm3"], xp) + p["tm4"]) \
        * p["tm_scale"]
    return {"m": (minf, tm)}


def _kqt3(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift"], p["ka"], xp)
    sc = p["tau_scale"]
    tmf = p["tmf1"] / (1.0 + ((V + p["tmf2"]) / p["tmf3"]) ** 2) * sc
    tms = (p["tms1"] - p["tms2"] / (1.0 + 10.0 ** (p["tms3"] * (p["tms4"] - V)))
           - p["tms5"] / (1.0 + 10.0 ** (p["tms6"] * (V + p["tms7"])))) * sc
    winf = p["w1"] + p["w2"] * _sig_down(V, -p["w3"], p["w4"], xp)
    tw = (p["tw1"] + p["tw2"] / (1.0 + ((V + p["tw3"]) / p["tw4"]) ** 2)) * sc
    sinf = p["s1"] + p["s2"] * _sig_down(V, -p["s3"], p["s4"], xp)
    ts = p["ts"] * sc + 0.0 * V
    return {"mf": (minf, tmf), "ms": (minf, tms), "w": (winf, tw), "s": (sinf, ts)}


def _kqt1(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"], p["ka"], xp)
    tm = p["tm2"] * _sig_up(V, p["tm3"], p["tm4"], xp) + p["tm1"]
    sinf = p["s1"] * _sig_down(V, p["s2"], p["s3"], xp) + p["s4"] * _sig_down(V, p["s5"],
                                                                            p["s6"], xp)
    ts = p["ts1"] + p["ts2"] / (1.0 + ((V - p["ts3"]) / p["ts4"]) ** 2)
    return {"m": (minf, tm), "s": (sinf, ts)}


def _irk(V, p, xp, ctx) -> Rates:
    minf = _sig_down(V, p["va"] - p["shift"], p["ka"], xp)
    tm = p["tm1"] / (xp.exp(-(V - p["tm2"]) / p["tm3"]) + xp.exp((V - p["tm4"]) / p["tm5"])) \
        + p["tm6"]
    return {"m": (minf, tm)}


def _egl19(V, p, xp, ctx) -> Rates:
    s = p["shift"]
    minf = _sig_up(V, p["va"] - s, p["ka"], xp)
    tm = (p["tm1"] + p["tm2"] * xp.exp(-((V - p["tm3"] + s) / p["tm4"]) ** 2)
          + p["tm5"] * xp.exp(-((V - p["tm6"] + s) / p["tm7"]) ** 2)) * p["tm_scale"]
    hinf = ((p["h1"] * _sig_up(V, p["h2"] - s, p["h3"], xp) + p["h4"])
            * (p["h5"] * _sig_down(V, p["h6"] - s, p["h7"], xp) + p["h8"]))
    th = p["th1"] * (p["th2"] * p["th3"] * _sig_down(V, p["th4"] - s, p["th5"], xp) + p["th6"]
                     + p["th7"] * p["th8"] * _sig_down(V, p["th9"] - s, p["th10"], xp)
                     + p["th11"])
    return {"m": (minf, tm), "h": (hinf, th)}


def _unc2(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift_m"], p["ka"], xp)
    u = V - p["tm2"] + p["tm_shift"]
    tm = (p["tm1"] / (xp.exp(-u / p["tm3"]) + xp.exp(u / p["tm4"])) + p["tm5"]) * p["tm_scale"]
    hinf = _sig_down(V, p["vi"] - p["shift_h"], p["ki"], xp)
    th = (p["th1"] * _sig_down(V, p["th2"] - p["th_shift"], p["th3"], xp)
          + p["th4"] * _sig_up(V, p["th5"] - p["th_shift"], p["th6"], xp)) * p["th_scale"]
    return {"m": (minf, tm), "h": (hinf, th)}


def _cca1(V, p, xp, ctx) -> Rates:
    minf = _sig_up(V, p["va"] - p["shift_m"], p["ka"] * p["ka_factor"], xp)
    tm = (p["tm1"] * _sig_up(V, p["tm2"] - p["tm_shift"], p["tm3"] * p["tm_factor"], xp)
          + p["tm4"]) * p["tm_scale"]
    hinf = _sig_down(V, p["vi"] - p["shift_h"], p["ki"] * p["ki_factor"], xp)
    th = (p["th1"] * _sig_down(V, p["th2"] - p["th_shift"], p["th3"] * p["th_factor"], xp)
          + p["th4"]) * p["th_scale"]
    return {"m": (minf, tm), "h": (hinf, th)}


def nanodomain_ca_uM(V: Array, E_Ca: Array, nd: Mapping[str, Array], xp: Any) -> Array:
    """Calcium (µM) at the mouth of an open calcium channel (steady-state nanodomain, 2019 eq.):
    ``|g_sc (V - E_Ca)| / (8 π r D F) · exp(-r / sqrt(D / (k_B B_tot)))`` (mol/m³ → µM) plus
    the background ``ca_bg``."""
    length = (nd["D"] / (nd["kb"] * nd["b_tot"])) ** 0.5
    atten = _exp(-nd["r"] / length, xp)
    flux = abs(nd["gsc"] * (V - E_Ca) * 1e-3) / (8.0 * math.pi * nd["r"] * nd["D"] * nd["F"])
    return flux * atten * 1e3 + nd["ca_bg"]


def _slo_complex(V, p, xp, ctx) -> Rates:
    """SLO gate coupled 1:1 to a calcium channel (nanodomain model, Nicoletti 2019)."""
    try:
        partner_rates: Rates = ctx["partner_rates"]
        m_ca = ctx["partner_m"]
        E_Ca = ctx["E_Ca"]
        nd = ctx["nanodomain"]
    except KeyError as exc:
        raise KineticsError(f"SLO complex kinetics need context {exc.args[0]!r}") from None
    minf_ca, tm_ca = partner_rates["m"]
    alpha = minf_ca / tm_ca
    beta = 1.0 / tm_ca - alpha
    cao = nanodomain_ca_uM(V, E_Ca, nd, xp)
    ev = xp.exp(-p["wyx"] * V)
    kcm = p["wom"] * ev / (1.0 + (nd["ca_bg"] / p["kyx"]) ** p["nyx"])
    kom = p["wom"] * ev / (1.0 + (cao / p["kyx"]) ** p["nyx"])
    kop = p["wop"] * xp.exp(-p["wxy"] * V) / (1.0 + (p["kxy"] / cao) ** p["nxy"])
    den = (kop + kom) * (kcm + alpha) + beta * kcm
    num = alpha + beta + kcm
    return {"m": (m_ca * kop * num / den, num / den)}


def _slo_iso(V, p, xp, ctx) -> Rates:
    """SLO-1/SLO-2 not coupled to a channel, gated by bulk ``ca_i`` (Nicoletti 2024)."""
    if ctx.get("ca_i") is None:
        raise KineticsError("slo1iso/slo2iso kinetics need context 'ca_i' (mM)")
    ca = ctx["ca_i"] * 1e3  # µM
    s0 = 1.0 / (p["wyx"] - p["wxy"])
    v0 = s0 * (_log(p["wom"] / p["wop"], xp) + _log(1.0 + (p["kxy"] / ca) ** p["nxy"], xp)
               - _log(1.0 + (ca / p["kyx"]) ** p["nyx"], xp))
    minf = _sig_up(V, v0, s0, xp)
    tau = xp.exp(p["wxy"] * V) / p["wop"] * (1.0 + (p["kxy"] / ca) ** p["nxy"]) * minf \
        * p["tau_scale"]
    return {"m": (minf, tau)}


def _kcnl(V, p, xp, ctx) -> Rates:
    if ctx.get("ca_i") is None:
        raise KineticsError("kcnl kinetics need context 'ca_i' (mM)")
    ca = ctx["ca_i"]
    return {"m": (ca / (p["kd"] + ca) + 0.0 * V, p["tau"] + 0.0 * V)}


def _hh_na(V, p, xp, ctx) -> Rates:
    q = p["q10"] ** ((p["temp"] - 6.3) / 10.0)
    am = 0.1 * 10.0 * _exprel((V + 40.0) / 10.0, xp)
    bm = 4.0 * xp.exp(-(V + 65.0) / 18.0)
    ah = 0.07 * xp.exp(-(V + 65.0) / 20.0)
    bh = 1.0 / (1.0 + xp.exp(-(V + 35.0) / 10.0))
    return {"m": (am / (am + bm), 1.0 / (q * (am + bm))),
            "h": (ah / (ah + bh), 1.0 / (q * (ah + bh)))}


def _hh_k(V, p, xp, ctx) -> Rates:
    q = p["q10"] ** ((p["temp"] - 6.3) / 10.0)
    an = 0.01 * 10.0 * _exprel((V + 55.0) / 10.0, xp)
    bn = 0.125 * xp.exp(-(V + 65.0) / 80.0)
    return {"n": (an / (an + bn), 1.0 / (q * (an + bn)))}


def _none(V, p, xp, ctx) -> Rates:
    return {}


_RATES: dict[str, Callable[..., Rates]] = {
    "shl1": _shl1, "shl1_2024": _shl1, "shk1": _shk1, "egl36": _egl36, "kvs1": _kvs1,
    "egl2": _egl2, "kqt3": _kqt3, "kqt1": _kqt1, "irk": _irk, "egl19": _egl19,
    "unc2": _unc2, "cca1": _cca1, "slo1_egl19": _slo_complex, "slo2_egl19": _slo_complex,
    "slo1_unc2": _slo_complex, "slo2_unc2": _slo_complex, "slo1iso": _slo_iso,
    "slo2iso": _slo_iso,
    "kcnl": _kcnl, "nca": _none, "leak": _none, "hh_na": _hh_na, "hh_k": _hh_k,
}


def rates(name: str, V: Array, params: Mapping[str, Array], xp: Any, **ctx: Any) -> Rates:
    """Steady states and time constants (ms) of every gate of channel ``name`` at ``V`` (mV).

    ``params`` are the channel's kinetic constants (its group's YAML values). Context keywords:
    ``ca_i`` (mM) for ``kcnl``/``slo1iso``; for SLO complexes ``partner_rates`` (the calcium
    channel's :func:`rates`), ``partner_m`` (its ``m`` state), ``E_Ca`` (mV) and
    ``nanodomain`` (the ``nanodomain`` group's constants).
    """
    channel(name)
    try:
        return _RATES[name](V, params, xp, ctx)
    except KeyError as exc:
        raise KineticsError(
            f"channel {name!r}: missing kinetic constant {exc.args[0]!r}") from None


def gate_inf_tau(name: str, gate: str, V: Array, params: Mapping[str, Array], xp: Any,
                 **ctx: Any) -> tuple[Array, Array]:
    """``(inf, tau_ms)`` of one gate (see :func:`rates` for the context keywords)."""
    r = rates(name, V, params, xp, **ctx)
    if gate not in r:
        raise KineticsError(f"channel {name!r} has no gate {gate!r}; gates: {list(r)}")
    return r[gate]


#: a gate of the partner calcium channel in :func:`open_fraction_terms` (``"partner:h"``)
PARTNER = "partner:"


def open_fraction_terms(name: str, params: Mapping[str, Array]
                        ) -> tuple[list[tuple[Array, str, float]], list[tuple[str, float]]]:
    """The gating product of channel ``name`` as data: ``(sum_terms, product_terms)`` with
    ``open = (sum_k w_k g[a_k]**p_k) * prod_j g[b_j]**q_j`` (an empty sum is 1). Gate names
    are the channel's own, or ``"partner:<gate>"`` for its partner calcium channel's gate
    (SLO nanodomain complexes). The torch backend vectorises currents over channels with it."""
    p = params
    if name in ("shl1", "shl1_2024"):
        return [(p["a"], "hf", 1.0), (1.0 - p["a"], "hs", 1.0)], [("m", p["p"])]
    if name in ("shk1", "kvs1", "egl19", "unc2"):
        return [(1.0, "m", 1.0)], [("h", 1.0)]
    if name == "egl36":
        return [(p["a1"], "m1", 1.0), (p["a2"], "m2", 1.0), (p["a3"], "m3", 1.0)], []
    if name == "kqt3":
        return [(p["a"], "mf", 1.0), (1.0 - p["a"], "ms", 1.0)], [("w", 1.0), ("s", 1.0)]
    if name == "kqt1":
        return [(1.0, "m", 1.0)], [("s", 1.0)]
    if name in ("egl2", "irk", "kcnl", "slo1iso", "slo2iso"):
        return [(1.0, "m", 1.0)], []
    if name == "hh_k":
        return [(1.0, "n", 4.0)], []
    if name == "hh_na":
        return [(1.0, "m", 3.0)], [("h", 1.0)]
    if name == "cca1":
        return [(1.0, "m", 2.0)], [("h", 1.0)]
    if CHANNELS.get(name) is not None and CHANNELS[name].partner is not None:
        return [(1.0, "m", 1.0)], [(PARTNER + "h", 1.0)]
    if name in ("nca", "leak"):
        return [], []
    raise KineticsError(f"unknown channel {name!r}")


def open_fraction(name: str, gates: Mapping[str, Array], params: Mapping[str, Array],
                  partner_gates: Mapping[str, Array] | None = None) -> Array:
    """Gating product multiplying ``g`` in ``I = g · open_fraction · (V - E)``
    (see :func:`open_fraction_terms`)."""
    terms, factors = open_fraction_terms(name, params)

    def gate(key: str) -> Array:
        if key.startswith(PARTNER):
            if partner_gates is None:
                raise KineticsError(f"{name}: open_fraction needs partner_gates (its "
                                    f"{key[len(PARTNER):]!r} gate)")
            return partner_gates[key[len(PARTNER):]]
        return gates[key]

    def power(x: Array, q: Array) -> Array:
        return x if _is_py(q) and q == 1.0 else x ** q

    out: Array = 1.0
    if terms:
        out = 0.0
        for w, key, q in terms:
            x = power(gate(key), q)
            out = out + (x if _is_py(w) and w == 1.0 else w * x)
    for key, q in factors:
        x = power(gate(key), q)
        out = x if _is_py(out) and out == 1.0 else out * x
    return out


def current(name: str, gates: Mapping[str, Array], V: Array, g_nS: Array, E_mV: Array,
            params: Mapping[str, Array], partner_gates: Mapping[str, Array] | None = None
            ) -> Array:
    """Channel current (pA, outward positive): ``g · open_fraction · (V - E)``."""
    return g_nS * open_fraction(name, gates, params, partner_gates) * (V - E_mV)


# --------------------------------------------------------------------------------------------
# whole-cell right-hand side


def group_params(values: Mapping[str, Array], group: str) -> dict[str, Array]:
    """``{constant: value}`` of one kinetic group from a flat value mapping."""
    pre = group + "."
    return {k[len(pre):]: v for k, v in values.items() if k.startswith(pre)}


def _merged(cell: Any, values: Mapping[str, Array] | None) -> dict[str, Array]:
    vals = dict(cell.values)
    if values:
        unknown = set(values) - set(vals)
        if unknown:
            raise KineticsError(
                f"cell {getattr(cell, 'name', '?')!r}: unknown value names {sorted(unknown)}")
        vals.update(values)
    return vals


@dataclass(frozen=True)
class Prepared:
    """A cell's values split by kinetic group, computed once (see :func:`prepare`)."""

    values: dict[str, Array]
    groups: dict[str, dict[str, Array]]


def prepare(cell: Any, values: Mapping[str, Array] | None = None) -> Prepared:
    """Merge ``values`` into the cell's values and split them by group. Pass the result as
    ``prepared=`` to :func:`derivatives` in a time loop to avoid redoing this every step."""
    vals = _merged(cell, values)
    groups: dict[str, dict[str, Array]] = {}
    for k, v in vals.items():
        g, dot, c = k.partition(".")
        if dot:
            groups.setdefault(g, {})[c] = v
    return Prepared(vals, groups)


def state_names(cell: Any) -> list[str]:
    """Ordered state names (``"<channel>.<gate>"``, then ``"ca_i"`` unless calcium is none)."""
    names = [f"{c}.{gate}" for c in cell.channels for gate in CHANNELS[c].gates]
    if cell.calcium in ("pool", "shell"):
        names.append("ca_i")
    return names


def _all_rates(cell: Any, state: Mapping[str, Array], V: Array, pr: Prepared,
               xp: Any) -> dict[str, Rates]:
    vals, groups = pr.values, pr.groups
    ca_i = state["ca_i"] if cell.calcium != "none" else vals["ca_pool.ca_bg"]
    out: dict[str, Rates] = {}
    for c in cell.channels:
        spec = CHANNELS[c]
        p = groups.get(spec.group, {})
        if spec.partner is not None:
            if spec.partner not in out:
                out[spec.partner] = rates(spec.partner, V,
                                          groups[CHANNELS[spec.partner].group], xp)
            out[c] = rates(c, V, p, xp, partner_rates=out[spec.partner],
                           partner_m=state[f"{spec.partner}.m"], E_Ca=vals["E_Ca"],
                           nanodomain=groups["nanodomain"])
        elif c not in out:
            out[c] = rates(c, V, p, xp, ca_i=ca_i)
    return out


def _currents(cell: Any, state: Mapping[str, Array], V: Array, pr: Prepared
              ) -> dict[str, Array]:
    vals = pr.values
    out = {}
    for c in cell.channels:
        spec = CHANNELS[c]
        gates = {g: state[f"{c}.{g}"] for g in spec.gates}
        partner = None
        if spec.partner is not None:
            partner = {g: state[f"{spec.partner}.{g}"] for g in CHANNELS[spec.partner].gates}
        out[c] = current(c, gates, V, vals[f"g_{c}"], vals[REVERSAL_BY_ION[spec.ion]],
                         pr.groups.get(spec.group, {}), partner)
    return out


def ionic_currents(cell: Any, state: Mapping[str, Array], V: Array, xp: Any,
                   values: Mapping[str, Array] | None = None,
                   prepared: Prepared | None = None) -> dict[str, Array]:
    """Current of every channel (pA, outward positive)."""
    return _currents(cell, state, V, prepared or prepare(cell, values))


def calcium_derivative(i_ca_pA: Array, ca_i: Array, vals: Mapping[str, Array]) -> Array:
    """d ca_i / dt (mM/ms) of the intracellular pool (Nicoletti 2019):
    ``f · max(-I_Ca, 0) / (2 F vol) - (ca_i - ca_bg) / tau`` with I in pA, vol in µm³ and
    F in C/mmol (pA / (C/mmol · µm³) = mM/ms)."""
    influx = 0.5 * (abs(i_ca_pA) - i_ca_pA)  # max(-I, 0) without branching
    return (vals["ca_pool.f"] * influx / (2.0 * vals["ca_pool.F"] * vals["volume_um3"])
            - (ca_i - vals["ca_pool.ca_bg"]) / vals["ca_pool.tau"])


def shell_calcium_derivative(i_ca_pA: Array, ca_i: Array, vals: Mapping[str, Array],
                             xp: Any) -> Array:
    """d ca_i / dt (mM/ms) of the submembrane shell (2024 motor neurons, cadiff):
    ``-I_Ca / (2 F depth area) - beta ca_i`` held at the floor ``ca_min`` (the rate is clipped
    at 0 when ``ca_i <= ca_min`` and falling). With I in pA, area in µm², depth in µm and F in
    C/mol: pA / (C/mol · µm³) · 1e3 = mM/ms."""
    rate = (-i_ca_pA * 1e3 / (2.0 * vals["ca_shell.F"] * vals["ca_shell.depth"]
                              * vals["area_um2"]) - vals["ca_shell.beta"] * ca_i)
    at_floor = (ca_i <= vals["ca_shell.ca_min"]) & (rate < 0)
    return xp.where(at_floor, 0.0 * rate, rate)


def derivatives(cell: Any, state: Mapping[str, Array], V: Array, xp: Any,
                values: Mapping[str, Array] | None = None,
                prepared: Prepared | None = None) -> tuple[dict[str, Array], Array]:
    """Right-hand side of a cell's channel states and its total ionic current.

    Returns ``(d_state, I_ion)``: ``d_state[name]`` in 1/ms (mM/ms for ``ca_i``) for every name
    of :func:`state_names`, and ``I_ion`` in pA (outward positive), so that
    ``C_pF · dV/dt = I_inj - I_ion``. ``values`` overrides cell values (flat names);
    ``prepared`` (from :func:`prepare`) replaces both for speed.
    """
    pr = prepared or prepare(cell, values)
    r = _all_rates(cell, state, V, pr, xp)
    d: dict[str, Array] = {}
    for c in cell.channels:
        for gate in CHANNELS[c].gates:
            inf, tau = r[c][gate]
            d[f"{c}.{gate}"] = (inf - state[f"{c}.{gate}"]) / tau
    currents = _currents(cell, state, V, pr)
    i_ion = 0.0
    for c in cell.channels:
        i_ion = i_ion + currents[c]
    if cell.calcium != "none":
        i_ca = 0.0 * V
        for c in cell.channels:
            if CHANNELS[c].ion == "ca":
                i_ca = i_ca + currents[c]
        if cell.calcium == "pool":
            d["ca_i"] = calcium_derivative(i_ca, state["ca_i"], pr.values)
        else:
            d["ca_i"] = shell_calcium_derivative(i_ca, state["ca_i"], pr.values, xp)
    return d, i_ion


def initial_state(cell: Any, V: Array, xp: Any,
                  values: Mapping[str, Array] | None = None) -> dict[str, Array]:
    """Every gate at its steady state for the membrane potential ``V`` and ``ca_i`` at its
    background (SLO gates use the partner's steady-state ``m``). This is what the NEURON
    mechanisms' INITIAL blocks do."""
    vals = _merged(cell, values)
    if cell.calcium == "shell":
        ca0 = vals["ca_shell.ca_min"] + 0.0 * V
    else:
        ca0 = vals["ca_pool.ca_bg"] + 0.0 * V
    state: dict[str, Array] = {"ca_i": ca0} if cell.calcium != "none" else {}
    # first the channels without partners (calcium channels among them)
    base = {}
    for c in cell.channels:
        spec = CHANNELS[c]
        if spec.partner is None:
            base[c] = rates(c, V, group_params(vals, spec.group), xp, ca_i=ca0)
            for gate, (inf, _) in base[c].items():
                state[f"{c}.{gate}"] = inf
    nd = group_params(vals, "nanodomain")
    for c in cell.channels:
        spec = CHANNELS[c]
        if spec.partner is not None:
            pr = base.get(spec.partner) or rates(
                spec.partner, V, group_params(vals, CHANNELS[spec.partner].group), xp)
            r = rates(c, V, group_params(vals, spec.group), xp, partner_rates=pr,
                      partner_m=pr["m"][0], E_Ca=vals["E_Ca"], nanodomain=nd)
            state[f"{c}.m"] = r["m"][0]
    return {k: state[k] for k in state_names(cell)}
