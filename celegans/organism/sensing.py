"""Sensory transduction: body and world sensors -> injected currents (pA) per neuron.

- Proprioception (Wen et al. 2012; Boyle, Berri & Cohen 2012): each neuron of a proprioceptive
  class (default VB ventral, DB dorsal) receives ``stretch_gain_pA x`` the mean strain of its
  own side over a receptive field of ``stretch_field_rows`` muscle rows starting at its own
  position and extending posteriorly. A neuron's position along the body is the
  contact-weighted mean row of the body-wall muscles it innervates (from the connectome).
- Command input: constant currents into the forward (AVB) / backward (AVA) command neurons.
- Chemo/thermo/touch: the ``sensory`` table of the organism YAML, e.g. ASE reads a salt field,
  AFD a temperature field, ALM/AVM the anterior and PLM the posterior touch force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from celegans.organism.config import OrganismConfig
from celegans.organism.errors import OrganismError

N_ROWS = 24


def motor_positions(connectome, neurons: Sequence[str]) -> dict[str, float]:
    """Body position (muscle row, 1..24, fractional) of every neuron with neuromuscular
    contacts: the contact-weighted mean row of its body-wall muscles."""
    from connectome_data.muscles import muscle_row

    nm = connectome.neuron_muscle.tocsr()
    rows = np.array([muscle_row(m) for m in connectome.muscles], dtype=float)
    out = {}
    for n in neurons:
        r = nm[connectome.index(n)]
        if r.nnz:
            out[n] = float(np.average(rows[r.indices], weights=r.data))
    return out


class Transducer:
    """Turns world observations into the input current vector of a network.

    ``neurons``: the network's neuron order. Built once; :meth:`inputs` is called at every
    coupling exchange with the observation and the exchange interval (s).
    """

    def __init__(self, config: OrganismConfig, connectome, neurons: Sequence[str],
                 field_names: Sequence[str] = ()) -> None:
        self.neurons = tuple(neurons)
        index = {n: i for i, n in enumerate(self.neurons)}
        n = len(self.neurons)
        gain = config.value("stretch_gain_pA")
        width = int(round(config.value("stretch_field_rows")))
        if width < 1:
            raise OrganismError("stretch_field_rows: expected >= 1 muscle row")
        pos = motor_positions(connectome, self.neurons)
        dorsal = np.zeros((n, N_ROWS))
        ventral = np.zeros((n, N_ROWS))
        self.proprioceptive: list[str] = []
        for name in self.neurons:
            side = config.proprioception.get(connectome.neuron(name).cls)
            if side is None or name not in pos:
                continue
            r0 = int(round(pos[name])) - 1
            rows = np.arange(r0, min(r0 + width, N_ROWS))
            target = dorsal if side == "dorsal" else ventral
            target[index[name], rows] = gain / len(rows)
            self.proprioceptive.append(name)
        self._dorsal, self._ventral = dorsal, ventral
        self.positions = pos
        # constant command currents
        self._constant = np.zeros(n)
        for cmd, names in config.command.items():
            key = f"command_{cmd}_pA"
            if key not in config.parameters:
                raise OrganismError(f"{config.origin}: command {cmd!r} needs a parameter {key!r}")
            for nm_ in names:
                if nm_ in index:  # ablated neurons simply get nothing
                    self._constant[index[nm_]] += config.value(key)
                elif nm_ not in connectome.neurons:
                    raise OrganismError(f"{config.origin}: command {cmd!r}: unknown neuron "
                                        f"{nm_!r}")
        # chemo/thermo/touch channels; a channel whose sensor the world lacks is inactive
        self._channels = []
        available = set(field_names) | {"touch_anterior", "touch_posterior", "food"}
        for ch in config.sensory:
            bad = [x for x in ch.neurons if x not in connectome.neurons]
            if bad:
                raise OrganismError(f"{config.origin}: sensory channel {ch.sensor!r}: unknown "
                                    f"neurons {bad}")
            idx = np.array([index[x] for x in ch.neurons if x in index], dtype=int)
            if ch.sensor in available and idx.size:
                self._channels.append((ch, idx))
        self._previous: dict[str, float] = {}

    @property
    def active_sensors(self) -> list[str]:
        """World sensors that feed at least one neuron."""
        return [ch.sensor for ch, _ in self._channels]

    def reset(self) -> None:
        self._previous = {}

    def proprioceptive_current(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Stretch-receptor current (pA) per neuron."""
        return self._dorsal @ obs["stretch_dorsal"] + self._ventral @ obs["stretch_ventral"]

    def inputs(self, obs: Mapping[str, np.ndarray], dt_s: float) -> np.ndarray:
        """Total injected current (pA) per neuron for the next exchange interval."""
        out = self._constant + self.proprioceptive_current(obs)
        now = {ch.sensor: float(np.asarray(obs[ch.sensor]).reshape(-1)[0])
               for ch, _ in self._channels}
        for ch, idx in self._channels:
            x = now[ch.sensor]
            if ch.mode == "value":
                drive = x - ch.reference
            else:
                drive = (x - self._previous.get(ch.sensor, x)) / dt_s
            out[idx] += ch.gain_pA * drive
        self._previous.update(now)
        return out
