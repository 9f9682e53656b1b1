"""The ``celegans`` command line: the face over every package.

Subcommands register themselves here; each handler returns an exit status. User errors
(bad options, bad files) print ``error: ...`` and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from celegans import __version__


class CLIError(Exception):
    """A user error: printed as ``error: <message>`` with exit status 2."""


def _connectome_info(args: argparse.Namespace) -> int:
    import connectome_data as cd

    try:
        c = cd.load(args.dataset)
    except KeyError as exc:
        raise CLIError(str(exc.args[0])) from None
    s = c.summary()
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    prov = c.provenance
    print(f"dataset        {s['dataset']}  ({prov.get('citation', '')})")
    print(f"neurons        {s['neurons']} ({s['neurons_with_connections']} with connections), "
          f"{s['classes']} classes")
    print("types          " + ", ".join(f"{k} {v}" for k, v in s["types"].items()))
    print("synapse signs  " + ", ".join(f"{k} {v}" for k, v in s["signs"].items()))
    print(f"chemical       {s['chemical_pairs']} directed neuron->neuron pairs, "
          f"{s['chemical_contacts']} contacts ({s['chemical_self_pairs']} autapses)")
    print(f"gap junctions  symmetric matrix: {s['gap_entries']} nonzero entries summing to "
          f"{s['gap_contacts']}, {s['gap_diagonal_entries']} on the diagonal "
          f"({s['gap_pairs']} distinct pairs)")
    print(f"muscles        {s['body_wall_muscles']} body-wall muscles, "
          f"{s['muscles_innervated']} innervated; {s['neuron_muscle_pairs']} neuron->muscle "
          f"pairs, {s['neuron_muscle_contacts']} contacts")
    src = prov.get("source_files", [{}])[0]
    version = prov.get("source_package_version", "?")
    print(f"source         {prov.get('reader', '?')} (cect {version}), "
          f"{src.get('file', '?')} sha256 {src.get('sha256', '?')[:12]}…")
    return 0


def _connectome_list(args: argparse.Namespace) -> int:
    import connectome_data as cd

    for name, info in cd.DATASETS.items():
        aliases = [a for a, t in cd.ALIASES.items() if t == name]
        extra = f"  (alias: {', '.join(aliases)})" if aliases else ""
        print(f"{name:18s} {info.stage:6s} {info.citation}{extra}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    p = argparse.ArgumentParser(
        prog="celegans",
        description="Multiscale C. elegans simulation: connectome, neurons, body, fitting.")
    p.add_argument("--version", action="version", version=f"celegans {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    con = sub.add_parser("connectome", help="the published wiring (connectome_data)")
    con_sub = con.add_subparsers(dest="connectome_command", metavar="SUBCOMMAND")
    con_sub.required = True
    info = con_sub.add_parser("info", help="summary counts of a dataset")
    info.add_argument("--dataset", default="cook2019_herm",
                      help="dataset name (default cook2019_herm; see 'celegans connectome list')")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(handler=_connectome_info)
    lst = con_sub.add_parser("list", help="list the shipped datasets")
    lst.set_defaults(handler=_connectome_list)

    for register in _optional_registrars():
        register(sub)
    return p


def _optional_registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Subcommands contributed by other modules (present once those modules exist)."""
    out = []
    for modname in ("celegans.cli_simulate", "fitting.cli"):
        try:
            mod = __import__(modname, fromlist=["register"])
        except ImportError as exc:
            if exc.name and modname.startswith(exc.name):
                continue
            raise
        out.append(mod.register)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``celegans`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `celegans connectome info | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, KeyError, FileNotFoundError, PermissionError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
