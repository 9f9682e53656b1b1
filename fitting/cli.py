"""``celegans fit neuron``: the level-1 fitter on the command line.

``register(subparsers)`` adds a ``fit`` command group with a ``neuron`` subcommand to an argparse
subparsers object; ``celegans/cli.py`` calls it. Errors in input (files, protocol, options) print
one message and exit with status 2, without a traceback.

Example::

    celegans fit neuron --recording AIYL_current_clamp.npz --model passive \
        --algorithm nsga2 --pop-size 32 --max-evals 640 --test-sweeps 0,10 --out runs/aiy
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fitting.executors import EXECUTORS

#: modules that may contribute ``celegans fit <name>`` subcommands via ``register_fit(fsub)``
FIT_SUBCOMMAND_MODULES = ("fitting.pipeline_cli",)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")\
            from None


def _float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")\
            from None


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``fit neuron`` to ``subparsers`` (from ``parser.add_subparsers()``)."""
    fit = subparsers.add_parser("fit", help="fit models to data (level 1: single neurons)")
    fsub = fit.add_subparsers(dest="fit_command", metavar="{neuron,pipeline}")
    fsub.required = True
    p = fsub.add_parser("neuron", help="fit a single-neuron model to a recording",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recording", required=True, help=".npz, .csv or .nwb with its protocol")
    p.add_argument("--model", default="passive", help="model registry name (default passive)")
    p.add_argument("--cell", default=None, help="cell for the hh model (e.g. RMD)")
    p.add_argument("--parameters", default=None, help="ParameterSet YAML (default: model's)")
    p.add_argument("--fit", default=None, help="comma-separated names to fit (default: free)")
    p.add_argument("--backend", default="torch", choices=("torch", "neuron"))
    p.add_argument("--dt", type=float, default=0.1, help="integration step, ms")
    p.add_argument("--resample", type=float, default=None,
                   help="resample the recording to this step (ms) before fitting")
    p.add_argument("--executor", default="batched", choices=EXECUTORS)
    p.add_argument("--workers", type=int, default=2, help="process/dask workers")
    p.add_argument("--scheduler", default=None, help="dask scheduler address")
    p.add_argument("--timeout", type=float, default=60.0, help="per-evaluation timeout, s")
    p.add_argument("--algorithm", default="nsga2",
                   help="nsga2 (default), nsga3, unsga3, moead, spea2, age, sms, ga, de, cmaes, "
                        "pso, es, sres, pattern, sa, random, grid, powell, nelder-mead, "
                        "gradient, or module:Class of any pymoo algorithm")
    p.add_argument("--pop-size", type=int, default=32)
    p.add_argument("--max-evals", type=int, default=640)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-sweeps", type=_int_list, default=[],
                   help="comma-separated sweep indices held out of the fit")
    p.add_argument("--amplitudes", type=_float_list, default=None,
                   help="step amplitudes (pA) when the recording lacks them")
    p.add_argument("--two-stage", action="store_true", help="passive first, then active")
    p.add_argument("--state-mutation", action="store_true",
                   help="Menon et al. 2009 feature-guided mutation")
    p.add_argument("--phase-plane", action="store_true", help="add phase-plane objective")
    p.add_argument("--out", required=True, help="run folder (checkpoints, figures, fitted.yaml)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=run_fit_neuron, func=run_fit_neuron)
    # other fitting levels add their own ``fit <name>`` subcommands through register_fit(fsub)
    for modname in FIT_SUBCOMMAND_MODULES:
        try:
            mod = __import__(modname, fromlist=["register_fit"])
        except ImportError as exc:  # skip only when the contributing module itself is absent
            if exc.name and modname.startswith(exc.name):
                continue
            raise
        if hasattr(mod, "register_fit"):
            mod.register_fit(fsub)
    return p


def run_fit_neuron(args: argparse.Namespace) -> int:
    """Handler of ``celegans fit neuron``; returns the exit status (2 on input errors)."""
    from fitting.checkpoint import CheckpointError
    from fitting.level1 import fit_neuron
    from fitting.objectives import ObjectiveConfig
    from fitting.targets import load_recording

    try:
        rec = load_recording(args.recording)
        if args.resample:
            rec = rec.resample(args.resample)
        ex_opts: dict[str, Any] = {"n_workers": args.workers, "timeout_s": args.timeout}
        if args.scheduler:
            ex_opts["address"] = args.scheduler
        res = fit_neuron(
            rec, args.model, parameters=args.parameters,
            fit=args.fit.split(",") if args.fit else None, backend=args.backend, dt_ms=args.dt,
            sim_options={"cell": args.cell} if args.cell else None, executor=args.executor,
            executor_options=ex_opts, algorithm=args.algorithm, pop_size=args.pop_size,
            max_evals=args.max_evals, seed=args.seed,
            objectives=ObjectiveConfig(phase_plane=args.phase_plane),
            test_sweeps=args.test_sweeps, two_stage=args.two_stage,
            state_mutation=args.state_mutation, run_dir=args.out, resume=args.resume,
            progress=not args.no_progress)
    except (ValueError, FileNotFoundError, CheckpointError, ImportError) as exc:
        print(f"celegans fit neuron: error: {exc}", file=sys.stderr)
        return 2
    s = res.summary
    print(json.dumps({"best": res.best, "rmse_train_mV": s["rmse_train"],
                      "rmse_test_mV": s["rmse_test"], "n_evals": s["n_evals"],
                      "parameters": str(Path(args.out) / "fitted.yaml")}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m fitting.cli fit neuron ...``) for use before wiring."""
    parser = argparse.ArgumentParser(prog="celegans")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its message
        return int(exc.code or 0)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
