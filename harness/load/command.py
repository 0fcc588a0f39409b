"""`cmg-harness load`: real load, in real time, through the CMG of an environment.

    cmg-harness load [--env local|containers|external=FILE] [--users 200] [--spawn-rate 50] [--seconds 60]
                     [--processes N] [--user clients|minimal] [--reports reports/load] [--max-failure-ratio 0.01]
                     [--write-target FILE] [--package ID …] [--enrollment-cert PEM --enrollment-key PEM]

Starts the environment (local and containers; an external one is already there), gets it ready
(harness/load/prepare.py), runs Locust (harness/load/runner.py) and prints the figures; Locust's HTML and CSV
reports are in the reports folder. Exits 1 when more than --max-failure-ratio of the requests failed.

`--write-target FILE` only prepares and writes the target, for Locust's own distributed mode:

    CMG_HARNESS_LOAD_TARGET=FILE locust -f harness/load/locustfile.py --master --headless -u 2000 -r 100 -t 10m \\
        --expect-workers 4 EmulatedClientUser
    CMG_HARNESS_LOAD_TARGET=FILE locust -f harness/load/locustfile.py --worker --master-host MASTER  # each worker
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.drivers.base import ServiceRequestError
from harness.environments import select
from harness.load.prepare import prepare
from harness.load.runner import USER_CLASSES, LoadError, check_bounds, describe, run_locust
from harness.load.target import TargetError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]  # argparse's private type
    load = commands.add_parser("load", help="real load through the CMG with Locust, in real time",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_argument("--env", default="local", metavar="local|containers|external[=FILE]")
    load.add_argument("--clock", choices=["virtual", "real"], default=None,
                      help="the emulated environment's clock (the load itself is always in real time)")
    load.add_argument("--users", type=int, default=200, help="emulated clients at once (default 200)")
    load.add_argument("--spawn-rate", type=float, default=50.0, help="users started a second (default 50)")
    load.add_argument("--seconds", type=int, default=60, help="how long the load lasts (default 60)")
    load.add_argument("--processes", type=int, default=0, help="Locust worker processes on this machine")
    load.add_argument("--user", choices=sorted(USER_CLASSES), default="clients",
                      help="clients: the harness's emulated clients (default); minimal: Locust's own HTTP user")
    load.add_argument("--reports", type=Path, default=PROJECT_ROOT / "reports" / "load",
                      help="where Locust's HTML and CSV reports go (default: reports/load/)")
    load.add_argument("--max-failure-ratio", type=float, default=0.01, help="exit 1 above it (default 0.01)")
    load.add_argument("--write-target", type=Path, default=None, metavar="FILE",
                      help="only prepare the environment and write the target file for Locust's own commands")
    load.add_argument("--package", action="append", default=None, metavar="ID",
                      help="a package the clients download (an environment without a control API needs them)")
    load.add_argument("--enrollment-cert", type=Path, default=None, help="PKI clients: the enrollment CA (PEM)")
    load.add_argument("--enrollment-key", type=Path, default=None, help="PKI clients: its private key (PEM)")


def command_load(args: argparse.Namespace) -> int:
    enrollment = (args.enrollment_cert, args.enrollment_key) if args.enrollment_cert else None
    if (args.enrollment_cert is None) != (args.enrollment_key is None):
        print("cmg-harness load: --enrollment-cert and --enrollment-key go together", file=sys.stderr)
        return 2
    try:
        check_bounds(args.users, args.spawn_rate, args.seconds, args.user)
        spec = select.parse_spec(args.env)
    except (LoadError, ValueError) as error:
        print(f"cmg-harness load: {error}", file=sys.stderr)
        return 2
    if args.write_target is not None and spec.kind != "external":
        print("cmg-harness load: --write-target is for an external environment, which stays up after this command; "
              "for a local one, start it with `cmg-harness up --write-external FILE` and load --env external=FILE",
              file=sys.stderr)
        return 2
    try:
        env = select.create(spec, clock=args.clock)
    except (ValueError, OSError) as error:  # an external file that cannot be used says why
        print(f"cmg-harness load: {error}", file=sys.stderr)
        return 2
    env.up()
    try:
        target = prepare(env, clients=args.users, enrollment=enrollment, packages=args.package)
        path = target.save(args.write_target or args.reports / "target.json")
        if args.write_target is not None:
            print(f"load target written to {path}")
            return 0
        result = run_locust(path, args.reports, users=args.users, spawn_rate=args.spawn_rate, seconds=args.seconds,
                            user=args.user, processes=args.processes)
    except (TargetError, LoadError, ServiceRequestError) as error:
        print(f"cmg-harness load: {error}", file=sys.stderr)
        return 2
    finally:
        env.down()
    print(describe(result))
    print(f"Locust's report: {result.html}")
    return 1 if result.failure_ratio > args.max_failure_ratio else 0
