"""NeuroML2 export of a :class:`NetworkSpec` (cells, graded synapses, gap junctions, muscles).

Supported neuron models: ``passive`` (one-compartment cell with a passive channel) and ``hh``
cells whose channels are the classic Hodgkin-Huxley set (``hh_na``, ``hh_k``, ``leak``, e.g.
``hh:HH1952``), written as standard ``ionChannelHH`` rate forms. Other models raise
:class:`ExportError` naming them.

Exact vs approximate (stated in the file's notes):
- cells, leak, HH channels, gap junctions (``gapJunction`` per contact x weight) are exact;
- the graded synapse is NeuroML's core ``gradedSynapse``, whose time constant is
  ``(1 - s_inf)/k``; we set ``k = 1/tau_syn``, so it equals ours only while ``s_inf`` is small
  (our model keeps ``tau_syn`` constant);
- muscles are exported as passive cells; their activation variable is not part of NeuroML.

Per-pair conductance = per-contact conductance (the synapse component) x weight (contacts x
multiplier), so the class-pair multipliers survive the export.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import atomic_path
from celegans.models.base import SOMA_AREA_UM2
from celegans.network.spec import NetworkError, NetworkSpec

_HH_OK = {"hh_na", "hh_k", "leak"}


class ExportError(NetworkError):
    """The network holds something NeuroML export does not support; the message says what."""


def _nid(name: str) -> str:
    return name.replace("-", "_")


def _soma_cell(cell_id: str, area_um2: float, c_pF: float, notes: str) -> Any:
    import neuroml

    d = math.sqrt(area_um2 / math.pi)  # cylinder L = diam -> lateral area = pi d^2
    seg = neuroml.Segment(id=0, name="soma",
                          proximal=neuroml.Point3DWithDiam(x=0, y=0, z=0, diameter=d),
                          distal=neuroml.Point3DWithDiam(x=0, y=d, z=0, diameter=d))
    morph = neuroml.Morphology(id=f"morph_{cell_id}", segments=[seg])
    morph.segment_groups.append(neuroml.SegmentGroup(id="all",
                                                     members=[neuroml.Member(segments=0)]))
    cm = 100.0 * c_pF / area_um2  # uF/cm2
    mp = neuroml.MembraneProperties(
        spike_threshes=[neuroml.SpikeThresh(value="0 mV", segment_groups="all")],
        specific_capacitances=[neuroml.SpecificCapacitance(value=f"{cm:.9g} uF_per_cm2",
                                                           segment_groups="all")])
    ip = neuroml.IntracellularProperties(
        resistivities=[neuroml.Resistivity(value="100 ohm_cm", segment_groups="all")])
    bp = neuroml.BiophysicalProperties(id=f"bio_{cell_id}", membrane_properties=mp,
                                       intracellular_properties=ip)
    return neuroml.Cell(id=cell_id, morphology=morph, biophysical_properties=bp, notes=notes)


def _density(cell: Any, chan: str, g_nS: float, erev: float, area: float, ion: str) -> None:
    import neuroml

    g = 0.1 * g_nS / area * 1e3  # nS over area um2 -> mS/cm2
    cell.biophysical_properties.membrane_properties.channel_densities.append(
        neuroml.ChannelDensity(id=f"{chan}_all", ion_channel=chan,
                               cond_density=f"{g:.9g} mS_per_cm2", erev=f"{erev:.9g} mV",
                               ion=ion, segment_groups="all"))


def _hh_channels(doc: Any, q10: dict[str, float]) -> None:
    """Classic HH Na and K channels (Hodgkin & Huxley 1952, rest -65 mV convention)."""
    import neuroml

    def q(name: str) -> list[Any]:
        return [neuroml.Q10Settings(type="q10ExpTemp", q10_factor=f"{q10[name]:g}",
                                    experimental_temp="6.3 degC")]

    na = neuroml.IonChannelHH(id="hh_na", species="na", conductance="10pS")
    na.gate_hh_rates.append(neuroml.GateHHRates(
        id="m", instances=3, q10_settings=q("hh_na")[0],
        forward_rate=neuroml.HHRate(type="HHExpLinearRate", rate="1per_ms", midpoint="-40mV",
                                    scale="10mV"),
        reverse_rate=neuroml.HHRate(type="HHExpRate", rate="4per_ms", midpoint="-65mV",
                                    scale="-18mV")))
    na.gate_hh_rates.append(neuroml.GateHHRates(
        id="h", instances=1, q10_settings=q("hh_na")[0],
        forward_rate=neuroml.HHRate(type="HHExpRate", rate="0.07per_ms", midpoint="-65mV",
                                    scale="-20mV"),
        reverse_rate=neuroml.HHRate(type="HHSigmoidRate", rate="1per_ms", midpoint="-35mV",
                                    scale="10mV")))
    k = neuroml.IonChannelHH(id="hh_k", species="k", conductance="10pS")
    k.gate_hh_rates.append(neuroml.GateHHRates(
        id="n", instances=4, q10_settings=q("hh_k")[0],
        forward_rate=neuroml.HHRate(type="HHExpLinearRate", rate="0.1per_ms", midpoint="-55mV",
                                    scale="10mV"),
        reverse_rate=neuroml.HHRate(type="HHExpRate", rate="0.125per_ms", midpoint="-65mV",
                                    scale="-80mV")))
    doc.ion_channel_hhs.extend([na, k])


def build_document(spec: NetworkSpec, network_id: str = "celegans_network") -> Any:
    """A ``neuroml.NeuroMLDocument`` of the network (raises :class:`ExportError`)."""
    import neuroml

    doc = neuroml.NeuroMLDocument(id=network_id, notes=(
        f"C. elegans network from connectome {spec.dataset!r} exported by celegans. Graded "
        "synapses use NeuroML gradedSynapse with k = 1/tau_syn (exact only for small s_inf); "
        "muscle activation is not exported."))
    doc.ion_channel.append(neuroml.IonChannel(id="passive_chan", type="ionChannelPassive",
                                              conductance="10pS"))
    temps: set[float] = set()
    q10: dict[str, float] = {}
    cells: dict[str, str] = {}  # neuron -> cell id
    for name, m in zip(spec.neurons, spec.models, strict=True):
        cid = f"cell_{_nid(name)}"
        p = m.params
        if m.model == "passive":
            cell = _soma_cell(cid, SOMA_AREA_UM2, p["C"], f"{name}: passive")
            _density(cell, "passive_chan", p["g_L"], p["E_L"], SOMA_AREA_UM2, "non_specific")
        elif m.model == "hh":
            from celegans.models.hh import load_cell_spec

            cs = load_cell_spec(m.options.get("cell", "RMD"))
            bad = set(cs.channels) - _HH_OK
            if bad:
                raise ExportError(f"neuron {name}: hh cell {cs.name!r} has channels "
                                  f"{sorted(bad)} with no NeuroML export (only {sorted(_HH_OK)})")
            area = p["area_um2"]
            cell = _soma_cell(cid, area, p["C_pF"], f"{name}: hh:{cs.name}")
            for ch in cs.channels:
                if ch == "leak":
                    _density(cell, "passive_chan", p["g_leak"], p["E_leak"], area,
                             "non_specific")
                else:
                    ion = "na" if ch == "hh_na" else "k"
                    _density(cell, ch, p[f"g_{ch}"], p["E_Na" if ion == "na" else "E_K"],
                             area, ion)
                    temps.add(p[f"{ch}.temp"])
                    q10[ch] = p[f"{ch}.q10"]
        else:
            raise ExportError(f"neuron {name}: model {m.label!r} has no NeuroML export "
                              "(supported: passive, hh with hh_na/hh_k/leak channels)")
        cell.biophysical_properties.membrane_properties.init_memb_potentials.append(
            neuroml.InitMembPotential(value=f"{p.get('E_L', p.get('v_init', -65.0)):.9g} mV",
                                      segment_groups="all"))
        doc.cells.append(cell)
        cells[name] = cid
    if q10:
        _hh_channels(doc, q10)
    if len(temps) > 1:
        raise ExportError(f"hh cells at different temperatures {sorted(temps)}")
    mp = spec.muscle_params
    if spec.n_muscles:
        mcell = _soma_cell("cell_BWM", SOMA_AREA_UM2, mp["C"], "body-wall muscle (passive)")
        _density(mcell, "passive_chan", mp["g_L"], mp["E_L"], SOMA_AREA_UM2, "non_specific")
        mcell.biophysical_properties.membrane_properties.init_memb_potentials.append(
            neuroml.InitMembPotential(value=f"{mp['E_L']:.9g} mV", segment_groups="all"))
        doc.cells.append(mcell)

    net_kw: dict[str, Any] = {"id": network_id}
    if temps:
        net_kw.update(type="networkWithTemperature", temperature=f"{temps.pop():g} degC")
    net = neuroml.Network(**net_kw)
    doc.networks.append(net)
    for name in spec.neurons:
        net.populations.append(neuroml.Population(id=_nid(name), component=cells[name], size=1))
    for mus in spec.muscles:
        net.populations.append(neuroml.Population(id=mus, component="cell_BWM", size=1))

    syn = spec.synapse_params
    doc.silent_synapses.append(neuroml.SilentSynapse(id="silent"))
    syn_ids: dict[float, str] = {}

    def graded(e: float) -> str:
        key = round(float(e), 9)
        if key not in syn_ids:
            sid = f"graded_syn_{len(syn_ids)}"
            doc.graded_synapses.append(neuroml.GradedSynapse(
                id=sid, conductance=f"{spec.params['g_chem_contact']:.9g}nS",
                delta=f"{syn['Delta']:.9g}mV", Vth=f"{syn['V_th']:.9g}mV",
                k=f"{1.0 / syn['tau']:.9g}per_ms", erev=f"{key:.9g}mV"))
            syn_ids[key] = sid
        return syn_ids[key]

    def continuous(kind: str, pre: np.ndarray, post_names: list[str], w: np.ndarray,
                   e: np.ndarray) -> None:
        for k, (a, post, wk, ek) in enumerate(zip(pre, post_names, w, e, strict=True)):
            proj = neuroml.ContinuousProjection(id=f"{kind}_{k}",
                                                presynaptic_population=_nid(spec.neurons[a]),
                                                postsynaptic_population=post)
            proj.continuous_connection_instance_ws.append(neuroml.ContinuousConnectionInstanceW(
                id=0, pre_cell=f"../{_nid(spec.neurons[a])}[0]", post_cell=f"../{post}[0]",
                pre_component="silent", post_component=graded(ek), weight=f"{wk:.9g}"))
            net.continuous_projections.append(proj)

    scale = spec.params["g_chem_contact"]
    if scale > 0:
        continuous("chem", spec.chem_pre, [_nid(spec.neurons[b]) for b in spec.chem_post],
                   spec.chem_g / scale, spec.chem_E)
    nmj_scale = spec.params["g_nmj_contact"]
    if nmj_scale > 0 and spec.n_muscles:
        # same per-contact component: weights carry g_nmj / g_chem
        w = spec.nmj_g / scale if scale > 0 else spec.nmj_g
        continuous("nmj", spec.nmj_pre, [spec.muscles[m] for m in spec.nmj_muscle], w,
                   spec.nmj_E)
    gscale = spec.params["g_gap_contact"]
    if gscale > 0 and len(spec.gap_a):
        doc.gap_junctions.append(neuroml.GapJunction(id="gap_contact",
                                                     conductance=f"{gscale:.9g}nS"))
        for k, (a, b, g) in enumerate(zip(spec.gap_a, spec.gap_b, spec.gap_g, strict=True)):
            proj = neuroml.ElectricalProjection(id=f"gap_{k}",
                                                presynaptic_population=_nid(spec.neurons[a]),
                                                postsynaptic_population=_nid(spec.neurons[b]))
            proj.electrical_connection_instance_ws.append(neuroml.ElectricalConnectionInstanceW(
                id=0, pre_cell=f"../{_nid(spec.neurons[a])}[0]",
                post_cell=f"../{_nid(spec.neurons[b])}[0]", synapse="gap_contact",
                weight=f"{g / gscale:.9g}"))
            net.electrical_projections.append(proj)
    return doc


def export_neuroml(spec: NetworkSpec, path: str | os.PathLike,
                   network_id: str = "celegans_network") -> Path:
    """Write the network as one NeuroML2 file (atomically); returns its path."""
    from neuroml.writers import NeuroMLWriter

    doc = build_document(spec, network_id)
    out = Path(path)
    with atomic_path(out) as tmp:
        NeuroMLWriter.write(doc, str(tmp))
    return out


def validate(path: str | os.PathLike) -> bool:
    """Validate with pyNeuroML's ``validate_neuroml2`` (jNeuroML; needs Java)."""
    from pyneuroml.pynml import validate_neuroml2

    return bool(validate_neuroml2(str(path)))
