"""Hand-made connectomes for model and network tests (no dataset files needed)."""

import numpy as np
import scipy.sparse as sp

from connectome_data import Connectome, Neuron


def make_connectome(neurons, chemical=None, gap=None, neuron_muscle=None, name="toy"):
    """``neurons``: list of (name, class, type, sign, transmitters)."""
    names = tuple(n[0] for n in neurons)
    info = {n[0]: Neuron(n[0], n[1], n[2], tuple(n[4]), n[3]) for n in neurons}
    k = len(names)
    z = np.zeros((k, k))
    chem = sp.csr_matrix(z if chemical is None else np.asarray(chemical, dtype=float))
    gj = sp.csr_matrix(z if gap is None else np.asarray(gap, dtype=float))
    nm = sp.csr_matrix(np.zeros((k, 95)) if neuron_muscle is None else neuron_muscle)
    return Connectome(name, names, info, chem, gj, nm)
