"""Closed-loop worm benchmark: gait against Fang-Yen et al. 2010 and simulation speed.

For each backend and medium, runs the default organism (all 302 neurons, 95 muscles) for
``--duration`` simulated seconds and prints frequency, wavelength and speed next to the
published values, and simulated seconds per wall second (goal >= 1.0 on CPU).

    python benchmarks/bench_organism.py                       # 20 s, neuron + torch
    python benchmarks/bench_organism.py --backends neuron --duration 10
    python benchmarks/bench_organism.py --backends neuron --set stretch_tail_compensation=1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PUBLISHED = {"agar": (0.30, 0.65, "0.1-0.3"), "water": (1.76, 1.54, "-")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="simulated s per run")
    ap.add_argument("--backends", nargs="+", default=["neuron", "torch"])
    ap.add_argument("--media", nargs="+", default=["agar", "water"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=str, default=None, help="also write the rows as JSON")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a numeric organism parameter (repeatable), e.g. "
                         "stretch_tail_compensation=1 for the pre-fix receptive fields")
    args = ap.parse_args()

    from celegans.organism import load_config, simulate

    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            ap.error(f"--set: expected NAME=NUMBER, got {item!r}")
    config = load_config().updated(overrides) if overrides else None

    print(f"# bench_organism: {args.duration:g} s per run, {platform.processor() or '?'}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
          + (f", overrides {overrides}" if overrides else ""))
    print(f"{'backend':8s} {'medium':6s} {'f (Hz)':>7s} {'pub':>5s} {'lambda (L)':>10s} "
          f"{'pub':>5s} {'speed mm/s':>10s} {'pub':>8s} {'dir':>9s} {'sim s/wall s':>12s}")
    rows = []
    for backend in args.backends:
        for medium in args.media:
            t0 = time.perf_counter()
            res = simulate(medium, args.duration, backend=backend, seed=args.seed,
                           config=config)
            wall = time.perf_counter() - t0
            s, g = res.summary, res.summary["gait"]
            f_pub, l_pub, v_pub = PUBLISHED[medium]

            def num(x, spec=".3f"):
                return "nan" if x is None else format(x, spec)

            print(f"{backend:8s} {medium:6s} {num(g.get('frequency_hz')):>7s} {f_pub:5.2f} "
                  f"{num(g.get('wavelength_body_lengths')):>10s} {l_pub:5.2f} "
                  f"{num(g.get('speed_mm_s')):>10s} {v_pub:>8s} {g.get('direction', '?'):>9s} "
                  f"{s['realtime_factor']:12.2f}", flush=True)
            rows.append({"backend": backend, "medium": medium, "gait": g,
                         "realtime_factor": s["realtime_factor"], "wall_incl_build_s": wall,
                         "failed": s["failed"]})
    print("# realtime factor = simulated s / wall s of the loop (network + body + sensors), "
          "build excluded")
    if args.json:
        from celegans.io import write_json

        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
