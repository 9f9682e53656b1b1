"""Jaxley peer for a C. elegans ``hh`` cell (RMD: 14 channels, SLO nanodomain complexes, KCNL,
calcium pool): B one-compartment parameter sets, jit + vmap (CPU, float64).

Runs inside the Jaxley venv (``~/.cache/celegans/bench_peers/jaxley``). Reads a problem written
by ``cell_problem.write_problem`` (JSON), writes timings and the first traces to an ``.npz``.

The membrane is one Jaxley ``Channel`` holding every channel of the cell and the calcium pool
(Jaxley hands a channel only its own states, and the SLO complexes need their calcium
channel's ``m`` and rates, KCNL the pool's ``ca_i``). Its equations are the project's
``celegans/channels/kinetics.py`` evaluated with ``jax.numpy`` (imported by path), so they are
the ones the NEURON ``.mod`` files implement. Updates as in NEURON's ``cnexp``: every gate
``x <- inf + (x - inf) exp(-dt/tau)`` with the SLO rates taken at the partner's previous ``m``,
and the pool (linear in ``ca_i``) ``ca <- ca_inf + (ca - ca_inf) exp(-dt/tau_ca)`` with the
calcium current of the previous states (the 2024 submembrane shell likewise, then its floor,
as ``ce_cashell``). Jaxley's own solver does the rest: states first, then
the voltage by backward Euler with the membrane current linearised by finite difference.

Units in Jaxley: conductance densities S/cm2 (``0.1 g_nS / area_um2`` as celegans.nrn),
currents mA/cm2, capacitance uF/cm2 (``100 C_pF / area_um2``), stimulus nA.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cell_problem import cell_like, current_trace_pA, load_kinetics, read_problem, require  # noqa: E402

PREFIX = "CE"


def make_membrane_channel(prob, K, jnp, Channel):
    """The Jaxley ``Channel`` of the whole membrane of the problem's cell (see module doc)."""
    cell = cell_like(prob)
    vals = cell.values
    pr = K.prepare(cell)
    groups = pr.groups
    area = vals["area_um2"]
    to_nS = 10.0 * area  # S/cm2 -> nS
    chans = [(c, K.CHANNELS[c]) for c in cell.channels]
    gates = [(c, g) for c, spec in chans for g in spec.gates]
    has_pool = cell.calcium in ("pool", "shell")
    if cell.calcium not in ("pool", "shell", "none"):
        raise SystemExit(f"jaxley peer: calcium model {cell.calcium!r} not implemented")
    ca_bg = vals["ca_pool.ca_bg"]
    ca0 = vals["ca_shell.ca_min"] if cell.calcium == "shell" else ca_bg

    def sname(key: str) -> str:
        return f"{PREFIX}_{key.replace('.', '_')}"

    class CelegansMembrane(Channel):
        def __init__(self):
            self.current_is_in_mA_per_cm2 = True
            super().__init__(PREFIX)
            self.channel_params = {f"{PREFIX}_g_{c}": 0.1 * vals[f"g_{c}"] / area
                                   for c, _ in chans}
            self.channel_states = {sname(f"{c}.{g}"): 0.0 for c, g in gates}
            if has_pool:
                self.channel_states[sname("ca_i")] = ca0
            self.current_name = f"i_{PREFIX}"

        @staticmethod
        def _state(states):
            st = {f"{c}.{g}": states[sname(f"{c}.{g}")] for c, g in gates}
            st["ca_i"] = states[sname("ca_i")] if has_pool else ca_bg
            return st

        @staticmethod
        def _rates(st, v):
            out = {}
            for c, spec in chans:
                p = groups.get(spec.group, {})
                if spec.partner is not None:
                    if spec.partner not in out:
                        out[spec.partner] = K.rates(spec.partner, v,
                                                    groups[K.CHANNELS[spec.partner].group], jnp)
                    out[c] = K.rates(c, v, p, jnp, partner_rates=out[spec.partner],
                                     partner_m=st[f"{spec.partner}.m"], E_Ca=vals["E_Ca"],
                                     nanodomain=groups["nanodomain"])
                elif c not in out:
                    out[c] = K.rates(c, v, p, jnp, ca_i=st["ca_i"])
            return out

        @staticmethod
        def _currents(st, v, params, scale):
            cur = {}
            for c, spec in chans:
                gs = {g: st[f"{c}.{g}"] for g in spec.gates}
                partner = None
                if spec.partner is not None:
                    partner = {g: st[f"{spec.partner}.{g}"]
                               for g in K.CHANNELS[spec.partner].gates}
                cur[c] = K.current(c, gs, v, params[f"{PREFIX}_g_{c}"] * scale,
                                   vals[K.REVERSAL_BY_ION[spec.ion]],
                                   groups.get(spec.group, {}), partner)
            return cur

        def update_states(self, states, dt, v, params):
            st = self._state(states)
            r = self._rates(st, v)
            new = {}
            for c, g in gates:
                inf, tau = r[c][g]
                x = st[f"{c}.{g}"]
                new[sname(f"{c}.{g}")] = inf + (x - inf) * jnp.exp(-dt / tau)
            if has_pool:
                cur = self._currents(st, v, params, to_nS)
                i_ca = sum(cur[c] for c, spec in chans if spec.ion == "ca")  # pA
                ca = st["ca_i"]
                if cell.calcium == "pool":
                    influx = jnp.maximum(-i_ca, 0.0)
                    tau = vals["ca_pool.tau"]
                    ca_inf = ca_bg + tau * vals["ca_pool.f"] * influx / (
                        2.0 * vals["ca_pool.F"] * vals["volume_um3"])
                    new[sname("ca_i")] = ca_inf + (ca - ca_inf) * math.exp(-dt / tau)
                else:  # shell: exact step of ca' = a - beta ca, then the floor (ce_cashell)
                    beta = vals["ca_shell.beta"]
                    ca_inf = -i_ca * 1e3 / (2.0 * vals["ca_shell.F"] * vals["ca_shell.depth"]
                                            * area) / beta
                    ca = ca_inf + (ca - ca_inf) * math.exp(-beta * dt)
                    new[sname("ca_i")] = jnp.maximum(ca, vals["ca_shell.ca_min"])
            return new

        def compute_current(self, states, v, params):
            st = self._state(states)
            cur = self._currents(st, v, params, 1.0)  # S/cm2 * mV = mA/cm2
            return sum(cur.values())

        def init_state(self, states, v, params, delta_t):
            s0 = K.initial_state(cell, jnp.asarray(v), jnp)
            return {sname(k): val for k, val in s0.items()}

    return CelegansMembrane()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", required=True, help="JSON from cell_problem.write_problem")
    ap.add_argument("--out", required=True, help="output .npz")
    ap.add_argument("--batch", type=int, default=None, help="first B sets (default: all)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="timed runs after the first (untimed) one; the fastest is reported")
    a = ap.parse_args()
    jax = require("jax", "jaxley")
    jx = require("jaxley", "jaxley")
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platform_name", "cpu")
    import jax.numpy as jnp
    from jaxley.channels import Channel

    prob = read_problem(a.problem)
    K = load_kinetics(prob["kinetics_path"])
    vals = prob["values"]
    dt, nst = prob["dt"], prob["n_steps"]
    area = vals["area_um2"]
    radius = 1.0
    comp = jx.Compartment()
    comp.insert(make_membrane_channel(prob, K, jnp, Channel))
    comp.set("radius", radius)
    comp.set("length", area / (2.0 * math.pi * radius))
    comp.set("capacitance", 100.0 * vals["C_pF"] / area)
    comp.set("v", vals["v_init"])
    comp.init_states()
    comp.record("v", verbose=False)
    comp.stimulate(jnp.asarray(current_trace_pA(prob) * 1e-3), verbose=False)
    g_names = [f"{PREFIX}_{k}" for k in prob["g_names"]]
    for name in g_names:
        comp.make_trainable(name, verbose=False)
    dens = prob["g_sets_nS"] * 0.1 / area
    if a.batch is not None:
        dens = dens[: a.batch]
    t_max = nst * dt

    def sim(g):
        params = [{name: jnp.reshape(g[i], (1,))} for i, name in enumerate(g_names)]
        return jx.integrate(comp, params=params, delta_t=dt, t_max=t_max)[0]

    G = jnp.asarray(dens)
    t0 = time.perf_counter()
    f = jax.jit(jax.vmap(sim)).lower(G).compile()  # trace + XLA compile, timed apart
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    f(G).block_until_ready()
    t_first = time.perf_counter() - t0
    runs = []
    for _ in range(max(a.repeats, 1)):
        t0 = time.perf_counter()
        out = f(G).block_until_ready()
        runs.append(time.perf_counter() - t0)
    t_run = min(runs)
    v = np.asarray(out[: prob["n_keep"]])
    np.savez(a.out, compile_s=t_compile, first_s=t_first, run_s=t_run,
             B=len(dens), dt=dt, v=v, failed=~np.all(np.isfinite(np.asarray(out)), axis=1),
             version=getattr(jx, "__version__", "?"))


if __name__ == "__main__":
    main()
