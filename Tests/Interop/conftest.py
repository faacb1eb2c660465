"""Interop tests: python-socketio's real client against `hub conformance`.

The session-scoped `hub` fixture starts the built hub binary as `hub conformance --port <free port>`
on 127.0.0.1 and stops it at the end. Environment:

  HUB_BIN   path of the hub executable (default: <repo>/.build/debug/hub; `make interop` sets it)
  HUB_URL   test a server that is already running instead (e.g. http://127.0.0.1:3000); nothing is
            started then

Every test that takes `transport` runs three times: polling only, websocket only, and upgrade
(default transports; the client must end up on websocket).

Waiting is always explicit (queues with timeouts of a few seconds); nothing asserts on speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from browser import start_chromium
from hubsupport import SECRET
from support import (
    DEFAULT_HUB_BIN,
    STARTUP,
    TRANSPORT_MODES,
    Client,
    Hub,
    accepts,
    free_port,
)

_hub_logs: list[Path] = []  # for the terminal summary


def _start_hub(args: list[str], env: dict[str, str] | None = None):
    """Starts the hub binary with `args` (and `env` added to the environment) on a free port;
    yields a Hub handle; stops it after."""
    binary = Path(os.environ.get("HUB_BIN", DEFAULT_HUB_BIN))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.exit(
            f"hub binary not found at {binary}: build it first with `swift build --product hub` "
            "(or run `make interop`, which does), or set HUB_BIN / HUB_URL",
            returncode=3,
        )

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="hub-interop-", suffix=".log")[1])
    _hub_logs.append(log)
    command = [str(binary), *args, "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **env} if env else None)
    server = Hub(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + STARTUP
        while not accepts(port):
            if proc.poll() is not None:
                pytest.exit(
                    f"`{' '.join(command)}` exited with code {proc.returncode} "
                    f"before accepting connections; its output:\n{server.log_tail()}",
                    returncode=3,
                )
            if time.monotonic() > deadline:
                pytest.exit(
                    f"`{' '.join(command)}` did not accept connections on "
                    f"127.0.0.1:{port} within {STARTUP:.0f} s; its output:\n{server.log_tail()}",
                    returncode=3,
                )
            time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="session")
def hub():
    """`hub conformance`: the protocol behaviour of the official test suites."""
    external = os.environ.get("HUB_URL")
    if external:
        yield Hub(external.rstrip("/"), None, None)
        return
    # A relaxed heartbeat (the official suites' 300/200 ms is tested by them): a loaded CI machine
    # must not turn a late ping into a dropped client here.
    yield from _start_hub(["conformance", "--ping-interval", "2000", "--ping-timeout", "5000"])


@pytest.fixture(scope="session")
def hubd():
    """`hub serve` with a JWT secret (hubsupport.SECRET) and a short heartbeat: the product."""
    yield from _start_hub(
        ["serve", "--jwt-secret", SECRET, "--ping-interval", "1000", "--ping-timeout", "2000", "--history-size", "50"]
    )


@pytest.fixture(scope="session")
def hubd_stream_ping():
    """`hub serve` (JWT secret hubsupport.SECRET) whose /stream heartbeat is short: a ping every
    300 ms, 1 s to answer (HUB_STREAM_PING_INTERVAL / HUB_STREAM_PING_TIMEOUT)."""
    yield from _start_hub(
        ["serve", "--jwt-secret", SECRET],
        env={"HUB_STREAM_PING_INTERVAL": "300", "HUB_STREAM_PING_TIMEOUT": "1000"},
    )


@pytest.fixture(scope="session")
def hubevents():
    """`hub serve` with the event space configured as a deployment would (test_hub_events.py): users
    may also emit agent_request and cancel_request, message.delta is ephemeral, and CORS allows
    http://dashboard.test."""
    yield from _start_hub(
        ["serve", "--jwt-secret", SECRET, "--ping-interval", "1000", "--ping-timeout", "2000",
         "--user-event", "chat_message", "--user-event", "agent_request", "--user-event", "cancel_request",
         "--ephemeral-event", "message.delta", "--cors-origin", "http://dashboard.test"]
    )


@pytest.fixture(scope="session")
def hublimits(tmp_path_factory):
    """`hub serve` with small per-client bounds (test_hub_limits.py, test_hub_tokens.py): 3 rooms
    per socket, room histories dropped after 1 s without an event, 5 events/s (burst 10) per socket,
    2 publish requests/s (burst 3) per token subject, token expiry announced 1.5 s ahead
    (`tokenExpiryWarning` has no flag: a configuration file)."""
    config = tmp_path_factory.mktemp("hublimits") / "hub.json"
    config.write_text(json.dumps({"tokenExpiryWarning": 1500}))
    yield from _start_hub(
        ["serve", "--config", str(config), "--jwt-secret", SECRET, "--ping-interval", "1000", "--ping-timeout", "2000",
         "--max-rooms-per-socket", "3", "--history-ttl", "1000",
         "--event-rate-limit", "5", "--event-rate-burst", "10", "--api-rate-limit", "2", "--api-rate-burst", "3"]
    )


@pytest.fixture(scope="session")
def hubsec():
    """`hub serve` logging at trace level with a CORS allowlist (http://allowed.test): the security
    review tests (test_security_review.py) read its log file."""
    yield from _start_hub(
        ["serve", "--jwt-secret", SECRET, "--log-level", "trace", "--cors-origin", "http://allowed.test"]
    )


@pytest.fixture(scope="session")
def hubsse(tmp_path_factory):
    """`hub serve` for the /sse tests: a JWT secret (hubsupport.SECRET) and a 300 ms SSE heartbeat
    (`sseHeartbeatInterval` has no flag: it comes from a configuration file)."""
    config = tmp_path_factory.mktemp("hubsse") / "hub.json"
    config.write_text(json.dumps({"sseHeartbeatInterval": 300}))
    yield from _start_hub(["serve", "--config", str(config), "--jwt-secret", SECRET, "--history-size", "50"])


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (browser.py), shared by every browser test."""
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def idp():
    """An identity provider: two RSA keys (kid idp-1, idp-2) of which the JWKS serves only idp-1 at
    first, and an EC key without kid for the PEM hub (idpsupport.py)."""
    from idpsupport import JWKSServer, Key

    first, second, pem_key = Key("idp-1"), Key("idp-2"), Key(None, kind="EC")
    server = JWKSServer([first])
    server.first, server.second, server.pem_key = first, second, pem_key
    yield server
    server.close()


@pytest.fixture(scope="session")
def hubidp(idp):
    """`hub serve` verifying identity-provider tokens from idp's JWKS URL, with issuer and audience
    checks, and the HS256 secret as well."""
    from idpsupport import AUDIENCE, ISSUER

    started = time.monotonic()
    for server in _start_hub(["serve", "--jwks-url", idp.url, "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
                              "--jwt-secret", SECRET, "--ping-interval", "1000", "--ping-timeout", "2000"]):
        server.started = started
        yield server


@pytest.fixture(scope="session")
def hubpem(idp):
    """`hub serve` with only a PEM public key file (idp.pem_key, ES256): not dev mode."""
    path = Path(tempfile.mkstemp(prefix="hub-idp-", suffix=".pem")[1])
    path.write_text(idp.pem_key.pem)
    try:
        yield from _start_hub(["serve", "--jwt-public-key-file", str(path), "--ping-interval", "1000", "--ping-timeout", "2000"])
    finally:
        path.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """On failure, show what the hub printed (it is started with stdout+stderr to a log file)."""
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if not failed:
        return
    for log in _hub_logs:
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()
            terminalreporter.section(f"hub output (last 200 of {len(lines)} lines, {log})")
            terminalreporter.write_line("\n".join(lines[-200:]) or "(empty)")


# --------------------------------------------------------------------------------------------------
# fixtures for the tests


@pytest.fixture(params=list(TRANSPORT_MODES), ids=list(TRANSPORT_MODES))
def transport(request) -> str:
    return request.param


@pytest.fixture
def make_client(hub, transport):
    """`make_client()` returns a new, not yet connected Client for the current transport mode;
    every client made is closed at the end of the test."""
    hub.check_alive()
    clients: list[Client] = []

    def make() -> Client:
        c = Client(hub, TRANSPORT_MODES[transport])
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def client(make_client) -> Client:
    """A client connected to "/" (with "message-back", "room-message" and "ack-result" recorded)."""
    c = make_client()
    c.record("message-back").record("room-message").record("ack-result")
    return c.connect()
