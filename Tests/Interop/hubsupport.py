"""Helpers for the hub interop tests: HS256 JWTs made here with Python's hmac (independently of the
hub's own issuer), and a small python-socketio client for the hub's namespaces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import time

import socketio

from support import QUIET, WAIT

SECRET = "interop-test-secret-0123456789abcdef"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub: str, roles: list[str], rooms: list[str] | None = None, exp: float | None = None,
        alg: str = "HS256", secret: str = SECRET, sign: bool = True, extra: dict | None = None) -> str:
    """A compact JWT; `exp` defaults to one hour from now; `extra` claims (iss, aud, …) are added."""
    header = {"alg": alg, "typ": "JWT"}
    claims: dict = {"sub": sub, "roles": roles, "exp": int(exp if exp is not None else time.time() + 3600)}
    if rooms is not None:
        claims["rooms"] = rooms
    claims.update(extra or {})
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    if not sign:
        return signing_input + "."
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


class HubClient:
    """A python-socketio client on one hub namespace, recording every event's arguments."""

    def __init__(self, url: str, namespace: str = "/", transports=None):
        self.url = url
        self.namespace = namespace
        self.transports = transports
        self.sio = socketio.Client(reconnection=False)
        self.events: dict[str, queue.Queue] = {}
        self.connect_error: queue.Queue = queue.Queue()
        self.connect_reply: dict | None = None
        self.sio.on("*", self._any, namespace=namespace)
        self.sio.on("connect_error", lambda data: self.connect_error.put(data), namespace=namespace)
        # python-socketio keeps only the sid of the CONNECT reply; recovery tests need its pid too.
        original = self.sio._handle_connect

        def handle_connect(ns, data):
            if ns == self.namespace:
                self.connect_reply = data
            return original(ns, data)

        self.sio._handle_connect = handle_connect

    def _any(self, event, *args):
        self.events.setdefault(event, queue.Queue()).put(args)

    def connect(self, token: str | None = None, auth: dict | None = None, headers: dict | None = None) -> "HubClient":
        payload = dict(auth or {})
        if token is not None:
            payload["token"] = token
        self.sio.connect(self.url, namespaces=[self.namespace], auth=payload, headers=headers or {},
                         transports=self.transports, wait_timeout=WAIT)
        return self

    def try_connect(self, token: str | None = None, auth: dict | None = None, headers: dict | None = None):
        """Connects and returns None, or returns the CONNECT_ERROR data the server refused with."""
        try:
            self.connect(token=token, auth=auth, headers=headers)
            return None
        except socketio.exceptions.ConnectionError:
            try:
                return self.connect_error.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError("connection refused without a connect_error")

    def call(self, event: str, *args):
        return self.sio.call(event, args[0] if len(args) == 1 else args, namespace=self.namespace, timeout=WAIT)

    def emit(self, event: str, data) -> None:
        self.sio.emit(event, data, namespace=self.namespace)

    def next(self, event: str, timeout: float = WAIT):
        try:
            return self.events.setdefault(event, queue.Queue()).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {event!r} on {self.namespace} within {timeout} s")

    def assert_nothing(self, event: str, wait: float = QUIET) -> None:
        try:
            got = self.events.setdefault(event, queue.Queue()).get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected {event!r} on {self.namespace}: {got!r}")

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass
