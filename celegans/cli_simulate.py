"""``celegans simulate``: the closed-loop worm from the command line (see
:func:`celegans.organism.simulate`)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def _cli_error(msg: str) -> Exception:
    from celegans.cli import CLIError

    return CLIError(msg)


def parse_medium(text: str) -> Any:
    """``agar``, ``water``, ``buffer`` or a viscosity in mPa*s (a number)."""
    from env.medium import PRESETS

    if text.lower() in PRESETS:
        return text.lower()
    try:
        mu = float(text)
    except ValueError:
        raise _cli_error(f"--medium: unknown medium {text!r}; expected one of {PRESETS} or a "
                         f"viscosity in mPa*s") from None
    if not (math.isfinite(mu) and mu > 0):
        raise _cli_error(f"--medium: viscosity must be > 0 mPa*s, got {text!r}")
    return mu


def _floats(text: str, n: int | None, what: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",")] if text else []
    except ValueError:
        raise _cli_error(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if n is not None and len(vals) != n:
        raise _cli_error(f"{what}: expected {n} numbers, got {text!r}")
    return vals


def parse_field(text: str) -> tuple[str, Any]:
    """``NAME=linear:gx,gy[,c0]``, ``NAME=gaussian:x,y,peak,sigma`` or
    ``NAME=temperature:gx,gy,T0`` (mm, unit per mm, degC)."""
    from env.fields import GaussianSource, LinearGradient, TemperatureGradient

    try:
        name, spec = text.split("=", 1)
        kind, _, args = spec.partition(":")
    except ValueError:
        raise _cli_error(f"--field: expected NAME=KIND:ARGS, got {text!r}") from None
    what = f"--field {name}"
    if kind == "linear":
        v = _floats(args, None, what)
        if len(v) not in (2, 3):
            raise _cli_error(f"{what}: linear needs gx,gy[,value_at_origin]")
        return name, LinearGradient(v[:2], v[2] if len(v) == 3 else 0.0)
    if kind == "gaussian":
        x, y, peak, sigma = _floats(args, 4, what)
        return name, GaussianSource([x, y], peak=peak, sigma=sigma)
    if kind == "temperature":
        gx, gy, t0 = _floats(args, 3, what)
        return name, TemperatureGradient((gx, gy), t0)
    raise _cli_error(f"{what}: unknown kind {kind!r}; expected linear, gaussian, temperature")


def parse_arena(text: str | None) -> Any:
    """``dish:RADIUS`` or ``box:xmin,xmax,ymin,ymax`` (mm); ``None`` = open plane."""
    if text is None:
        return None
    from env import Arena

    kind, _, args = text.partition(":")
    if kind == "dish":
        (r,) = _floats(args, 1, "--arena dish")
        return Arena(radius=r)
    if kind == "box":
        return Arena(box=_floats(args, 4, "--arena box"))
    raise _cli_error(f"--arena: expected dish:RADIUS or box:xmin,xmax,ymin,ymax, got {text!r}")


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _run(args: argparse.Namespace) -> int:
    from celegans.organism import OrganismError, simulate

    medium = parse_medium(args.medium)
    if not (math.isfinite(args.duration) and args.duration > 0):
        raise _cli_error(f"--duration: expected a number of seconds > 0, got {args.duration}")
    fields = dict(parse_field(f) for f in args.field or [])
    arena = parse_arena(args.arena)
    try:
        res = simulate(medium, args.duration, out=args.out, backend=args.backend,
                       assignment=args.models, config=args.config, seed=args.seed,
                       fields=fields or None, arena=arena, ablate=_split(args.ablate),
                       remove=_split(args.remove), scale=_split(args.scale),
                       progress=not args.quiet, figures=not args.no_figures,
                       animation=not args.no_animation, discard_s=args.discard)
    except OrganismError as exc:
        raise _cli_error(str(exc)) from None
    s = res.summary
    g = s["gait"]
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        def fmt(x: Any, spec: str = ".3f") -> str:
            return "n/a" if x is None else format(x, spec)

        print(f"medium {s['medium']}, {s['duration_s_simulated']:.2f} s simulated in "
              f"{s['wall_time_s']:.1f} s ({fmt(s['realtime_factor'], '.2f')} x real time, "
              f"backend {s['backend']})")
        print(f"direction {g.get('direction')}, speed {fmt(g.get('speed_mm_s'))} mm/s, "
              f"frequency {fmt(g.get('frequency_hz'))} Hz, wavelength "
              f"{fmt(g.get('wavelength_body_lengths'))} body lengths")
        pub = s.get("published") or {}
        if pub:
            print(f"published ({s['medium']}): " + ", ".join(f"{k} {v}" for k, v in pub.items()))
        print(f"output in {args.out}")
    if s["failed"]:
        print(f"warning: {s['failed']}")
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate", help="run the closed-loop worm (network + body + environment)",
        description="Simulate the whole worm: all neurons of the connectome, the 95 body-wall "
                    "muscles and the PyBullet body in a medium. Writes run.h5, summary.json, "
                    "figures and worm.gif to --out.")
    p.add_argument("--medium", default="agar",
                   help="agar, water/buffer, or a viscosity in mPa*s (default agar)")
    p.add_argument("--duration", type=float, default=10.0, help="simulated seconds (default 10)")
    p.add_argument("--out", default="runs/simulate", help="output folder (default runs/simulate)")
    p.add_argument("--backend", choices=("neuron", "torch"), default="neuron",
                   help="network backend (default neuron)")
    p.add_argument("--models", default=None,
                   help="neuron-model assignment: YAML file or model name (default: organism's)")
    p.add_argument("--config", default=None, help="organism parameter YAML (default shipped)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial posture")
    p.add_argument("--ablate", action="append", metavar="NAMES",
                   help="neurons or classes to ablate, comma separated (repeatable)")
    p.add_argument("--remove", action="append", metavar="KINDS",
                   help="remove all chemical, gap or nmj connections (repeatable)")
    p.add_argument("--scale", action="append", metavar="KIND:PRE[:POST]=F",
                   help="scale the contacts of a class's connections, e.g. gap:AVB=0.5")
    p.add_argument("--field", action="append", metavar="NAME=KIND:ARGS",
                   help="a field read at the nose: NAME=linear:gx,gy[,c0] | "
                        "gaussian:x,y,peak,sigma | temperature:gx,gy,T0 (sensor NAME feeds "
                        "the organism's sensory table, e.g. salt -> ASE)")
    p.add_argument("--arena", default=None, help="dish:RADIUS or box:xmin,xmax,ymin,ymax (mm)")
    p.add_argument("--discard", type=float, default=2.0,
                   help="initial seconds left out of the gait metrics (default 2)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--no-animation", action="store_true", help="skip the GIF")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_run)
