"""Fused step of an ``hh`` cell: all gates and channels of a cell in a few wide tensor ops.

The per-channel kernel of :class:`celegans.torchsim.models.HHCellTorch` evaluates every rate
function and gating product channel by channel (hundreds of small tensor ops per step for a
C. elegans cell with 14 channels), so its speed is bound by per-op overhead. When the kinetic
constants of the cell are plain numbers (the usual case: Level 1 fits conductances, reversal
potentials, capacitance and calcium constants), the voltage dependence of every gate is fixed
and a step needs only:

* one gather from a voltage table (0.01-mV grid, linear interpolation) giving, for every gate
  that depends on V only, ``inf`` and ``exp(-dt/tau)``; and for every SLO nanodomain complex
  (Nicoletti et al. 2019) the two V-only factors of its rates, ``inf = m_Ca * F(V)`` and
  ``exp(-dt/tau(V))``; gates that read bulk calcium (KCNL, SLO iso) are computed directly;
* one update of all gates ``x <- inf + (x - inf) * exp(-dt/tau)`` (exponential Euler, the
  same formula as the per-channel kernel);
* the gating products of :func:`celegans.channels.kinetics.open_fraction_terms` for all
  channels at once (one row gather, products and short sums: no matmul, so a compiled step
  stays one loop), then the currents.

The gates are kept packed, gate-major (``state["__x__"]`` of shape ``(n_gates + 1, *v.shape)``,
so gathering rows is a copy of contiguous vectors); gates asked for by name (to be recorded) are
also exported under their names. The initial state, the NEURON comparison and the results are
those of the per-channel kernel (``tables=False``), to ~1e-6 of the range (the tables'
interpolation). Tables cost ~16 MB (float64) per cell.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

Tensor = torch.Tensor

#: voltage grid of the tables (mV); outside it the end values are used
TABLE_VMIN, TABLE_VMAX, TABLE_STEP = -150.0, 100.0, 0.01
#: name of the constant pseudo-gate (column 0 of the packed gates)
ONE = "__one__"
#: key of the packed gates, shape (..., n_gates + 1), in :attr:`FusedPlan.gate_order`
PACKED = "__x__"


@dataclass
class FusedPlan:
    """Static layout of a fused ``hh`` step (index lists, powers; tensors live in ``p``)."""

    gate_order: list[str]       # packed order: ONE, tabled, SLO complexes, direct
    n_tab: int                  # gates read from the table (inf, exp(-dt/tau)), ONE included
    n_slo: int                  # SLO complex gates (F(V), exp(-dt/tau) from the table)
    direct: list[tuple[str, str]]   # (channel, gate) computed from the rate functions
    channels: list[str]
    lin_pow_one: bool           # all sum-term powers are 1 (skip the power)
    fac_pow_one: bool
    n_fac: int                  # product factors per channel (padded with the ones column)
    ca_channels: bool           # any calcium channel (for the calcium pool / shell)
    n_lin: int                  # sum terms per channel (padded with weight 0)


def _float(x: Any) -> bool:
    return isinstance(x, int | float)


def build(kernel: Any, p: Mapping[str, Any], dt: float, device: Any, dtype: Any
          ) -> tuple[FusedPlan, dict[str, Tensor]] | None:
    """Plan and tensors of the fused step for ``kernel`` (an ``HHCellTorch``) with values
    ``p``; ``None`` when the fused step does not apply (batched kinetic constants)."""
    specs = kernel.specs
    groups = {spec.group for spec in specs.values()} | {"nanodomain"}
    for key, val in p.items():
        g, dot, _ = key.partition(".")
        if dot and g in groups and not _float(val):
            return None  # a batched kinetic constant: rates differ per parameter set
    if not _float(p.get("E_Ca", 0.0)) and any(s.partner for s in specs.values()):
        return None  # SLO complexes read E_Ca: a batched E_Ca needs the per-channel kernel
    tab_gates: list[tuple[str, str]] = []
    slo_gates: list[tuple[str, str]] = []
    direct: list[tuple[str, str]] = []
    for c in kernel.channels:
        spec = specs[c]
        kind = slo_gates if spec.partner else direct if spec.needs_ca_i else tab_gates
        kind.extend((c, gt) for gt in spec.gates)
    # a constant pseudo-gate (inf = 1, exp(-dt/tau) = 0) supplies the column of ones that pads
    # the gating products, so the packed state needs no concatenation per step
    order = [ONE] + [f"{c}.{g}" for c, g in (*tab_gates, *slo_gates, *direct)]
    pos = {n: i for i, n in enumerate(order)}
    gp = {c: kernel._group(p, specs[c].group) for c in kernel.channels}
    tensors = _cached_tables(kernel, p, gp, tab_gates, slo_gates, pos, dt, device, dtype)
    prod, n_lin, n_fac, lin_one, fac_one = _products(kernel, gp, pos, device, dtype)
    tensors.update(prod)
    is_ca = [1.0 if specs[c].ion == "ca" else 0.0 for c in kernel.channels]
    tensors["__hh_is_ca__"] = torch.as_tensor(is_ca, dtype=dtype, device=device)
    # conductances and reversal potentials per channel, stacked on a first axis (batched
    # values keep their batch axes and the autograd graph)
    tensors["__hh_gbar__"] = _stack_first([p[f"g_{c}"] for c in kernel.channels], device,
                                          dtype)
    tensors["__hh_erev__"] = _stack_first(
        [p[kernel.K.REVERSAL_BY_ION[specs[c].ion]] for c in kernel.channels], device, dtype)
    plan = FusedPlan(order, 1 + len(tab_gates), len(slo_gates), direct, list(kernel.channels),
                     lin_one, fac_one, n_fac, any(is_ca), n_lin)
    return plan, tensors


#: recently built tables (a batch of parameter sets re-run with new conductances reuses them)
_TABLE_CACHE: OrderedDict[tuple, dict[str, Tensor]] = OrderedDict()
TABLE_CACHE_SIZE = 4


def _cached_tables(kernel: Any, p: Mapping[str, Any], gp: Mapping[str, Any],
                   tab_gates: list[tuple[str, str]], slo_gates: list[tuple[str, str]],
                   pos: Mapping[str, int], dt: float, device: Any, dtype: Any
                   ) -> dict[str, Tensor]:
    """:func:`_tables`, memoised on what they are built from: the gates, every scalar
    ``<group>.<constant>`` and ``E_Ca`` of ``p`` (a batched kinetic constant never reaches
    here), dt, device and dtype."""
    consts = tuple(sorted((k, float(v)) for k, v in p.items()
                          if ("." in k or k == "E_Ca") and _float(v)))
    key = (type(kernel).__name__, tuple(tab_gates), tuple(slo_gates), consts, float(dt),
           str(device), dtype)
    hit = _TABLE_CACHE.get(key)
    if hit is None:
        hit = _tables(kernel, p, gp, tab_gates, slo_gates, pos, dt, device, dtype)
        _TABLE_CACHE[key] = hit
        while len(_TABLE_CACHE) > TABLE_CACHE_SIZE:
            _TABLE_CACHE.popitem(last=False)
    else:
        _TABLE_CACHE.move_to_end(key)
    return dict(hit)


def _tables(kernel: Any, p: Mapping[str, Any], gp: Mapping[str, Any],
            tab_gates: list[tuple[str, str]], slo_gates: list[tuple[str, str]],
            pos: Mapping[str, int], dt: float, device: Any, dtype: Any) -> dict[str, Tensor]:
    """Voltage tables, columns ``[inf tabled | F SLO | exp(-dt/tau) tabled | SLO]`` then their
    forward differences, on the :data:`TABLE_STEP` grid; and the SLO multiplier rows."""
    K = kernel.K
    n = int(round((TABLE_VMAX - TABLE_VMIN) / TABLE_STEP)) + 1
    vg = torch.linspace(TABLE_VMIN, TABLE_VMAX, n, dtype=torch.float64)
    cache: dict[str, Any] = {}

    def rates(c: str) -> Any:
        if c not in cache:
            cache[c] = K.rates(c, vg, gp.get(c) or kernel._group(p, K.CHANNELS[c].group),
                               torch)
        return cache[c]

    infs, decs = [torch.ones_like(vg)], [torch.zeros_like(vg)]  # the ONE pseudo-gate
    for c, gt in tab_gates:
        inf, tau = rates(c)[gt]
        infs.append(inf + 0.0 * vg)
        decs.append(torch.exp(-dt / (tau + 0.0 * vg)))
    f_slo, d_slo, mult = [], [], [pos[ONE]] * len(infs)
    nd = kernel._group(p, "nanodomain") if slo_gates else None
    for c, gt in slo_gates:
        partner = kernel.specs[c].partner
        # inf is linear in the partner's m: with m = 1 it is F(V); tau does not depend on m
        inf, tau = K.rates(c, vg, gp[c], torch, partner_rates=rates(partner),
                           partner_m=torch.ones_like(vg), E_Ca=float(p["E_Ca"]),
                           nanodomain=nd)[gt]
        f_slo.append(inf + 0.0 * vg)
        d_slo.append(torch.exp(-dt / (tau + 0.0 * vg)))
        mult.append(pos[f"{partner}.m"])
    t = torch.stack(infs + f_slo + decs + d_slo, 1)       # (n, W)
    d = torch.diff(t, dim=0, append=t[-1:])               # forward differences
    out = {"__hh_table__": torch.cat([t, d], 1).to(device=device, dtype=dtype)}
    if slo_gates:  # inf = table value * x[mult]: 1 (ONE) for tabled gates, m_Ca for complexes
        out["__hh_slo_mult__"] = torch.as_tensor(mult, dtype=torch.long, device=device)
    return out


def _products(kernel: Any, gp: Mapping[str, Any], pos: Mapping[str, int], device: Any,
              dtype: Any) -> tuple[dict[str, Tensor], int, int, bool, bool]:
    """Gating products as data: ``open_c = (sum_k w_k x[a_k]**p_k) * prod_j x[b_j]``. An
    integer power of a lone sum term or of a factor becomes repeated factors (products are
    cheaper than pow); the ONE row pads terms (weight 0) and factors. Returns the tensors,
    sum terms and factors per channel, and whether all powers are 1."""
    K = kernel.K
    one = pos[ONE]
    lins: list[list[tuple[int, float, float]]] = []
    facs: list[list[tuple[int, float]]] = []
    for c in kernel.channels:
        terms, factors = K.open_fraction_terms(c, gp[c])
        partner = kernel.specs[c].partner

        def col(key: str, c: str = c, partner: str | None = partner) -> int:
            if key.startswith(K.PARTNER):
                return pos[f"{partner}.{key[len(K.PARTNER):]}"]
            return pos[f"{c}.{key}"]

        fl: list[tuple[int, float]] = []
        for key, q in factors:
            q = float(q)
            fl += [(col(key), 1.0)] * int(q) if q.is_integer() and q >= 1 else [(col(key), q)]
        if not terms:
            terms = [(1.0, None, 1.0)]
        if len(terms) == 1 and float(terms[0][2]).is_integer() and terms[0][2] > 1:
            w, key, q = terms[0]
            fl += [(col(key), 1.0)] * (int(q) - 1)
            terms = [(w, key, 1.0)]
        lins.append([(one if key is None else col(key), float(q), float(w))
                     for w, key, q in terms])
        facs.append(fl)
    n_lin = max(len(t) for t in lins)
    n_fac = max((len(f) for f in facs), default=0)
    # slot-major: row k * C + c of the gathered gates is slot k of channel c
    li = [[t[k][0] if k < len(t) else one for t in lins] for k in range(n_lin)]
    lq = [[t[k][1] if k < len(t) else 1.0 for t in lins] for k in range(n_lin)]
    lw = [[t[k][2] if k < len(t) else 0.0 for t in lins] for k in range(n_lin)]
    fi = [[f[k][0] if k < len(f) else one for f in facs] for k in range(n_fac)]
    fq = [[f[k][1] if k < len(f) else 1.0 for f in facs] for k in range(n_fac)]
    rows = [i for row in li + fi for i in row]
    out = {"__hh_cols__": torch.as_tensor(rows, dtype=torch.long, device=device),
           "__hh_lin_pow__": torch.as_tensor(lq, dtype=dtype, device=device),
           "__hh_lin_w__": torch.as_tensor(lw, dtype=dtype, device=device)}
    if n_fac:
        out["__hh_fac_pow__"] = torch.as_tensor(fq, dtype=dtype, device=device)
    lin_one = all(q == 1.0 for row in lq for q in row)
    fac_one = all(q == 1.0 for row in fq for q in row)
    return out, n_lin, n_fac, lin_one, fac_one


def _stack_first(values: list[Any], device: Any, dtype: Any) -> Tensor:
    """Stack scalars/tensors (broadcast to a common shape, at least 2-D like the voltages)
    along a new first axis."""
    ts = [v if isinstance(v, Tensor) else torch.tensor(float(v), device=device, dtype=dtype)
          for v in values]
    shape = torch.broadcast_shapes(*(t.shape for t in ts), (1, 1))
    return torch.stack([t.to(device=device, dtype=dtype).expand(shape) for t in ts], 0)


def _bcast(t: Tensor, v: Tensor) -> Tensor:
    """``t`` of shape (K, ...) viewed to broadcast against (K, *v.shape)."""
    extra = v.dim() + 1 - t.dim()
    return t.view(t.shape + (1,) * extra) if extra > 0 else t


def pack(plan: FusedPlan, named: Mapping[str, Tensor], v: Tensor,
         export: tuple[str, ...] = ()) -> dict[str, Tensor]:
    """Named gates -> packed state ``{PACKED: x, **exported rows}`` (``ca_i`` kept); ``x``
    is gate-major, shape ``(n_gates + 1, *v.shape)``: gathers of whole rows are cheap."""
    x = torch.stack([torch.ones_like(v)] + [named[n] + 0.0 * v for n in plan.gate_order[1:]],
                    0)
    out = {k: val for k, val in named.items() if k == "ca_i"}
    out[PACKED] = x
    return _exported(plan, out, export)


def _exported(plan: FusedPlan, s: dict[str, Tensor], export: tuple[str, ...]
              ) -> dict[str, Tensor]:
    for name in export:
        s[name] = s[PACKED][plan.gate_order.index(name)]
    return s


def current(plan: FusedPlan, v: Tensor, s: Mapping[str, Tensor], p: Mapping[str, Any]
            ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """``(i, di/dv, aux)`` of all channels at once (see module docstring)."""
    C = len(plan.channels)
    g = torch.index_select(s[PACKED], 0, p["__hh_cols__"])  # every row the products read
    a = g[:plan.n_lin * C].unflatten(0, (plan.n_lin, C))
    if not plan.lin_pow_one:
        a = a ** _bcast(p["__hh_lin_pow__"], a[0])
    # no matmul: a pointwise product and a short sum fuse into one compiled loop
    open_ = (a * _bcast(p["__hh_lin_w__"], a[0])).sum(0) if plan.n_lin > 1 else \
        a[0] * _bcast(p["__hh_lin_w__"][0], v)
    if plan.n_fac:
        f = g[plan.n_lin * C:].unflatten(0, (plan.n_fac, C))
        if not plan.fac_pow_one:
            f = f ** _bcast(p["__hh_fac_pow__"], f[0])
        open_ = open_ * (f.prod(0) if plan.n_fac > 1 else f[0])
    gch = _bcast(p["__hh_gbar__"], v) * open_                     # (C, ...) nS
    ich = gch * (v - _bcast(p["__hh_erev__"], v))                 # (C, ...) pA
    i_ca = (ich * _bcast(p["__hh_is_ca__"], v)).sum(0) if plan.ca_channels else \
        torch.zeros_like(v)
    return ich.sum(0), gch.sum(0), {"i_ca": i_ca}


def update_gates(plan: FusedPlan, kernel: Any, v: Tensor, s: Mapping[str, Tensor],
                 p: Mapping[str, Any], dt: float, export: tuple[str, ...] = ()
                 ) -> dict[str, Tensor]:
    """All gates advanced one step at the new voltage ``v`` (exponential Euler); returns the
    packed state without ``ca_i`` (the caller advances calcium)."""
    x = s[PACKED]
    nt, ns = plan.n_tab, plan.n_slo
    tab = p["__hh_table__"]
    W = tab.shape[1] // 2
    # a NaN voltage (a blown-up parameter set, flagged by the integrator) reads row 0 rather
    # than an index out of range that would fail the whole batch
    u = torch.clamp(torch.nan_to_num((v - TABLE_VMIN) * (1.0 / TABLE_STEP), nan=0.0), 0.0,
                    float(tab.shape[0] - 2))
    i0 = u.long()
    f = (u - i0).reshape(-1)
    rows = torch.index_select(tab, 0, i0.reshape(-1)).T        # (2W, N): row gather is cheap
    val = (rows[:W] + f * rows[W:]).reshape((W,) + v.shape)
    m = nt + ns
    inf, dec = val[:m], val[m:]
    if ns:  # SLO complexes: inf = m_Ca * F(V) with the partner's m of the step start
        inf = inf * torch.index_select(x, 0, p["__hh_slo_mult__"])
    xn = inf + (x[:m] - inf) * dec
    if plan.direct:
        ca_i = s["ca_i"] if (kernel.pooled or kernel.shell) else p["ca_pool.ca_bg"]
        done: dict[str, Any] = {}
        new_rows = []
        for j, (c, gt) in enumerate(plan.direct):
            if c not in done:
                done[c] = kernel.K.rates(c, v, kernel._group(p, kernel.specs[c].group), torch,
                                         ca_i=ca_i)
            inf_d, tau = done[c][gt]
            old = x[m + j]
            new_rows.append(inf_d + (old - inf_d) * torch.exp(-dt / (tau + 0.0 * v)))
        xn = torch.cat([xn, torch.stack(new_rows, 0)], 0)
    return _exported(plan, {PACKED: xn}, export)
