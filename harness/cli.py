"""`cmg-harness`: bring the emulated topology up, or run the acceptance suite and build its reports.

    cmg-harness up [--env local|containers] [--clock virtual|real] [--scale N] [--json] [--write-external FILE]
                                            start an environment; print its endpoints; stop on Ctrl+C
    cmg-harness run [--env E] [--clock virtual|real] [--shard I/N] [--append] [pytest args…]
                                            run the acceptance suite on an environment; write reports/
    cmg-harness durations                   refresh the scenarios' stored durations (what --shard splits by)
    cmg-harness report merge DIR… [--output OUT] [--history FILE]
                                            several runs' report folders as one, with one HTML report
    cmg-harness report check [DIR]          the HTML report, read in headless Chromium, against the summaries
    cmg-harness load [--env E] [--users N] [--seconds S]
                                            real load through the CMG with Locust; reports/load/
    cmg-harness images build|base|list|prune  container images of the emulators (the containers environment)
    cmg-harness matrix [--json]             the capability matrix by site version
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import suite
from harness.clock.model_clock import CLOCK_MODES
from harness.environments import select
from harness.environments.emulated import PROJECT_ROOT, EmulatedEnvironment
from harness.load import command as load_command
from harness.model import matrix as capability_matrix
from harness.reporting import merge as merge_module
from harness.reporting.report_folder import build_html, clear_reports, write_behaviour_table

log = logging.getLogger("cmg_harness")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cmg-harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start an environment and keep it up until interrupted")
    up.add_argument("--env", default="local", choices=["local", "containers"], help="processes or containers")
    up.add_argument("--scale", type=float, default=None, help="model bytes per physical byte (default: local.toml)")
    up.add_argument("--clock", choices=CLOCK_MODES, default=select.DEFAULT_CLOCK,
                    help="model time: virtual (moves when every actor waits; GET/POST /_harness/clock on the network "
                         "service) or real (real time × scale); default %(default)s")
    up.add_argument("--json", action="store_true", help="print the endpoints as one JSON object on stdout")
    up.add_argument("--write-external", type=Path, metavar="FILE",
                    help="also write an external-environment file pointing at it (for `--env external=FILE`)")
    run = commands.add_parser("run", help="run the acceptance suite and write reports/",
                              description="Extra arguments are passed to pytest (e.g. -k, -x, --scale).")
    run.add_argument("--env", default="local", metavar="local|containers|external[=FILE]",
                     help="where the services run (default: local)")
    run.add_argument("--reports", type=Path, default=PROJECT_ROOT / "reports", help="report folder (default: reports/)")
    run.add_argument("--clock", choices=CLOCK_MODES, default=None,
                     help=f"model time: virtual or real (default {select.DEFAULT_CLOCK}; an external environment is "
                          "always real)")
    run.add_argument("--append", action="store_true",
                     help="add to the Allure results already in the report folder (one report, several environments)")
    run.add_argument("--no-html", action="store_true", help="skip building the Allure HTML report")
    run.add_argument("--shard", type=suite.parse_shard, default=None, metavar="I/N",
                     help="run the I-th of N shards of equal stored duration (features/durations.json); merge the "
                          "shards' report folders with `cmg-harness report merge`")
    commands.add_parser("durations", help="run the acceptance suite once, serially, and store each scenario's "
                                          "duration in features/durations.json (what --shard splits by)")
    report = commands.add_parser("report", help="work on report folders")
    report_actions = report.add_subparsers(dest="action", required=True)
    merge = report_actions.add_parser(
        "merge", help="merge report folders (shards, environments) into one, and build its HTML report",
        description=merge_module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    merge.add_argument("inputs", type=Path, nargs="+", metavar="DIR", help="report folders `cmg-harness run` wrote")
    merge.add_argument("--output", type=Path, default=PROJECT_ROOT / "reports",
                       help="the merged folder (default: reports/)")
    merge.add_argument("--history", type=Path, default=None, metavar="FILE",
                       help="the previous report's Allure history (history.jsonl, or its folder); default: the "
                            "output folder's own")
    merge.add_argument("--no-html", action="store_true", help="skip building the Allure HTML report")
    check = report_actions.add_parser(
        "check", help="open the folder's HTML report in headless Chromium and check it shows what its summaries say")
    check.add_argument("folder", type=Path, nargs="?", default=PROJECT_ROOT / "reports", metavar="DIR",
                       help="report folder (default: reports/)")
    check.add_argument("--screenshot", type=Path, default=None, metavar="PNG", help="also save what the browser saw")
    images = commands.add_parser("images", help="container images of the emulators")
    images.add_argument("action", choices=["build", "base", "list", "prune"],
                        help="build: the images of the current sources (skips what exists); base: an offline base "
                             "image made with debootstrap (no registry needed); list: the harness's images (* = "
                             "current sources); prune: remove images of older sources")
    images.add_argument("--base-image", default=None,
                        help="base image for build (default: $CMG_HARNESS_BASE_IMAGE, else public Python and Node "
                             "images, else the offline base)")
    images.add_argument("--mirror", default=None, help="Debian mirror for `base` (default: the one apt uses)")
    matrix = commands.add_parser("matrix", help="print the capability matrix by site version "
                                                  "(B-01, B-02, B-04 to B-08, B-18, B-19)")
    matrix.add_argument("--json", action="store_true", help="as one JSON object")
    behaviours = commands.add_parser(
        "behaviours", help="print each documented behaviour (docs/behaviour.md), its scenarios and their results "
                           "per environment, from the summaries in the report folder")
    behaviours.add_argument("--reports", type=Path, default=PROJECT_ROOT / "reports",
                            help="report folder with summary*.json (default: reports/)")
    behaviours.add_argument("--json", action="store_true", help="as one JSON object, for dashboards")
    behaviours.add_argument("--html", type=Path, default=None, metavar="FILE",
                            help="also write the table as an HTML page to FILE")
    load_command.add_parser(commands)
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns what the command says
    if args.command == "matrix":
        print(json.dumps(capability_matrix.as_json()) if args.json else capability_matrix.as_table())
        return 0
    if args.command == "behaviours" and not extra:
        return command_behaviours(args.reports, args.json, args.html)
    if args.command != "run" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "report" and args.action == "check":
        return command_report_check(args.folder, args.screenshot)
    if args.command == "report":
        return command_report_merge(args.inputs, args.output, args.history, html=not args.no_html)
    if args.command == "load":
        return load_command.command_load(args)
    if args.command == "durations":
        return suite.store_durations()
    if args.command == "images":
        return command_images(args.action, args.base_image, args.mirror)
    if args.command == "up":
        if args.write_external is not None and args.clock != "real":
            parser.error("--write-external: an external environment keeps real time; start this one with --clock real")
        return command_up(args.env, args.scale, args.clock, args.json, args.write_external)
    try:
        spec = select.parse_spec(args.env)
    except ValueError as error:
        parser.error(f"--env: {error}")
    clock = ["--clock", args.clock] if args.clock else []
    shard = suite.shard_arguments(*args.shard) if args.shard else []
    return command_run(spec, args.reports, [*clock, *shard, *extra], html=not args.no_html, append=args.append)


def command_behaviours(reports: Path, as_json: bool, html: Path | None = None) -> int:
    """The behaviour table; exit 1 when a behaviour failed in an environment that ran it."""
    from harness.reporting import behaviour_results as results
    from harness.reporting.behaviour_html import render_page

    table, summaries = results.table_for_reports(reports)
    if html is not None:
        html.write_text(render_page(table), encoding="utf-8")
    print(json.dumps({"reports": str(reports), "environments": sorted(summaries), "behaviours": table})
          if as_json else results.render(table))
    if not summaries:
        print(f"no summary*.json in {reports}: run `cmg-harness run` first for results", file=sys.stderr)
    failed = any(result == results.FAILED for row in table for result in row["results"].values())
    return 1 if failed else 0


def command_images(action: str, base_image: str | None, mirror: str | None) -> int:
    from harness.environments import images, offline_base
    from harness.environments.image_names import ImageError

    try:
        if action == "base":
            print(offline_base.build_offline_base(mirror=mirror))
        elif action == "build":
            for service, name in images.ensure_images(base_image=base_image).items():
                print(f"{service:<8} {name}")
        elif action == "prune":
            for name in images.remove_images():
                print(f"removed {name}")
        else:
            for info in images.list_images():
                mark = "*" if info.current else " "
                print(f"{mark} {info.name:<48} {info.size_bytes / 1e6:7.0f} MB  {info.created}")
    except ImageError as error:
        log.error("%s", error)
        return 1
    return 0


def command_up(kind: str, scale: float | None, clock: str, as_json: bool, external_file: Path | None) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    env = _emulated(kind, scale, clock)
    try:
        endpoints = env.up()
        if external_file is not None:
            _write_external(env, external_file)
        if as_json:
            print(json.dumps(endpoints.to_json()), flush=True)
        else:
            print(_describe(endpoints.to_json()), flush=True)
        log.info("environment up in %.2f s; press Ctrl+C to stop", env.timings["start_s"])
        while not stop.wait(0.5):
            pass
    finally:
        env.down()
        log.info("environment stopped")
    return 0


def _describe(data: dict[str, object]) -> str:
    services = data["services"]
    assert isinstance(services, dict)
    lines = [f"environment {data['environment']} (scale {data['scale']}, {data['clock']} clock), "
             f"CA certificate {data['ca_cert']}"]
    lines += [f"  {name:<8} {info['url']:<80} {info['address']}" for name, info in services.items()]
    return "\n".join(lines)


def _emulated(kind: str, scale: float | None, clock: str) -> EmulatedEnvironment:
    if kind == "containers":
        from harness.environments.containers import ContainersEnvironment  # needs testcontainers
        return ContainersEnvironment(scale=scale, clock_mode=clock)
    from harness.environments.local import LocalEnvironment
    return LocalEnvironment(scale=scale, clock_mode=clock)


def _write_external(env: EmulatedEnvironment, path: Path) -> None:
    """The file `--env external=FILE` reads, pointing at this environment; prints what must be set to use it."""
    from harness.environments.external_writer import write_external_file

    for assignment in write_external_file(env, path):
        print(f"export {assignment}", file=sys.stderr)
    log.info("external environment file written to %s", path)


def command_run(spec: select.EnvironmentSpec, reports: Path, pytest_args: list[str], *, html: bool,
                append: bool = False) -> int:
    """The acceptance suite on one environment. Files other than Allure's are named after a non-local
    environment (junit-containers.xml), so several environments can report into one folder."""
    results = reports / "allure-results"
    reports.mkdir(parents=True, exist_ok=True)
    suffix = "" if spec.kind == "local" else f"-{spec.kind}"
    if not append:
        # Here, once, rather than pytest's --clean-alluredir: under xdist every worker cleans the folder when it
        # starts, deleting what a faster worker already wrote (allure-python issue 807).
        clear_reports(reports)
        shutil.rmtree(results, ignore_errors=True)
    command = [sys.executable, "-m", "pytest", "features", "--env", str(spec), "--alluredir", str(results),
               "--junitxml", str(reports / f"junit{suffix}.xml"),
               "--cucumberjson", str(reports / f"cucumber{suffix}.json"),
               "--summary-json", str(reports / f"summary{suffix}.json"), *suite.worker_arguments(pytest_args),
               *pytest_args]
    log.info("running: %s", " ".join(command))
    started = time.perf_counter()
    code = subprocess.call(command, cwd=PROJECT_ROOT)
    log.info("acceptance suite finished in %.1f s with exit code %d", time.perf_counter() - started, code)
    write_behaviour_table(reports, results)
    if html:
        build_html(results, reports / "html")
    print(f"Reports written to {reports}:")
    for name in ("html/index.html", "behaviours.html", f"junit{suffix}.xml", f"cucumber{suffix}.json",
                 f"summary{suffix}.json", "allure-results"):
        if (reports / name).exists():
            print(f"  {reports / name}")
    return code


def command_report_merge(inputs: list[Path], output: Path, history: Path | None, *, html: bool) -> int:
    try:
        written = merge_module.merge_reports(inputs, output)
        merge_module.take_history(history, output)
    except merge_module.MergeError as error:
        print(f"cmg-harness report merge: {error}", file=sys.stderr)
        return 2
    write_behaviour_table(output, output / merge_module.RESULTS)
    if html:
        build_html(output / merge_module.RESULTS, output / "html")
    print(f"Merged {len(inputs)} report folders into {output}:")
    for name, sources in written.items():
        print(f"  {output / name}  (from {len(sources)})")
    for name in ("behaviours.html", "html/index.html"):
        if (output / name).exists():
            print(f"  {output / name}")
    return 0


def command_report_check(folder: Path, screenshot: Path | None) -> int:
    from harness.reporting.browser_check import CheckError, check_report

    try:
        problems = check_report(folder, screenshot)
    except CheckError as error:
        print(f"cmg-harness report check: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"cmg-harness report check: {problem}", file=sys.stderr)
    if not problems:
        print(f"{folder / 'html' / 'index.html'}: every scenario result and the behaviour table as the summaries say")
    return 1 if problems else 0


def entry_point() -> None:
    """Console script: a closed pipe (`cmg-harness matrix | head`) is not an error."""
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)


if __name__ == "__main__":
    entry_point()
