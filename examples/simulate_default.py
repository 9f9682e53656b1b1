"""The default closed-loop worm on agar and in water, from Python.

    python examples/simulate_default.py [--duration 10] [--out runs/example]

Writes runs/example/{agar,water}/ (run.h5, summary.json, figures, worm.gif) and prints the
gait next to Fang-Yen et al. 2010.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from celegans.organism import simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--out", default="runs/example")
    args = ap.parse_args()
    for medium in ("agar", "water"):
        res = simulate(medium, args.duration, out=Path(args.out) / medium, progress=True)
        g, pub = res.summary["gait"], res.summary["published"]
        print(f"{medium}: {g['direction']}, f = {g['frequency_hz']:.2f} Hz "
              f"(published {pub['frequency_hz']}), wavelength = "
              f"{g['wavelength_body_lengths'] or float('nan'):.2f} L "
              f"(published {pub['wavelength_body_lengths']}), speed = {g['speed_mm_s']:.3f} mm/s")
        print(f"  files: {', '.join(sorted(res.files))} in {Path(args.out) / medium}")


if __name__ == "__main__":
    main()
