"""`cmg-harness`: bring the emulated topology up, or run the acceptance suite and build its reports.

    cmg-harness up [--scale N] [--json]     start the local environment; print its endpoints; stop on Ctrl+C
    cmg-harness run [pytest args…]          run the acceptance suite; write reports/
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

from harness.environments.local import PROJECT_ROOT, LocalEnvironment
from harness.model import matrix as capability_matrix

log = logging.getLogger("cmg_harness")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cmg-harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the local environment and keep it up until interrupted")
    up.add_argument("--scale", type=float, default=None, help="model units per physical unit (default: local.toml)")
    up.add_argument("--json", action="store_true", help="print the endpoints as one JSON object on stdout")
    run = commands.add_parser("run", help="run the acceptance suite and write reports/",
                              description="Extra arguments are passed to pytest (e.g. -k, -x, --scale).")
    run.add_argument("--reports", type=Path, default=PROJECT_ROOT / "reports", help="report folder (default: reports/)")
    run.add_argument("--no-html", action="store_true", help="skip building the Allure HTML report")
    matrix = commands.add_parser("matrix", help="print the capability matrix by site version (spec §1.7)")
    matrix.add_argument("--json", action="store_true", help="as one JSON object")
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if args.command == "matrix":
        print(json.dumps(capability_matrix.as_json()) if args.json else capability_matrix.as_table())
        return 0
    if args.command == "up":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return command_up(args.scale, args.json)
    return command_run(args.reports, extra, html=not args.no_html)


def command_up(scale: float | None, as_json: bool) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    env = LocalEnvironment(scale=scale)
    try:
        endpoints = env.up()
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
    lines = [f"environment {data['environment']} (scale {data['scale']}), CA certificate {data['ca_cert']}"]
    lines += [f"  {name:<8} {info['url']:<80} {info['address']}" for name, info in services.items()]
    return "\n".join(lines)


def command_run(reports: Path, pytest_args: list[str], *, html: bool) -> int:
    results = reports / "allure-results"
    reports.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", "features", "--alluredir", str(results), "--clean-alluredir",
               "--junitxml", str(reports / "junit.xml"), "--cucumberjson", str(reports / "cucumber.json"),
               "--summary-json", str(reports / "summary.json"), *pytest_args]
    log.info("running: %s", " ".join(command))
    started = time.perf_counter()
    code = subprocess.call(command, cwd=PROJECT_ROOT)
    log.info("acceptance suite finished in %.1f s with exit code %d", time.perf_counter() - started, code)
    if html:
        build_html(results, reports / "html")
    print(f"Reports written to {reports}:")
    for name in ("html/index.html", "junit.xml", "cucumber.json", "summary.json", "allure-results"):
        if (reports / name).exists():
            print(f"  {reports / name}")
    return code


def build_html(results: Path, output: Path) -> None:
    """Allure Report 3 (npm `allure`), with history kept beside the report for trends."""
    allure = PROJECT_ROOT / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        found = shutil.which("allure")
        if found is None:
            log.error("Allure Report 3 not found: run `npm ci` in %s to build the HTML report", PROJECT_ROOT)
            return
        allure = Path(found)
    # A fresh folder each time: given a non-empty one, Allure 3 writes the new report into a subfolder
    # and leaves the old index.html in place (seen with allure 3.18). Trends come from history.jsonl.
    shutil.rmtree(output, ignore_errors=True)
    command = [str(allure), "generate", str(results), "--config", str(PROJECT_ROOT / "allurerc.mjs"),
               "--output", str(output)]
    # Run from the reports folder: allurerc.mjs's relative historyPath then keeps history beside the report.
    output.parent.mkdir(parents=True, exist_ok=True)
    if subprocess.call(command, cwd=output.parent, stdout=subprocess.DEVNULL) != 0:
        log.error("allure generate failed: %s", " ".join(command))


def entry_point() -> None:
    """Console script: a closed pipe (`cmg-harness matrix | head`) is not an error."""
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)


if __name__ == "__main__":
    entry_point()
