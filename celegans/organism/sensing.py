"""Sensory transduction: body and world sensors -> injected currents (pA) per neuron.

- Proprioception (Wen et al. 2012; Boyle, Berri & Cohen 2012): each proprioceptive neuron
  (``meta.proprioception`` maps neuron classes, or single neurons, which take precedence, to a
  side; default VB ventral, DB dorsal, and the head motor neurons RMDD dorsal / RMDV ventral)
  receives ``stretch_gain_pA x`` the mean strain of its
  own side over a receptive field of ``stretch_field_rows`` muscle rows starting at its own
  position and extending posteriorly. A neuron's position along the body is the
  contact-weighted mean row of the body-wall muscles it innervates (from the connectome).
  Fields cut short by the tail (``n`` < ``w`` rows) weigh each row ``gain/w x (w/n)^p`` with
  ``p = stretch_tail_compensation`` (0: sum of the rows that exist, the default; 1: mean).
- Command input: constant currents into the forward (AVB) / backward (AVA) command neurons.
- Bias: constant currents into named neurons (``meta.bias_pA``).
- Start pulse (optional ``start_pulse_pA`` for ``start_pulse_ms``): extra current into
  ``meta.start_pulse_neurons`` (neuron or class names; default: the dorsal proprioceptive
  neurons) at the start, so
  the loop starts from a switched-on B-type unit instead of depending on the random posture.
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


def proprioceptive_side(config: OrganismConfig, connectome, name: str) -> str | None:
    """Side (``"dorsal"``/``"ventral"``) whose stretch ``name`` senses, or ``None``: a
    per-neuron entry of ``meta.proprioception`` wins over its class entry."""
    prop = config.proprioception
    return prop.get(name, prop.get(connectome.neuron(name).cls))


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
        # receptive fields cut short by the tail end: per-row weight gain/width x
        # (width/rows)^p; p = 1 keeps the field's mean strain, p = 0.5 is Boyle, Berri & Cohen's
        # (2012) square-root compensation, p = 0 sums the rows that exist
        p_tail = (config.value("stretch_tail_compensation")
                  if "stretch_tail_compensation" in config.parameters else 1.0)
        pos = motor_positions(connectome, self.neurons)
        dorsal = np.zeros((n, N_ROWS))
        ventral = np.zeros((n, N_ROWS))
        self.proprioceptive: list[str] = []
        unknown = [k for k in config.proprioception if k not in connectome.neurons
                   and not any(connectome.neuron(x).cls == k for x in connectome.neurons)]
        if unknown:
            raise OrganismError(f"{config.origin}: meta.proprioception: unknown neurons or "
                                f"classes {unknown}")
        for name in self.neurons:
            side = proprioceptive_side(config, connectome, name)
            if side is None or name not in pos:
                continue
            r0 = int(round(pos[name])) - 1
            rows = np.arange(r0, min(r0 + width, N_ROWS))
            target = dorsal if side == "dorsal" else ventral
            target[index[name], rows] = gain / width * (width / len(rows)) ** p_tail
            self.proprioceptive.append(name)
        self._dorsal, self._ventral = dorsal, ventral
        # start pulse: extra current for the first start_pulse_ms into meta.start_pulse_neurons
        # (default: every dorsal proprioceptive neuron, the all-dorsal-on start of Boyle, Berri &
        # Cohen 2012); optional parameters, off when absent
        self._start = np.zeros(n)
        self._start_s = 0.0
        if "start_pulse_pA" in config.parameters and "start_pulse_ms" in config.parameters:
            amp = config.value("start_pulse_pA")
            self._start_s = config.value("start_pulse_ms") / 1000.0
            targets = config.start_pulse_neurons or tuple(
                nm_ for nm_ in self.proprioceptive
                if proprioceptive_side(config, connectome, nm_) == "dorsal")
            for nm_ in targets:  # neuron or class names
                members = ((nm_,) if nm_ in connectome.neurons else
                           tuple(x for x in connectome.neurons if connectome.neuron(x).cls == nm_))
                if not members:
                    raise OrganismError(f"{config.origin}: start_pulse_neurons: unknown neuron "
                                        f"or class {nm_!r}")
                for x in members:
                    if x in index:  # ablated neurons get nothing
                        self._start[index[x]] = amp
            if not (amp and self._start_s > 0):
                self._start_s = 0.0
        self._elapsed_s = 0.0
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
        for nm_, amp_ in config.bias.items():  # per-neuron constant bias currents
            if nm_ in index:
                self._constant[index[nm_]] += amp_
            elif nm_ not in connectome.neurons:
                raise OrganismError(f"{config.origin}: bias_pA: unknown neuron {nm_!r}")
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
        self._elapsed_s = 0.0

    def proprioceptive_current(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Stretch-receptor current (pA) per neuron."""
        return self._dorsal @ obs["stretch_dorsal"] + self._ventral @ obs["stretch_ventral"]

    def inputs(self, obs: Mapping[str, np.ndarray], dt_s: float) -> np.ndarray:
        """Total injected current (pA) per neuron for the next exchange interval."""
        out = self._constant + self.proprioceptive_current(obs)
        if self._elapsed_s < self._start_s:
            out += self._start
        self._elapsed_s += dt_s
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
