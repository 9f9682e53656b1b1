"""The closed loop: network <-> muscles <-> body <-> sensors, on one coupling clock.

One exchange of ``coupling_dt_ms`` (default 1 ms) from ``t_k = k * coupling_dt_ms``:

1. read the world's sensors at ``t_k`` and turn them into input currents (``sensing``);
2. advance the network to ``t_{k+1}`` with those currents held constant
   (``coupling_dt_ms / neural_dt_ms`` neural steps);
3. map the network's muscle activations to the body (``clip(gain (a - threshold), 0, 1)``)
   and advance the world by ``coupling_dt_ms / body_dt_ms`` body steps.

Both clocks are derived from the integer exchange counter ``k`` (never accumulated), and after
every exchange the backend's and the body's own clocks are checked against ``t_{k+1}``
(:class:`ClockMismatchError` if they disagree by half a step).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from celegans.network import NetworkSpec
from celegans.organism.backends import make_network, network_time_ms
from celegans.organism.config import OrganismConfig, load_config
from celegans.organism.errors import ClockMismatchError, OrganismError, SimulationBlowUp
from celegans.organism.perturb import Perturbation, apply_connection_changes, resolve_ablation
from celegans.organism.sensing import Transducer


def _ratio(a: float, b: float, what: str) -> int:
    r = a / b
    n = int(round(r))
    if n < 1 or abs(r - n) > 1e-9 * max(1.0, r):
        raise OrganismError(f"{what}: coupling_dt_ms ({a}) must be an integer multiple of "
                            f"{b}")
    return n


class Organism:
    """A worm: the whole connectome network, the body and its world, coupled.

    Args:
        config: organism parameters (:func:`load_config` default file when ``None``).
        medium: ``"agar"``, ``"water"``/``"buffer"``, a viscosity (mPa*s) or an ``env.Medium``.
        backend: ``"neuron"`` or ``"torch"``.
        assignment: neuron-model assignment overriding the config's (see
            :mod:`celegans.models.assignment`).
        perturbation: ablations / removed / scaled connections.
        fields, arena, food: passed to :class:`env.World`.
        seed: seeds the small random initial posture that breaks the left-right symmetry.
    """

    def __init__(self, config: OrganismConfig | None = None, medium: Any = "agar", *,
                 backend: str = "neuron", assignment: Any = None,
                 perturbation: Perturbation | None = None,
                 fields: Mapping[str, Any] | None = None, arena: Any = None, food: Any = None,
                 seed: int = 0, position: Sequence[float] = (0.0, 0.0),
                 heading: float = 0.0) -> None:
        import connectome_data as cd
        from body import Worm
        from body.geometry import MUSCLES
        from env import World

        self.config = config = config if config is not None else load_config()
        self.perturbation = pert = perturbation or Perturbation()
        self.backend = backend
        self.seed = int(seed)
        self.connectome = con = cd.load(config.dataset)
        self.ablated = resolve_ablation(con, pert.ablate)
        keep = [n for n in con.neurons if n not in set(self.ablated)]
        asg = assignment if assignment is not None else config.assignment
        classes = {con.neuron(n).cls for n in keep}  # multipliers of ablated classes dropped
        spec = NetworkSpec.from_connectome(con, asg, config.network_overrides(classes),
                                           neurons=keep)
        self.spec = apply_connection_changes(spec, pert)
        self.coupling_ms = float(config.value("coupling_dt_ms"))
        self.neural_dt_ms = float(config.value("neural_dt_ms"))
        body_dt_ms = float(config.value("body_dt_ms"))
        _ratio(self.coupling_ms, self.neural_dt_ms, "neural_dt_ms")
        self.body_steps = _ratio(self.coupling_ms, body_dt_ms, "body_dt_ms")
        self.net = make_network(self.spec, backend, self.neural_dt_ms)
        self.world = World(Worm(), medium, fields=fields, arena=arena, food=food,
                           dt=body_dt_ms / 1000.0, position=position, heading=heading)
        self.transducer = Transducer(config, con, self.spec.neurons, tuple(self.world.fields))
        if tuple(self.spec.muscles) == tuple(MUSCLES):
            self._muscle_map = None
        else:
            pos = {m: i for i, m in enumerate(self.spec.muscles)}
            missing = [m for m in MUSCLES if m not in pos]
            if missing:
                raise OrganismError(f"network lacks body-wall muscles {missing[:5]}")
            self._muscle_map = np.array([pos[m] for m in MUSCLES])
        self.muscle_gain = float(config.value("muscle_gain"))
        self.muscle_threshold = float(config.value("muscle_threshold"))
        self.all_neurons = tuple(con.neurons)
        self._full_index = np.array([self.all_neurons.index(n) for n in self.spec.neurons])
        self.k = 0
        self.last_inputs = np.zeros(self.spec.n_neurons)
        self.reset()

    # --- state -----------------------------------------------------------------------------
    @property
    def time_ms(self) -> float:
        """Loop time (ms) = exchanges done x coupling interval."""
        return self.k * self.coupling_ms

    def reset(self) -> None:
        """Network at rest, worm straight but for a small seeded random bend, t = 0."""
        self.net.reset()
        self.world.reset()
        worm = self.world.worm
        rng = np.random.default_rng(self.seed)
        amp = float(self.config.value("initial_bend_rad"))
        ja = rng.normal(0.0, amp, worm.n_joints) if amp > 0 else np.zeros(worm.n_joints)
        pos, hd = self.world._start
        worm.reset(position=tuple(pos), heading=hd, joint_angles=ja)
        self.transducer.reset()
        self.k = 0

    def body_activation(self, net_activation: np.ndarray) -> np.ndarray:
        """Network muscle activation (spec order) -> body activation (named order) in [0, 1]."""
        a = net_activation if self._muscle_map is None else net_activation[self._muscle_map]
        return np.clip(self.muscle_gain * (a - self.muscle_threshold), 0.0, 1.0)

    def voltages_full(self) -> np.ndarray:
        """Voltages (mV) of all connectome neurons, NaN for ablated ones."""
        out = np.full(len(self.all_neurons), np.nan)
        out[self._full_index] = self.net.voltages()
        return out

    # --- stepping --------------------------------------------------------------------------
    def step(self) -> None:
        """One coupling exchange (see module docstring). Raises :class:`SimulationBlowUp`."""
        from body import BodyInstabilityError

        dt_s = self.coupling_ms / 1000.0
        obs = self.world.observe()
        inputs = self.transducer.inputs(obs, dt_s)
        self.last_inputs = inputs
        t_next = (self.k + 1) * self.coupling_ms
        self.net.advance(t_next, inputs)
        a_net = self.net.muscle_activation()
        if not np.all(np.isfinite(a_net)):
            raise SimulationBlowUp("non-finite muscle activation from the network", t_next / 1e3)
        a = self.body_activation(a_net)
        try:
            for _ in range(self.body_steps):
                self.world.step(a)
        except BodyInstabilityError as exc:
            raise SimulationBlowUp(str(exc), t_next / 1e3) from None
        self.k += 1
        self._check_clocks(t_next)

    def _check_clocks(self, t_ms: float) -> None:
        tn = network_time_ms(self.net)
        if tn is not None and abs(tn - t_ms) > 0.5 * self.neural_dt_ms:
            raise ClockMismatchError(f"network clock {tn} ms != loop clock {t_ms} ms")
        tb = self.world.time * 1000.0
        if abs(tb - t_ms) > 0.5 * self.coupling_ms / self.body_steps:
            raise ClockMismatchError(f"body clock {tb} ms != loop clock {t_ms} ms")

    def run(self, duration_s: float, on_record: Callable[[dict], None] | None = None,
            record_every: int | None = None, progress: bool = False) -> int:
        """Run ``duration_s`` seconds of exchanges; every ``record_every`` exchanges (default
        from ``record_dt_ms``) and at the start call ``on_record(snapshot)``. Returns the
        number of exchanges done; raises :class:`SimulationBlowUp` (after recording the last
        valid state) when the loop becomes invalid."""
        if not (isinstance(duration_s, int | float) and math.isfinite(duration_s)
                and duration_s > 0):
            raise OrganismError(f"duration: expected a number of seconds > 0, got "
                                f"{duration_s!r}")
        n = int(round(duration_s * 1000.0 / self.coupling_ms))
        if n < 1:
            raise OrganismError(f"duration: {duration_s} s is shorter than one coupling "
                                f"interval ({self.coupling_ms} ms)")
        every = record_every or max(1, int(round(self.config.value("record_dt_ms")
                                                 / self.coupling_ms)))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n, unit="sim s", unit_scale=self.coupling_ms / 1000.0,
                       mininterval=1.0, desc=f"worm ({self.world.medium.name}, "
                                              f"{self.backend})")
        if on_record is not None and self.k == 0:
            on_record(self.snapshot())
        done = 0
        try:
            for i in range(n):
                self.step()
                done += 1
                v = None
                if (i + 1) % every == 0:
                    snap = self.snapshot()
                    v = snap["voltage"]
                    if on_record is not None:
                        on_record(snap)
                    if bar is not None:
                        bar.update(every)
                if v is not None and not np.all(np.isfinite(v[self._full_index])):
                    raise SimulationBlowUp("non-finite neuron voltages", self.time_ms / 1e3)
        finally:
            if bar is not None:
                bar.update(done - bar.n)
                bar.close()
        return done

    def snapshot(self) -> dict[str, np.ndarray | float]:
        """Current state for recording (time s, voltages, activations, centreline, sensors)."""
        obs = self.world.observe()
        a_net = self.net.muscle_activation()
        snap: dict[str, Any] = {
            "time": self.time_ms / 1000.0,
            "voltage": self.voltages_full(),
            "muscle_activation": a_net if self._muscle_map is None else a_net[self._muscle_map],
            "body_activation": self.world.worm.activation,
            "input_current": self._full_inputs(),
            "centreline": self.world.worm.centreline(),
        }
        for k in ("curvature", "stretch_dorsal", "stretch_ventral", "touch_anterior",
                  "touch_posterior"):
            snap[f"sensor_{k}"] = np.asarray(obs[k], dtype=float)
        for name in self.world.fields:
            snap[f"sensor_{name}"] = np.asarray(obs[name], dtype=float)
        return snap

    def _full_inputs(self) -> np.ndarray:
        out = np.full(len(self.all_neurons), np.nan)
        out[self._full_index] = self.last_inputs
        return out
