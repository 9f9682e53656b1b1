"""``celegans fit pipeline CONFIG``: the hierarchical pipeline on the command line.

``add_pipeline_parser(fit_subparsers)`` adds the ``pipeline`` subcommand to the ``fit`` command
group's subparsers (the lead wires it into ``celegans/cli.py`` / :mod:`fitting.cli`). Input
errors print one message and exit with status 2.

Example::

    celegans fit pipeline examples/pipeline_small.yaml --out runs/small
    celegans fit pipeline examples/pipeline_small.yaml --out runs/small --stages estimate
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fitting.pipeline import STAGES


def _stages(text: str) -> list[str]:
    out = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in out if s not in STAGES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown stages {bad}; expected from {STAGES}")
    return out


def add_pipeline_parser(fit_subparsers: Any) -> argparse.ArgumentParser:
    """Add ``pipeline`` to the ``fit`` group's subparsers."""
    p = fit_subparsers.add_parser(
        "pipeline", help="Level 1 -> Level 2 -> surrogate estimation from one config",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="pipeline YAML (see examples/pipeline_small.yaml)")
    p.add_argument("--out", default=None, help="run folder (default: the config's 'out')")
    p.add_argument("--stages", type=_stages, default=None,
                   help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--restart", action="store_true",
                   help="rerun stages already marked done (default: resume)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=run_pipeline_command)
    return p


def run_pipeline_command(args: argparse.Namespace) -> int:
    """Handler of ``celegans fit pipeline``; returns the exit status."""
    from fitting.checkpoint import CheckpointError
    from fitting.pipeline import run_pipeline

    try:
        status = run_pipeline(args.config, args.out, resume=not args.restart,
                              stages=args.stages, progress=not args.no_progress)
    except (ValueError, FileNotFoundError, CheckpointError, ImportError) as exc:
        print(f"celegans fit pipeline: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({s: v.get("state") for s, v in status["stages"].items()}, indent=2))
    return 0 if status.get("finished") else 1


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m fitting.pipeline_cli CONFIG ...``) before wiring."""
    parser = argparse.ArgumentParser(prog="celegans fit")
    sub = parser.add_subparsers(dest="fit_command", required=True)
    add_pipeline_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "pipeline":
        argv = ["pipeline", *argv]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())


def register_fit(fit_subparsers: Any) -> argparse.ArgumentParser:
    """Hook used by :mod:`fitting.cli` to add ``celegans fit pipeline``."""
    return add_pipeline_parser(fit_subparsers)
