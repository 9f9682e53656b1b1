"""Jaxley peer for bench_single_cell.py: B one-compartment HH parameter sets, jit + vmap (CPU).

Runs inside its own venv (created by bench_single_cell.py). Reads the problem (parameter sets
in S/cm2, protocol) from an .npz, writes timings and the first traces to another .npz.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-keep", type=int, default=8)
    a = ap.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platform_name", "cpu")
    import jax.numpy as jnp
    import jaxley as jx
    from jaxley.channels import HH

    pb = np.load(a.problem)
    dt, dur = float(pb["dt"]), float(pb["duration"])
    area = float(pb["area_um2"])  # lateral area 2 pi r L
    radius = 10.0
    length = area / (2 * math.pi * radius)
    comp = jx.Compartment()
    comp.insert(HH())
    comp.set("radius", radius)
    comp.set("length", length)
    comp.set("capacitance", 1.0)
    comp.set("HH_eNa", float(pb["eNa"]))
    comp.set("HH_eK", float(pb["eK"]))
    comp.set("HH_eLeak", float(pb["eLeak"]))
    comp.set("v", float(pb["v_init"]))
    comp.init_states()
    comp.record("v", verbose=False)
    cur = jx.step_current(float(pb["t_on"]), float(pb["t_off"]) - float(pb["t_on"]),
                          float(pb["amp_pA"]) * 1e-3, dt, dur)
    comp.stimulate(cur, verbose=False)
    for name in ("HH_gNa", "HH_gK", "HH_gLeak"):
        comp.make_trainable(name, verbose=False)

    def sim(gna, gk, gl):
        params = [{"HH_gNa": jnp.reshape(gna, (1,))}, {"HH_gK": jnp.reshape(gk, (1,))},
                  {"HH_gLeak": jnp.reshape(gl, (1,))}]
        return jx.integrate(comp, params=params, delta_t=dt, t_max=dur)[0]

    f = jax.jit(jax.vmap(sim))
    gna, gk, gl = (jnp.asarray(pb[k]) for k in ("gNa", "gK", "gLeak"))
    t0 = time.perf_counter()
    f(gna, gk, gl).block_until_ready()
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = f(gna, gk, gl).block_until_ready()
    t_run = time.perf_counter() - t0
    np.savez(a.out, compile_s=max(t_first - t_run, 0.0), first_s=t_first, run_s=t_run,
             v=np.asarray(out[: a.n_keep]), version=jx.__version__ if hasattr(jx, "__version__")
             else "?")


if __name__ == "__main__":
    main()
