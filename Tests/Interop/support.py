"""Helpers shared by the interop tests: the Hub handle and a recording python-socketio client."""

from __future__ import annotations

import queue
import socket
import threading
import time
import subprocess
from pathlib import Path

import pytest
import socketio

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HUB_BIN = REPO_ROOT / ".build" / "debug" / "hub"

#: how long to wait for something that should happen (generous: CI machines are slow sometimes)
WAIT = 5.0
#: how long to keep listening for something that must NOT happen
QUIET = 0.75
#: how long the hub may take to accept connections after it was started
STARTUP = 30.0

TRANSPORT_MODES = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": None,  # python-socketio's default: polling first, then upgrade to websocket
}

# --------------------------------------------------------------------------------------------------
# the server


class Hub:
    def __init__(self, url: str, proc: subprocess.Popen | None, log: Path | None):
        self.url = url
        self.proc = proc
        self.log = log

    def log_tail(self, lines: int = 200) -> str:
        if self.log is None or not self.log.exists():
            return "(no log: server not started by the tests)"
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(empty)"

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(
                f"the hub process exited (code {self.proc.returncode}); its output:\n"
                + self.log_tail(),
                pytrace=False,
            )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------------
# the client


class Client:
    """A python-socketio `socketio.Client` plus per-(namespace, event) queues of received arguments.

    python-socketio runs every incoming event handler in its own thread, so handlers only put the
    arguments on a queue and the test takes them off with a timeout.
    """

    def __init__(self, hub: Hub, transports):
        self.hub = hub
        self.transports = transports
        self.sio = socketio.Client(reconnection=False, request_timeout=WAIT)
        self._queues: dict[tuple[str, str], queue.Queue] = {}
        self._lock = threading.Lock()

    # -- recording ---------------------------------------------------------------------------------
    def _queue(self, event: str, namespace: str) -> queue.Queue:
        with self._lock:
            return self._queues.setdefault((namespace, event), queue.Queue())

    def record(self, event: str, namespace: str = "/") -> "Client":
        """Put the arguments of every `event` received on `namespace` on a queue."""
        q = self._queue(event, namespace)
        self.sio.on(event, lambda *args: q.put(args), namespace=namespace)
        return self

    def answer(self, event: str, reply, namespace: str = "/") -> "Client":
        """Handle `event` by recording its arguments and returning `reply(*args)` (the ack values:
        a tuple is sent as several arguments, None as none)."""
        q = self._queue(event, namespace)

        def handler(*args):
            q.put(args)
            return reply(*args)

        self.sio.on(event, handler, namespace=namespace)
        return self

    def next(self, event: str, namespace: str = "/", timeout: float = WAIT) -> tuple:
        """The arguments of the next `event` received on `namespace` (fails after `timeout`)."""
        try:
            return self._queue(event, namespace).get(timeout=timeout)
        except queue.Empty:
            pass
        self.hub.check_alive()
        pytest.fail(
            f"no {event!r} event on namespace {namespace!r} within {timeout} s "
            f"(transports={self.transports or 'default'})",
            pytrace=False,
        )

    def assert_nothing(self, event: str, namespace: str = "/", wait: float = QUIET) -> None:
        """Listen for `wait` seconds and fail if `event` arrives (or had already arrived)."""
        try:
            got = self._queue(event, namespace).get(timeout=wait)
        except queue.Empty:
            return
        pytest.fail(f"unexpected {event!r} on namespace {namespace!r}: {got!r}", pytrace=False)

    # -- connection --------------------------------------------------------------------------------
    def connect(self, namespaces=("/",), auth=None) -> "Client":
        for ns in namespaces:
            self.record("auth", ns)
            self.record("connect_error", ns)
            self.record("disconnect", ns)
        self.sio.connect(
            self.hub.url,
            namespaces=list(namespaces),
            auth=auth,
            transports=self.transports,
            wait_timeout=WAIT,
        )
        if self.transports is None:
            self.wait_for_transport("websocket")
        return self

    def wait_for_transport(self, name: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while self.sio.transport() != name and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.sio.transport() == name, (
            f"expected the client to be on {name!r} (after the upgrade), "
            f"still on {self.sio.transport()!r}"
        )

    def call(self, event: str, *args, namespace: str = "/", timeout: float = WAIT):
        """Emit with an ack and return what the server acked (python-socketio: None for no
        arguments, the value for one, a tuple for several)."""
        try:
            return self.sio.call(event, _data(args), namespace=namespace, timeout=timeout)
        except socketio.exceptions.TimeoutError:
            pass
        self.hub.check_alive()
        pytest.fail(
            f"no ack for {event!r} within {timeout} s (transports={self.transports or 'default'})",
            pytrace=False,
        )

    def emit(self, event: str, *args, namespace: str = "/") -> None:
        self.sio.emit(event, _data(args), namespace=namespace)

    def close(self) -> None:
        try:
            if self.sio.connected:
                self.sio.disconnect()
            else:
                self.sio.eio.disconnect(abort=True)
        except Exception:  # teardown must not hide the test's own outcome
            pass


def _data(args: tuple):
    """python-socketio sends a tuple as several arguments; no arguments is data=None."""
    if not args:
        return None
    return tuple(args)


def acked(args: tuple):
    """What `socketio.Client.call` returns when the server acks with `args`."""
    if len(args) == 0:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)
