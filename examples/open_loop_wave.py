"""Open-loop check (no neurons): one travelling wave of muscle activation in water and on agar.

Drives the 95 body-wall muscles with a sinusoidal dorsal/ventral wave running head -> tail,
prints the gait metrics per medium (speed, frequency, wavelength, slip) and writes a trajectory
figure, curvature kymographs and movies of the worm (GIF; MP4 too when imageio-ffmpeg is
installed) to ``--out``.

    python examples/open_loop_wave.py --out results/open_loop --seconds 12
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from body.patterns import travelling_wave  # noqa: E402
from env import World  # noqa: E402
from env import metrics as M  # noqa: E402
from env.plots import (  # noqa: E402
    ffmpeg_available,
    plot_kymograph,
    plot_trajectory,
    render_frames,
    write_movie,
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="open-loop travelling wave in water and on agar")
    ap.add_argument("--out", type=Path, default=Path("results/open_loop_wave"))
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--frequency", type=float, default=0.3, help="Hz")
    ap.add_argument("--wavelength", type=float, default=0.65, help="body lengths")
    ap.add_argument("--dt", type=float, default=0.005, help="s (results dt-independent <= 5 ms)")
    ap.add_argument("--media", nargs="+", default=["water", "agar"],
                    help="preset names or viscosities in mPa*s")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    f, lam = args.frequency, args.wavelength
    recs = []
    print(f"imposed wave: {f} Hz, {lam} body lengths, head -> tail")
    print(f"{'medium':<22}{'speed mm/s':>11}{'mm/cycle':>10}{'f Hz':>8}{'lambda L':>10}"
          f"{'slip':>7}{'kappa*L':>9}")
    for med in args.media:
        medium = float(med) if med.replace(".", "", 1).isdigit() else med
        world = World(medium=medium, dt=args.dt)
        rec = world.run(lambda t, _w: travelling_wave(t, f, lam), args.seconds,
                        record_every=max(1, int(round(0.02 / args.dt))), progress=True)
        g = M.gait_summary(rec.centreline, rec.time, discard_s=min(3.0, args.seconds / 3))
        name = world.medium.name
        print(f"{name:<22}{g.speed_mm_s:>11.3f}{g.speed_mm_s / f:>10.3f}{g.frequency_hz:>8.3f}"
              f"{g.wavelength_body_lengths:>10.3f}{g.slip_ratio:>7.2f}"
              f"{g.curvature_amplitude_kappa_L:>9.2f}")
        plot_kymograph(rec, args.out / f"kymograph_{name}.png")
        frames = render_frames(rec, radii=world.worm.radii, every=5, follow=True)
        write_movie(frames, args.out / f"worm_{name}.gif", fps=10)
        if ffmpeg_available():
            write_movie(frames, args.out / f"worm_{name}.mp4", fps=10)
        rec.save(args.out / f"recording_{name}.npz")
        recs.append(rec)
        world.worm.close()
    plot_trajectory(recs, labels=[r.medium for r in recs], path=args.out / "trajectory.png")
    print(f"figures and movies in {args.out}")


if __name__ == "__main__":
    main()
