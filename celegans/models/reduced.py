"""Reduced single-compartment models: passive, Morris-Lecar (graded) and GLIF.

Equations (docs/architecture.md, identical in every backend), units pF, nS, mV, pA, ms:

- passive: ``C dV/dt = -g_L (V - E_L) + I``
- morris_lecar: ``C dV/dt = -g_Ca m_inf(V)(V-E_Ca) - g_K w (V-E_K) - g_L (V-E_L) + I``
- glif: ``C dV/dt = -g_L (V-E_L) + I - sum_j I_j``, ``dI_j/dt = -I_j/tau_j``; at ``V >= V_th``:
  ``V <- V_reset``, ``I_j <- I_j + a_j``, then ``V`` held at ``V_reset`` for ``t_ref``.

In NEURON each is one section of area :data:`SOMA_AREA_UM2` with ``pas`` as the leak; the nS
and pF parameters are converted to densities for that area.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from celegans.models.base import (
    SOMA_AREA_UM2,
    ModelError,
    NeuronModel,
    NrnCell,
    conductance_density,
    specific_capacitance,
)


def leaky_section(name: str, params: Mapping[str, float]) -> Any:
    """A one-segment soma of the standard area with a leak (``C`` pF, ``g_L`` nS, ``E_L`` mV)."""
    from neuron import h

    sec = h.Section(name=name)
    sec.nseg = 1
    sec.L = sec.diam = math.sqrt(SOMA_AREA_UM2 / math.pi)
    sec.cm = specific_capacitance(params["C"])
    sec.insert("pas")
    sec.g_pas = conductance_density(params["g_L"])
    sec.e_pas = params["E_L"]
    return sec


class PassiveModel(NeuronModel):
    """Graded leaky integrator."""

    name = "passive"
    description = "graded leaky integrator, C dV/dt = -g_L (V - E_L) + I"
    data_file = "passive.yaml"
    state_vars = ("v",)

    def build_nrn(self, params: Mapping[str, float], name: str, *, dt_ms: float = 0.025,
                  **options: Any) -> NrnCell:
        self.check_options(options)
        sec = leaky_section(name, params)
        return NrnCell(name, self.name, sec, [sec], capacitance_pF=params["C"])


class MorrisLecarModel(NeuronModel):
    """Graded Morris-Lecar (Rinzel & Ermentrout 1998 parameterisation)."""

    name = "morris_lecar"
    description = "Morris-Lecar Ca/K model (graded), Rinzel & Ermentrout 1998 form"
    data_file = "morris_lecar.yaml"
    state_vars = ("v", "w")

    def build_nrn(self, params: Mapping[str, float], name: str, *, dt_ms: float = 0.025,
                  **options: Any) -> NrnCell:
        self.check_options(options)
        sec = leaky_section(name, params)
        sec.insert("ceml")
        seg = sec(0.5)
        seg.ceml.gca = conductance_density(params["g_Ca"])
        seg.ceml.gk = conductance_density(params["g_K"])
        seg.ceml.eca = params["E_Ca"]
        seg.ceml.ek = params["E_K"]
        seg.ceml.v1 = params["V1"]
        seg.ceml.v2 = params["V2"]
        seg.ceml.v3 = params["V3"]
        seg.ceml.v4 = params["V4"]
        seg.ceml.tauw0 = params["tau_w0"]
        return NrnCell(name, self.name, sec, [sec], capacitance_pF=params["C"],
                       aliases={"w": "w_ceml"})


class GLIFModel(NeuronModel):
    """Leaky integrate-and-fire with two after-spike currents (GLIF-style, Teeter et al. 2018)."""

    name = "glif"
    description = "LIF with two after-spike currents and refractory period (Teeter et al. 2018)"
    data_file = "glif.yaml"
    state_vars = ("v", "I1", "I2", "nspikes")

    def build_nrn(self, params: Mapping[str, float], name: str, *, dt_ms: float = 0.025,
                  **options: Any) -> NrnCell:
        from neuron import h

        self.check_options(options)
        if params["V_reset"] >= params["V_th"]:
            raise ModelError(f"model 'glif' ({name}): V_reset ({params['V_reset']}) must be "
                             f"below V_th ({params['V_th']})")
        sec = leaky_section(name, params)
        pp = h.CeGLIF(sec(0.5))
        pp.vth = params["V_th"]
        pp.vreset = params["V_reset"]
        pp.tref = params["t_ref"]
        pp.a1 = params["a_1"] * 1e-3  # pA -> nA
        pp.tau1 = params["tau_1"]
        pp.a2 = params["a_2"] * 1e-3
        pp.tau2 = params["tau_2"]
        # stiff clamp during the refractory period: 1e4 x C/dt (uS)
        pp.gclamp = 1e4 * params["C"] * 1e-3 / dt_ms
        cell = NrnCell(name, self.name, sec, [sec], keep={"glif": pp}, capacitance_pF=params["C"])
        return cell
