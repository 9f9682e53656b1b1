"""Benchmark: worm body + resistive drag steps per second (goal >= 5000 steps/s at dt = 1 ms,
i.e. >= 5x real time).

Usage: ``python benchmarks/bench_body.py [--seconds 5] [--repeats 3]``. Prints one line per
case: steps per wall-clock second (best of the repeats), the real-time factor, and steps per
second of this process's CPU time (``time.process_time``; closer to a quiet machine's figure
when the machine is shared, as the printed load average shows). Cases:
``step`` = World.step only (body + drag), ``step+obs`` = also ``World.observe()`` and reading the
sensors the organism loop reads every exchange (both stretch receptors and both touch fields),
``step+all`` = reading every named sensor, ``arena`` = step inside a dish with obstacles (contacts);
the last line uses 49 segments (48 joints) instead of the default 25. BLAS is limited to one
thread while timing (``env.world.single_threaded_blas``), as in ``World.run``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from body import Worm  # noqa: E402
from body.patterns import travelling_wave  # noqa: E402
from env import Arena, World  # noqa: E402
from env.world import single_threaded_blas  # noqa: E402

LOOP_SENSORS = ("stretch_dorsal", "stretch_ventral", "touch_anterior", "touch_posterior")


def bench(medium: str, dt: float, seconds: float, observe: str, arena: Arena | None,
          repeats: int, n_segments: int = 25) -> tuple[float, float]:
    """Best steps per wall second and per CPU second; ``observe``: "", "loop" or "all"."""
    world = World(Worm(n_segments=n_segments), medium=medium, dt=dt, arena=arena)
    n = int(round(seconds / dt))
    f, lam = (0.3, 0.65) if medium == "agar" else (1.8, 1.5)
    drive = np.array([travelling_wave(k * dt, f, lam) for k in range(n)])
    names = {"": (), "loop": LOOP_SENSORS, "all": world.sensor_names}[observe]
    best = best_cpu = 0.0
    for _ in range(repeats):
        world.reset()
        with single_threaded_blas():
            t0, c0 = time.perf_counter(), time.process_time()
            for k in range(n):
                world.step(drive[k])
                if observe:
                    obs = world.observe()
                    for name in names:
                        obs[name]
            best = max(best, n / (time.perf_counter() - t0))
        best_cpu = max(best_cpu, n / max(time.process_time() - c0, 1e-9))
    world.worm.close()
    return best, best_cpu


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="simulated seconds per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"# bench_body: python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    dish = Arena(radius=5.0, obstacles=[((1.0, 0.3), 0.1), ((-1.5, -0.5), 0.2)])
    cases = [("water", 1e-3, "", None, "step", 25), ("agar", 1e-3, "", None, "step", 25),
             ("water", 1e-3, "loop", None, "step+obs", 25),
             ("agar", 1e-3, "loop", None, "step+obs", 25),
             ("agar", 1e-3, "all", None, "step+all", 25),
             ("agar", 1e-3, "", dish, "arena", 25), ("agar", 5e-3, "", None, "step", 25),
             ("agar", 1e-3, "", None, "step", 49)]
    print(f"{'medium':<7}{'dt (ms)':>8}{'segs':>5}  {'case':<9}{'steps/s':>10}{'x real time':>13}"
          f"{'CPU steps/s':>13}")
    for medium, dt, obs, arena, label, nseg in cases:
        sps, cpu = bench(medium, dt, args.seconds, obs, arena, args.repeats, nseg)
        print(f"{medium:<7}{dt * 1e3:>8.0f}{nseg:>5}  {label:<9}{sps:>10.0f}{sps * dt:>13.2f}"
              f"{cpu:>13.0f}")


if __name__ == "__main__":
    main()
