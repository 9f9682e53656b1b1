"""NeuroML2 export: content matches the spec; the file passes the NeuroML validator."""

import shutil

import numpy as np
import pytest
from toy_connectome import make_connectome

from celegans.network import NetworkSpec
from celegans.network.neuroml import ExportError, export_neuroml, validate

neuroml = pytest.importorskip("neuroml")


@pytest.fixture
def circuit():
    nm = np.zeros((3, 95))
    nm[2, 0] = 4
    return make_connectome(
        [("AVAL", "AVA", "inter", "excitatory", ["Acetylcholine"]),
         ("DD1", "DD", "motor", "inhibitory", ["GABA"]),
         ("VB1", "VB", "motor", "excitatory", ["Acetylcholine"])],
        chemical=[[0, 2, 3], [0, 0, 1], [0, 0, 0]], gap=[[0, 0, 5], [0, 0, 0], [5, 0, 0]],
        neuron_muscle=nm)


def _load(path):
    from neuroml.loaders import read_neuroml2_file

    return read_neuroml2_file(str(path))


def test_export_content_matches_spec(circuit, tmp_path):
    spec = NetworkSpec.from_connectome(circuit, {"default": "passive",
                                                 "neurons": {"VB1": "hh:HH1952"}},
                                       {"mult.chemical.AVA.DD": 2.0})
    doc = _load(export_neuroml(spec, tmp_path / "net.net.nml"))
    net = doc.networks[0]
    assert len(net.populations) == 3 + 95
    chem = [p for p in net.continuous_projections if p.id.startswith("chem_")]
    assert len(chem) == len(spec.chem_pre) == 3
    g_contact = spec.params["g_chem_contact"]
    weights = [float(p.continuous_connection_instance_ws[0].weight) * g_contact for p in chem]
    assert np.allclose(weights, spec.chem_g)  # multiplier included: AVA->DD is 2 x 2 contacts
    assert len([p for p in net.continuous_projections if p.id.startswith("nmj_")]) == 1
    gap = net.electrical_projections
    assert len(gap) == 1 and float(gap[0].electrical_connection_instance_ws[0].weight) == 5
    erevs = sorted(float(s.erev.replace("mV", "")) for s in doc.graded_synapses)
    assert erevs == sorted({spec.params["E_exc"], spec.params["E_inh"]})
    assert {c.id for c in doc.ion_channel_hhs} == {"hh_na", "hh_k"}


def test_unsupported_models_are_named(circuit, tmp_path):
    spec = NetworkSpec.from_connectome(circuit, {"default": "passive", "neurons": {"DD1": "glif"}})
    with pytest.raises(ExportError, match="DD1: model 'glif'"):
        export_neuroml(spec, tmp_path / "x.net.nml")
    pytest.importorskip("celegans.cells")
    spec = NetworkSpec.from_connectome(circuit, {"default": "hh:RMD"})
    with pytest.raises(ExportError, match="no NeuroML export"):
        export_neuroml(spec, tmp_path / "x.net.nml")
    assert not (tmp_path / "x.net.nml").exists()


def test_export_passes_neuroml_validator(circuit, tmp_path):
    if shutil.which("java") is None:
        pytest.skip("Java not found: the NeuroML validator (jNeuroML) needs it "
                    "(apt-get install -y default-jre-headless)")
    spec = NetworkSpec.from_connectome(circuit, {"default": "passive",
                                                 "neurons": {"VB1": "hh:HH1952"}})
    assert validate(export_neuroml(spec, tmp_path / "net.net.nml"))
