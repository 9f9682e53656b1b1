"""Private test helper: the exact solution of the passive membrane under current steps.

``C dV/dt = -g_L (V - E_L) + I`` with the cell at rest under the holding current at t = 0.
Same signature as :func:`celegans.simulate.simulate_cell`, batched over parameter arrays.
"""

from __future__ import annotations

import numpy as np

from celegans.protocols import CurrentClamp, TraceResult, n_steps

#: parameters of the synthetic passive target used across the fitting tests
TRUE = {"C": 20.0, "g_L": 0.5, "E_L": -50.0}
PASSIVE_YAML = """
name: passive
parameters:
  C: {value: 1.5, unit: pF, bounds: [0.1, 100.0], transform: log, source: test}
  g_L: {value: 0.01, unit: nS, bounds: [0.001, 10.0], transform: log, source: test}
  E_L: {value: -35.0, unit: mV, bounds: [-90.0, 0.0], source: test}
"""


def simulate_passive(model, params, protocol: CurrentClamp, *, backend="torch", dt_ms=0.1,
                     record=("v",), **options) -> TraceResult:
    if model not in ("passive", "passive_rect"):
        raise ValueError(f"analytic helper only knows 'passive'/'passive_rect', got {model!r}")
    p = {k: np.asarray(v, float) for k, v in params.items()}
    batched = any(v.ndim > 0 for v in p.values())
    C = np.atleast_1d(p["C"])[:, None, None]
    g = np.atleast_1d(p["g_L"])[:, None, None]
    E = np.atleast_1d(p["E_L"])[:, None, None]
    t = np.arange(n_steps(protocol.duration_ms, dt_ms) + 1) * dt_ms
    amps = np.asarray(protocol.amplitudes_pA)[None, :, None]
    if model == "passive_rect":
        # toy 'active' conductance: an instantaneous outward rectifier open only during
        # depolarising steps (keeps the solution analytic; parameter g_x in nS)
        gx = np.atleast_1d(p["g_x"])[:, None, None]
        g = g + gx * (np.asarray(protocol.amplitudes_pA) > 0)[None, :, None]
    tau = C / g
    with np.errstate(all="ignore"):
        g0 = np.atleast_1d(p["g_L"])[:, None, None]
        v0 = E + protocol.holding_pA / g0
        v1 = E + (protocol.holding_pA + amps) / g
        on = (t >= protocol.t_on_ms) & (t < protocol.t_off_ms)
        after = t >= protocol.t_off_ms
        d_on = protocol.t_off_ms - protocol.t_on_ms
        v_step = v1 + (v0 - v1) * np.exp(-(t - protocol.t_on_ms) / tau)
        v_off = v1 + (v0 - v1) * np.exp(-d_on / tau)
        v_after = v0 + (v_off - v0) * np.exp(-(t - protocol.t_off_ms) * g0 / C)
        v = np.where(on, v_step, np.where(after, v_after, v0 + 0 * v1))
    failed = ~np.all(np.isfinite(v), axis=(1, 2))
    v = v[:, :, None, :]
    if not batched:
        v, failed = v[0], failed[0]
    return TraceResult(time_ms=t, names=["cell"], data={"v": v}, failed=np.asarray(failed))


def simulate_flaky(model, params, protocol, **kw) -> TraceResult:
    """Raises for C > 50 pF (an 'exploding' evaluation), else the analytic passive cell."""
    C = np.asarray(params["C"], float)
    if np.any(C > 50.0):
        raise FloatingPointError("simulated blow-up (C > 50 pF)")
    return simulate_passive(model, params, protocol, **kw)


def simulate_slow(model, params, protocol, **kw) -> TraceResult:
    """Sleeps 30 s when C > 50 pF (a hung evaluation), else the analytic passive cell."""
    import time

    if np.any(np.asarray(params["C"], float) > 50.0):
        time.sleep(30)
    return simulate_passive(model, params, protocol, **kw)


def simulate_sleepy(model, params, protocol, **kw) -> TraceResult:
    """Sleeps 2 s when C > 50 pF (a slow but healthy evaluation), else the analytic cell."""
    import time

    if np.any(np.asarray(params["C"], float) > 50.0):
        time.sleep(2.0)
    return simulate_passive(model, params, protocol, **kw)
