"""Network description built from a connectome: neurons with assigned models, graded chemical
synapses, gap junctions and body-wall muscles (see :class:`NetworkSpec`); NeuroML2 export in
:mod:`celegans.network.neuroml`."""

from celegans.network.neuroml import ExportError, export_neuroml
from celegans.network.spec import (
    DEFAULT_NETWORK_FILE,
    KINDS,
    MUSCLE_CLASS,
    NetworkError,
    NetworkSpec,
    default_network_parameters,
    multiplier_name,
)

__all__ = ["DEFAULT_NETWORK_FILE", "KINDS", "MUSCLE_CLASS", "ExportError", "NetworkError",
           "NetworkSpec", "default_network_parameters", "export_neuroml", "multiplier_name"]
