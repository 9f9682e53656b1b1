"""Closed-loop behaviour of one parameter set: the organism run per condition, summarised.

A :class:`BehaviourProtocol` lists the conditions of one evaluation (a medium, a duration,
optionally an attractant gradient) and the behaviour features measured in each. Several media
are several conditions of one evaluation. :func:`simulate_behaviour` builds the organism
(``celegans.organism.Organism``, helper F's closed loop) with the fitted values applied, runs
every condition and returns a ``(n_conditions, n_features)`` array (NaN where a condition blew
up or a feature is undefined).

Features (``FEATURES``), all from ``env.metrics`` on the recorded centreline after
``discard_s``: ``frequency_hz``, ``wavelength_body_lengths``, ``speed_mm_s`` (net centroid
displacement / time), ``curvature_amplitude_kappa_L``, ``forward_fraction``,
``reversal_rate_per_min``, ``approach_index`` (single-track chemotaxis index towards the
condition's attractant source), ``eigenworm_<k>`` (RMS amplitude of eigenworm mode ``k``; needs
``eigenworms``, an (angles x modes) CSV basis) and ``activity_corr_rmse`` (RMS difference of the
simulated neural correlation matrix of ``activity_neurons`` from ``activity_target``).

:func:`behaviour_trace` wraps it in the simulate-function signature of
:class:`fitting.simulator.SimSpec`, so the Level-1 executors (serial, process pool with
per-evaluation timeout, Dask) run closed-loop evaluations unchanged: the "trace" of a condition
is its feature vector.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from celegans.protocols import TraceResult

BASE_FEATURES = ("frequency_hz", "wavelength_body_lengths", "speed_mm_s",
                 "curvature_amplitude_kappa_L", "forward_fraction", "reversal_rate_per_min",
                 "approach_index", "activity_corr_rmse")


class BehaviourError(ValueError):
    """Bad behaviour protocol or parameter names; the message names the field."""


def is_feature(name: str) -> bool:
    """Whether ``name`` is a known behaviour feature."""
    if name in BASE_FEATURES:
        return True
    if name.startswith("eigenworm_"):
        return name[len("eigenworm_"):].isdigit()
    return False


@dataclass(frozen=True)
class Condition:
    """One closed-loop run of an evaluation.

    Attributes:
        name: label (``agar``, ``water``, ``chemotaxis``).
        medium: ``env`` medium name or viscosity (mPa s).
        duration_s: simulated time; ``discard_s`` of it is transient and not measured.
        source: attractant source ``{sensor, centre: [x, y] mm, peak, sigma}`` (a
            ``env.fields.GaussianSource`` read by the organism's sensor of that name).
        seed: initial-posture seed.
    """

    name: str
    medium: str | float = "agar"
    duration_s: float = 6.0
    discard_s: float = 2.0
    source: Mapping[str, Any] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise BehaviourError(f"condition {self.name!r}: duration_s must be > 0, got "
                                 f"{self.duration_s}")
        if not 0 <= self.discard_s < self.duration_s:
            raise BehaviourError(f"condition {self.name!r}: discard_s must be in [0, "
                                 f"duration_s), got {self.discard_s}")
        if self.source is not None and "centre" not in self.source:
            raise BehaviourError(f"condition {self.name!r}: source needs a 'centre' [x, y] mm")


@dataclass(frozen=True)
class BehaviourProtocol:
    """Conditions and features of one closed-loop evaluation (picklable).

    ``n_sweeps`` (= number of conditions) lets the Level-1 executors treat it as a protocol."""

    conditions: tuple[Condition, ...]
    features: tuple[str, ...] = ("frequency_hz", "wavelength_body_lengths", "speed_mm_s")
    eigenworms: str | None = None
    activity_neurons: tuple[str, ...] = ()
    activity_target: tuple[float, ...] = ()
    organism: str | None = None
    backend: str = "neuron"

    def __post_init__(self) -> None:
        if not self.conditions:
            raise BehaviourError("behaviour protocol: needs at least one condition")
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise BehaviourError(f"behaviour protocol: duplicate condition names {names}")
        bad = [f for f in self.features if not is_feature(f)]
        if bad:
            raise BehaviourError(f"behaviour features: unknown {bad}; expected from "
                                 f"{BASE_FEATURES} or eigenworm_<k>")
        if any(f.startswith("eigenworm_") for f in self.features) and not self.eigenworms:
            raise BehaviourError("behaviour features eigenworm_<k> need 'eigenworms': a CSV "
                                 "basis (angles x modes)")
        if "activity_corr_rmse" in self.features:
            n = len(self.activity_neurons)
            if n < 2 or len(self.activity_target) != n * (n - 1) // 2:
                raise BehaviourError("activity_corr_rmse needs >= 2 activity_neurons and an "
                                     "activity_target of their n(n-1)/2 upper-triangle "
                                     "correlations")

    @property
    def n_sweeps(self) -> int:
        return len(self.conditions)

    @property
    def n_features(self) -> int:
        return len(self.features)


# --- applying fitted values -------------------------------------------------------------------
def apply_values(config: Any, values: Mapping[str, float], source: str = "level2") -> Any:
    """The organism config with ``values`` set.

    Names are organism parameters (``muscle_gain``, ``stretch_gain_pA``) or network parameters
    with the ``network.`` prefix (``network.g_gap_contact``, ``network.glutamate_sign``,
    ``network.mult.chemical.AVB.VB``, per-connection ``network.conn.gap.AVBL.VB1``); network
    names missing from the organism file are added (bounds of ``default_network.yaml``;
    multipliers and connection scales ``[0, 100]``). Multiplier and connection names are checked
    against the organism's network when it is built (``celegans.network.NetworkSpec``)."""
    from celegans.network import default_network_parameters
    from celegans.parameters import Parameter, ParameterError

    ps = copy.deepcopy(config.parameters)
    net_defaults = default_network_parameters()
    known: dict[str, float] = {}
    for name, v in values.items():
        if name in ps:
            known[name] = float(v)
            continue
        if not name.startswith("network."):
            raise BehaviourError(f"parameter {name!r}: not an organism parameter and not "
                                 "'network.<name>'")
        sub = name[len("network."):]
        if sub.startswith(("mult.", "conn.")):
            p = Parameter(name, float(v), "1", (0.0, 100.0), source=f"fitted by {source}",
                          certainty="fitted")
        elif sub in net_defaults:
            d = net_defaults[sub]
            p = Parameter(name, float(v), d.unit, d.bounds, source=f"fitted by {source}",
                          certainty="fitted", transform=d.transform)
        else:
            raise BehaviourError(f"parameter {name!r}: {sub!r} is not a network parameter "
                                 f"(known: {', '.join(net_defaults)}, mult.*, conn.*)")
        ps.add(p)
    try:
        ps = ps.updated(known) if known else ps
    except ParameterError as exc:
        raise BehaviourError(str(exc)) from None
    # every other field (settings added later included) carried over unchanged
    return dataclasses.replace(config, parameters=ps)


# --- features ---------------------------------------------------------------------------------
def behaviour_features(time_s: np.ndarray, centreline: np.ndarray, voltages: np.ndarray | None,
                       cond: Condition, protocol: BehaviourProtocol,
                       neuron_index: Sequence[int] = ()) -> np.ndarray:
    """Feature vector of one recorded condition (NaN where undefined)."""
    from env import metrics

    keep = time_s >= time_s[0] + cond.discard_s
    t, cl = time_s[keep], centreline[keep]
    out = np.full(protocol.n_features, np.nan)
    if t.size < 10:
        return out
    g = metrics.gait_summary(cl, t).as_dict()
    basis = None
    for j, f in enumerate(protocol.features):
        try:
            if f in g:
                out[j] = float(g[f])
            elif f == "reversal_rate_per_min":
                n_rev = len(metrics.detect_reversals(cl, t))
                out[j] = 60.0 * n_rev / max(t[-1] - t[0], 1e-9)
            elif f == "approach_index":
                if cond.source is None:
                    continue
                out[j] = metrics.approach_index(metrics.centroid(cl),
                                                tuple(cond.source["centre"]))
            elif f.startswith("eigenworm_"):
                if basis is None:
                    basis = metrics.load_eigenworms(str(protocol.eigenworms))
                k = int(f[len("eigenworm_"):])
                a = metrics.eigenworm_projection(cl, basis, k + 1)[:, k]
                out[j] = float(np.sqrt(np.mean(a ** 2)))
            elif f == "activity_corr_rmse" and voltages is not None:
                v = voltages[keep][:, list(neuron_index)]
                c = np.corrcoef(v.T)
                iu = np.triu_indices(c.shape[0], 1)
                diff = np.nan_to_num(c[iu], nan=0.0) - np.asarray(protocol.activity_target)
                out[j] = float(np.sqrt(np.mean(diff ** 2)))
        except (ValueError, FloatingPointError, IndexError):
            out[j] = np.nan
    return out


def simulate_behaviour(values: Mapping[str, float], protocol: BehaviourProtocol,
                       seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Run every condition of ``protocol`` with ``values`` applied.

    Returns ``(features (n_conditions, n_features), reasons)``; a condition that blows up gets
    a NaN row and its reason."""
    from celegans.organism import Organism, SimulationBlowUp, load_config
    from env.fields import GaussianSource

    cfg = apply_values(load_config(protocol.organism), values)
    out = np.full((protocol.n_sweeps, protocol.n_features), np.nan)
    reasons = []
    for i, cond in enumerate(protocol.conditions):
        fields = None
        if cond.source is not None:
            src = dict(cond.source)
            fields = {str(src.get("sensor", "salt")): GaussianSource(
                src["centre"], peak=float(src.get("peak", 1.0)),
                sigma=float(src.get("sigma", 5.0)))}
        org = Organism(cfg, cond.medium, backend=protocol.backend, fields=fields,
                       seed=cond.seed + seed)
        idx = [org.all_neurons.index(n) for n in protocol.activity_neurons
               if n in org.all_neurons]
        if len(idx) != len(protocol.activity_neurons):
            raise BehaviourError(f"activity_neurons: unknown names in "
                                 f"{protocol.activity_neurons}")
        ts, cls, vs = [], [], []

        def rec(s: dict, ts: list = ts, cls: list = cls, vs: list = vs,
                want_v: bool = bool(idx)) -> None:
            ts.append(float(s["time"]))
            cls.append(np.asarray(s["centreline"], float))
            if want_v:
                vs.append(np.asarray(s["voltage"], float))

        reason = ""
        try:
            org.run(cond.duration_s, rec)
        except SimulationBlowUp as exc:
            reason = f"{cond.name}: {exc}"
        reasons.append(reason)
        if reason or len(ts) < 10:
            continue
        out[i] = behaviour_features(np.array(ts), np.array(cls), np.array(vs) if vs else None,
                                    cond, protocol, idx)
    return out, reasons


def behaviour_trace(model: str, params: Mapping[str, Any], protocol: BehaviourProtocol, *,
                    backend: str = "neuron", dt_ms: float = 1.0, seed: int = 0,
                    **options: Any) -> TraceResult:
    """:func:`simulate_behaviour` in the signature of ``celegans.simulate.simulate_cell``.

    ``data["v"]`` has shape ``(n_conditions, 1, 2 n_features)``: the features with undefined
    ones set to 0, then a 0/1 mask of which are defined (so an undefined feature is not a
    non-finite "trace" that would fail the whole evaluation). ``time_ms`` is the column index.
    ``failed`` is set when any condition blew up. ``model`` and ``dt_ms`` are ignored (the
    organism file sets the model and its clocks)."""
    if not isinstance(protocol, BehaviourProtocol):
        raise BehaviourError(f"behaviour_trace: protocol must be a BehaviourProtocol, got "
                             f"{type(protocol).__name__}")
    vals = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in params.items()}
    feats, reasons = simulate_behaviour(vals, protocol, seed=seed)
    return features_trace(feats, any(reasons))


def features_trace(feats: np.ndarray, failed: bool) -> TraceResult:
    """Encode ``(n_conditions, n_features)`` features (NaN = undefined) as the TraceResult that
    :func:`behaviour_trace` returns (for stand-in behaviour simulators too)."""
    feats = np.asarray(feats, float)
    ok = np.isfinite(feats)
    enc = np.concatenate([np.where(ok, feats, 0.0), ok.astype(float)], axis=1)
    return TraceResult(np.arange(enc.shape[1], dtype=float), ["behaviour"],
                       {"v": enc[:, None, :]}, np.array(bool(failed)))


@dataclass(frozen=True)
class BehaviourTarget:
    """Target mean and SD of each (condition, feature); ``weights`` per feature (default 1)."""

    mean: Mapping[str, Mapping[str, float]]
    sd: Mapping[str, Mapping[str, float]]
    source: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = "targets") -> BehaviourTarget:
        """``{condition: {feature: {mean, sd}}}`` (plus optional ``source``, ``weights``)."""
        mean: dict[str, dict[str, float]] = {}
        sd: dict[str, dict[str, float]] = {}
        for cond, feats in d.items():
            if cond in ("source", "weights"):
                continue
            if not isinstance(feats, Mapping):
                raise BehaviourError(f"{origin}.{cond}: expected {{feature: {{mean, sd}}}}")
            mean[cond], sd[cond] = {}, {}
            for f, spec in feats.items():
                if not is_feature(f):
                    raise BehaviourError(f"{origin}.{cond}.{f}: unknown feature")
                try:
                    m, s = float(spec["mean"]), float(spec["sd"])
                except (KeyError, TypeError, ValueError):
                    raise BehaviourError(f"{origin}.{cond}.{f}: expected {{mean: x, sd: y}} "
                                         "numbers") from None
                if not (math.isfinite(m) and math.isfinite(s) and s > 0):
                    raise BehaviourError(f"{origin}.{cond}.{f}: need finite mean and sd > 0")
                mean[cond][f], sd[cond][f] = m, s
        if not mean:
            raise BehaviourError(f"{origin}: no targets given")
        return cls(mean, sd, str(d.get("source", "")),
                   {str(k): float(v) for k, v in dict(d.get("weights", {}) or {}).items()})

    def features(self) -> tuple[str, ...]:
        """Every feature named in any condition (stable order)."""
        seen: dict[str, None] = {}
        for feats in self.mean.values():
            for f in feats:
                seen.setdefault(f, None)
        return tuple(seen)


#: Gait targets. Frequencies and wavelengths: Fang-Yen et al. 2010 PNAS 107:20323 (Table 1:
#: agar 0.30 Hz, 0.65 body lengths; buffer 1.76 Hz, 1.54 body lengths), SDs assumed ~15-20 % of
#: the means. Speeds are assumed ranges, not measurements: agar 0.2 +/- 0.06 mm/s (the
#: 0.1-0.3 mm/s window of celegans.organism.tune_defaults), water 0.35 +/- 0.1 mm/s.
DEFAULT_GAIT_TARGETS: dict[str, Any] = {
    "source": "Fang-Yen et al. 2010 PNAS 107:20323 Table 1 (frequency, wavelength); speeds assumed",
    "agar": {"frequency_hz": {"mean": 0.30, "sd": 0.06},
             "wavelength_body_lengths": {"mean": 0.65, "sd": 0.10},
             "speed_mm_s": {"mean": 0.20, "sd": 0.06}},
    "water": {"frequency_hz": {"mean": 1.76, "sd": 0.25},
              "wavelength_body_lengths": {"mean": 1.54, "sd": 0.25},
              "speed_mm_s": {"mean": 0.35, "sd": 0.10}},
}
