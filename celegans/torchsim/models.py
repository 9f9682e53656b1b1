"""The registry's single-compartment models as torch kernels (batched, differentiable).

Every model exposes the same three pieces, used by :mod:`celegans.torchsim.integrator`:

* ``init(v, p)`` -> state dict at rest (gates at steady state for ``v``), like NEURON INITIAL;
* ``current(v, s, p)`` -> ``(i, g)``: total ionic current (pA, outward positive) and its
  derivative ``di/dv`` (nS), used by the semi-implicit voltage update;
* ``update(v_new, s, p, dt, aux)`` -> states advanced one step at the new voltage (exponential
  Euler / Rush-Larsen, exact for a frozen voltage);
* ``pre``/``post(v, s, p, dt)`` -> ``(v, s)`` at the start/end of a step, for discontinuous
  models (GLIF events, refractory clamp).

Equations are those of docs/architecture.md (units pF, nS, mV, pA, ms); kinetics of ``hh``
cells come from :mod:`celegans.channels.kinetics` (written once for numpy and torch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from celegans.torchsim.device import TorchSimError

Tensor = torch.Tensor
State = dict[str, Tensor]


def _exp(x: Any) -> Any:
    """exp of a tensor or a Python float."""
    return torch.exp(x) if isinstance(x, Tensor) else math.exp(x)


def _expeuler(x: Tensor, inf: Tensor, tau: Any, dt: float) -> Tensor:
    """Exact step of dx/dt = (inf - x)/tau for frozen inf, tau."""
    return inf + (x - inf) * _exp(-dt / tau)


class TorchModel:
    """Base class: a model of one compartment (see module docstring)."""

    name = ""
    states: tuple[str, ...] = ()
    #: largest step (ms) accepted; larger steps raise UnstableStepError
    max_dt_ms = 1.0
    #: steps per compiled call by default (None: the integrator's DEFAULT_CHUNK)
    compile_chunk: int | None = None

    def init(self, v: Tensor, p: Mapping[str, Any]) -> State:
        return {}

    def current(self, v: Tensor, s: State, p: Mapping[str, Any]
                ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """``(i, di/dv, aux)``; ``aux`` carries quantities ``update`` needs (e.g. I_Ca)."""
        raise NotImplementedError

    def update(self, v: Tensor, s: State, p: Mapping[str, Any], dt: float,
               aux: Mapping[str, Tensor]) -> State:
        return s

    def pre(self, v: Tensor, s: State, p: Mapping[str, Any], dt: float
            ) -> tuple[Tensor, State]:
        return v, s

    def post(self, v: Tensor, s: State, p: Mapping[str, Any], dt: float
             ) -> tuple[Tensor, State]:
        return v, s

    def capacitance(self, p: Mapping[str, Any]) -> Any:
        return p["C"]

    def v_init(self, p: Mapping[str, Any]) -> Any:
        return p["E_L"]


class PassiveTorch(TorchModel):
    name = "passive"
    max_dt_ms = 5.0

    def current(self, v, s, p):
        g = p["g_L"]
        return g * (v - p["E_L"]), g + 0.0 * v, {}


class MorrisLecarTorch(TorchModel):
    name = "morris_lecar"
    states = ("w",)
    max_dt_ms = 1.0

    def _winf(self, v, p):
        return 0.5 * (1.0 + torch.tanh((v - p["V3"]) / p["V4"]))

    def init(self, v, p):
        return {"w": self._winf(v, p)}

    def current(self, v, s, p):
        th = torch.tanh((v - p["V1"]) / p["V2"])
        minf = 0.5 * (1.0 + th)
        dminf = 0.5 * (1.0 - th * th) / p["V2"]
        i = (p["g_Ca"] * minf * (v - p["E_Ca"]) + p["g_K"] * s["w"] * (v - p["E_K"])
             + p["g_L"] * (v - p["E_L"]))
        g = p["g_Ca"] * (minf + dminf * (v - p["E_Ca"])) + p["g_K"] * s["w"] + p["g_L"]
        return i, g, {}

    def update(self, v, s, p, dt, aux):
        tau = p["tau_w0"] / torch.cosh((v - p["V3"]) / (2.0 * p["V4"]))
        return {"w": _expeuler(s["w"], self._winf(v, p), tau, dt)}


class GLIFTorch(TorchModel):
    """LIF + two after-spike currents, with NEURON's event timing.

    A crossing ``V > V_th`` found at the end of a step is recorded as is and handled at the
    start of the next step (as a NEURON ``WATCH`` event): ``V <- V_reset``, ``I_j <- I_j + a_j``,
    then ``V`` is held at ``V_reset`` for ``round(t_ref/dt)`` steps. The threshold test is a hard
    step (not differentiable in the spike times)."""

    name = "glif"
    states = ("I1", "I2", "nspikes", "pending", "ref")
    max_dt_ms = 0.5

    def init(self, v, p):
        z = torch.zeros_like(v)
        return {"I1": z, "I2": z.clone(), "nspikes": z.clone(), "pending": z.clone(),
                "ref": z.clone()}

    def pre(self, v, s, p, dt):
        fire = s["pending"] > 0.5
        spk = fire.to(v.dtype)
        nref = torch.round(p["t_ref"] / dt + 0.0 * v)
        return torch.where(fire, p["V_reset"] + 0.0 * v, v), {
            "I1": s["I1"] + spk * p["a_1"], "I2": s["I2"] + spk * p["a_2"],
            "nspikes": s["nspikes"] + spk, "pending": torch.zeros_like(v),
            "ref": torch.where(fire, nref, s["ref"])}

    def current(self, v, s, p):
        g = p["g_L"]
        return g * (v - p["E_L"]) + s["I1"] + s["I2"], g + 0.0 * v, {}

    def update(self, v, s, p, dt, aux):
        out = dict(s)
        out["I1"] = s["I1"] * _exp(-dt / p["tau_1"])
        out["I2"] = s["I2"] * _exp(-dt / p["tau_2"])
        return out

    def post(self, v, s, p, dt):
        clamped = s["ref"] > 0.5
        v = torch.where(clamped, p["V_reset"] + 0.0 * v, v)
        out = dict(s)
        out["ref"] = torch.where(clamped, s["ref"] - 1.0, s["ref"])
        out["pending"] = ((~clamped) & (v > p["V_th"])).to(v.dtype)
        return v, out


class HHCellTorch(TorchModel):
    """Single compartment with the channels of a cell of :mod:`celegans.cells`.

    ``p`` holds the cell's flat kinetic values (``C_pF``, ``E_K``, ``g_<channel>``,
    ``<group>.<constant>``), scalars or tensors broadcasting against ``v``."""

    name = "hh"
    max_dt_ms = 0.1

    def __init__(self, cell: Any):
        from celegans.channels import kinetics as K

        self.K = K
        self.cell = cell
        self.channels = tuple(cell.channels)
        self.specs = {c: K.channel(c) for c in self.channels}
        self.pooled = cell.calcium == "pool"
        self.shell = cell.calcium == "shell"
        self.states = tuple(K.state_names(cell))
        self._groups: dict[str, dict[str, Any]] | None = None
        self._plan: Any = None
        # many-channel kernels: compile time grows with the steps per call, while at the
        # batch sizes these cells are run at the call overhead matters little
        self.compile_chunk = None if len(self.channels) <= 3 else 2
        self.export: tuple[str, ...] = ()

    def capacitance(self, p):
        return p["C_pF"]

    def v_init(self, p):
        for key in ("v_init", "V_init", "E_rest"):
            if key in p:
                return p[key]
        raise TorchSimError(f"hh cell {self.cell.name!r}: no v_init value in the cell file")

    def _group(self, p, group):
        return self.K.group_params(p, group)

    def init(self, v, p):
        s = self.K.initial_state(self.cell, v, torch, values=_kin_values(self.cell, p))
        s = {k: (x if isinstance(x, Tensor) else torch.full_like(v, float(x)))
             for k, x in s.items()}
        plan = self._fused(p)
        if plan is not None:
            from celegans.torchsim import hh_fused

            return hh_fused.pack(plan, s, v, self.export)
        return s

    def _rates(self, v, s, p):
        K = self.K
        out: dict[str, dict[str, tuple[Tensor, Tensor]]] = {}
        ca_i = s["ca_i"] if (self.pooled or self.shell) else p["ca_pool.ca_bg"]
        nd = None
        for c in self.channels:
            spec = self.specs[c]
            gp = self._group(p, spec.group)
            if spec.partner is not None:
                if spec.partner not in out:
                    out[spec.partner] = K.rates(
                        spec.partner, v, self._group(p, K.CHANNELS[spec.partner].group), torch)
                if nd is None:
                    nd = self._group(p, "nanodomain")
                out[c] = K.rates(c, v, gp, torch, partner_rates=out[spec.partner],
                                 partner_m=s[f"{spec.partner}.m"], E_Ca=p["E_Ca"],
                                 nanodomain=nd)
            elif c not in out:
                out[c] = K.rates(c, v, gp, torch, ca_i=ca_i)
        return out

    def current(self, v, s, p):
        plan = self._fused(p)
        if plan is not None:
            from celegans.torchsim import hh_fused

            return hh_fused.current(plan, v, s, p)
        K = self.K
        i = 0.0 * v
        g = 0.0 * v
        i_ca = 0.0 * v
        for c in self.channels:
            spec = self.specs[c]
            gates = {gt: s[f"{c}.{gt}"] for gt in spec.gates}
            partner = None
            if spec.partner is not None:
                partner = {gt: s[f"{spec.partner}.{gt}"]
                           for gt in K.CHANNELS[spec.partner].gates}
            gc = p[f"g_{c}"] * K.open_fraction(c, gates, self._group(p, spec.group), partner)
            ic = gc * (v - p[K.REVERSAL_BY_ION[spec.ion]])
            i = i + ic
            g = g + gc
            if spec.ion == "ca":
                i_ca = i_ca + ic
        return i, g, {"i_ca": i_ca}

    # --- fused step (hh_fused): tables + all channels at once --------------------------------
    def prepare(self, p: Mapping[str, Any], dt: float, device: Any, dtype: Any,
                export: tuple[str, ...] = ()) -> dict[str, Any]:
        """``p`` plus the tensors of the fused step (:mod:`celegans.torchsim.hh_fused`) for
        step ``dt``; unchanged (per-channel kernel) when the fused step does not apply. The
        fused step keeps the gates packed in one tensor: the gates named in ``export`` are
        also kept under their names (to be recorded)."""
        from celegans.torchsim import hh_fused

        self.export = tuple(e for e in export if e in self.states and e != "ca_i")
        built = hh_fused.build(self, p, float(dt), device, dtype)
        if built is None:
            self._plan = None
            return dict(p)
        self._plan, tensors = built
        return {**p, **tensors}

    def _fused(self, p: Mapping[str, Any]) -> Any:
        plan = self._plan
        return plan if plan is not None and "__hh_gbar__" in p else None

    def update(self, v, s, p, dt, aux):
        plan = self._fused(p)
        if plan is not None:
            from celegans.torchsim import hh_fused

            new = hh_fused.update_gates(plan, self, v, s, p, dt, self.export)
        else:
            r = self._rates(v, s, p)
            new = {}
            for c in self.channels:
                for gt in self.specs[c].gates:
                    inf, tau = r[c][gt]
                    new[f"{c}.{gt}"] = _expeuler(s[f"{c}.{gt}"], inf, tau, dt)
        if self.pooled:
            i_ca = aux["i_ca"]
            influx = torch.clamp(-i_ca, min=0.0)
            a = p["ca_pool.f"] * influx / (2.0 * p["ca_pool.F"] * p["volume_um3"])
            inf = p["ca_pool.ca_bg"] + a * p["ca_pool.tau"]
            new["ca_i"] = _expeuler(s["ca_i"], inf, p["ca_pool.tau"] + 0.0 * v, dt)
        elif self.shell:
            # d ca/dt = A - beta ca (kinetics.shell_calcium_derivative), held at the floor ca_min
            a = -aux["i_ca"] * 1e3 / (2.0 * p["ca_shell.F"] * p["ca_shell.depth"] * p["area_um2"])
            beta = p["ca_shell.beta"] + 0.0 * v
            ca = _expeuler(s["ca_i"], a / beta, 1.0 / beta, dt)
            floor = torch.minimum(s["ca_i"], p["ca_shell.ca_min"] + 0.0 * v)
            new["ca_i"] = torch.maximum(ca, floor)
        return new


def _kin_values(cell: Any, p: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``p`` that are the cell's kinetic values (for kinetics.initial_state)."""
    return {k: v for k, v in p.items() if k in cell.values}


_REDUCED = {"passive": PassiveTorch, "morris_lecar": MorrisLecarTorch, "glif": GLIFTorch}


def torch_model(name: str, cell: Any = None) -> TorchModel:
    """The torch kernel of registry model ``name`` (``hh`` needs the cell description)."""
    if name in _REDUCED:
        return _REDUCED[name]()
    if name == "hh":
        if cell is None:
            raise TorchSimError("model 'hh': needs a cell description")
        return HHCellTorch(cell)
    raise TorchSimError(f"model {name!r}: no torch kernel (available: "
                        f"{sorted([*_REDUCED, 'hh'])})")
