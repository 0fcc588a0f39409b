"""The containers' liveness probe against a real HTTPS server on 127.0.0.1 with a test-CA certificate."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.net.tls import TestPKI
from harness.service.healthcheck import HEALTH_PATH, Unhealthy, main, probe

HEALTHY = {"service": "site", "status": "healthy", "uptime_s": 1.5}


class Answers:
    """What the server answers next: a status and a body."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.reset()

    def reset(self) -> None:
        self.status = 200
        self.body = json.dumps(HEALTHY).encode()
        self.paths.clear()


def _handler(answers: Answers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answers.paths.append(self.path)
            self.send_response(answers.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answers.body)))
            self.end_headers()
            self.wfile.write(answers.body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: TestPKI) -> Iterator[tuple[int, Answers]]:
    answers = Answers()
    cert = pki.issue_server_cert("site", ["cm01.corp.contoso.example", "127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert_path, cert.key_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answers))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], answers
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def answers(server: tuple[int, Answers]) -> Answers:
    answers = server[1]
    answers.reset()  # a healthy answer for every test
    return answers


@pytest.fixture
def port(server: tuple[int, Answers], answers: Answers) -> int:
    return server[0]


def test_a_healthy_service_is_described_and_checked_against_the_ca(port: int, pki: TestPKI,
                                                                   answers: Answers) -> None:
    assert probe(port, str(pki.ca_cert_path)) == f"site on 127.0.0.1:{port} is healthy (up 1.5 s)"
    assert answers.paths == [HEALTH_PATH]


def test_without_a_ca_the_certificate_is_not_checked(port: int) -> None:
    assert "is healthy" in probe(port)


def test_a_certificate_from_another_ca_is_unhealthy(port: int, tmp_path: Path) -> None:
    other = TestPKI.create(tmp_path / "other", ca_name="Another CA")
    with pytest.raises(Unhealthy, match="CERTIFICATE_VERIFY_FAILED"):
        probe(port, str(other.ca_cert_path))


def test_a_missing_ca_file_is_unhealthy_not_a_crash(port: int, tmp_path: Path) -> None:
    with pytest.raises(Unhealthy, match="No such file"):
        probe(port, str(tmp_path / "absent.pem"))


@pytest.mark.parametrize(("status", "body"), [
    (503, json.dumps(HEALTHY)),
    (200, json.dumps({**HEALTHY, "status": "starting"})),
    (200, "<html>not JSON</html>"),
    (200, json.dumps(["healthy"])),
])
def test_anything_but_a_healthy_answer_is_unhealthy(port: int, answers: Answers, status: int, body: str) -> None:
    answers.status, answers.body = status, body.encode()
    with pytest.raises(Unhealthy, match=f"answered {status}"):
        probe(port)


def test_nobody_listening_is_unhealthy_within_the_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    with pytest.raises(Unhealthy, match=f"127.0.0.1:{free}"):
        probe(free, timeout=0.5)


def test_a_silent_listener_times_out() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # accepts the TCP connection, never the TLS handshake
        with pytest.raises(Unhealthy, match="timed out"):
            probe(sock.getsockname()[1], timeout=0.2)


@pytest.mark.parametrize("value", [None, "", "http", "-1"])
def test_without_a_port_the_probe_says_so(value: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {} if value is None else {"HARNESS_PORT": value}
    assert main(environ) == 1
    assert "HARNESS_PORT must be the service's port" in capsys.readouterr().err


def test_main_exits_0_when_healthy_and_1_when_not(port: int, pki: TestPKI, answers: Answers,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"HARNESS_PORT": str(port), "HARNESS_CA": str(pki.ca_cert_path)}
    assert main(environ) == 0
    assert "site on 127.0.0.1" in capsys.readouterr().out
    answers.status = 500
    assert main(environ) == 1
    assert capsys.readouterr().err.startswith("unhealthy: 127.0.0.1")


def test_runs_as_a_module_as_docker_runs_it(port: int, pki: TestPKI) -> None:
    env = {"HARNESS_PORT": str(port), "HARNESS_CA": str(pki.ca_cert_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "harness.service.healthcheck"], env=env, capture_output=True,
                          text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"site on 127.0.0.1:{port} is healthy (up 1.5 s)")
