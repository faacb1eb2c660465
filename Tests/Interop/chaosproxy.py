"""A chaos TCP proxy for the interop tests (test_chaos.py): loopback only, bounded, self-stopping.

`ChaosProxy(upstream_port)` listens on a free 127.0.0.1 port and forwards every accepted connection
to 127.0.0.1:<upstream_port>. Each connection is cut at a random moment between `cut_min` and
`cut_max` seconds after it was accepted: both sockets are closed abruptly (SO_LINGER 0, so a TCP
reset on both sides, as a dropped network would look to the client; no Socket.IO DISCONNECT, no
Engine.IO close). `calm()` stops cutting new connections; `cut_all()` cuts every open connection at
once. A connection whose upstream refuses (a killed node) is closed at once: the client's connect
fails, as it would against the node itself.

Bounds: the proxy stops by itself `lifetime` seconds after it was started, after `max_connections`
accepted connections, or on `close()`; every thread's loop waits at most 0.2 s per turn and ends at
the connection's cut or the proxy's end.
"""

from __future__ import annotations

import random
import selectors
import socket
import struct
import threading
import time

_LINGER_RESET = struct.pack("ii", 1, 0)


def _abort(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class ChaosProxy:
    def __init__(self, upstream_port: int, cut_min: float = 0.3, cut_max: float = 1.5,
                 lifetime: float = 120.0, max_connections: int = 100_000, seed: int | None = None):
        self.upstream_port = upstream_port
        self.cut_min, self.cut_max = cut_min, cut_max
        self.lifetime = lifetime
        self.max_connections = max_connections
        self.random = random.Random(seed)
        self.cutting = True
        self.accepted = 0
        self.cuts = 0             # connections cut by the timer or cut_all()
        self.refused = 0          # upstream refused (node down)
        self._lock = threading.Lock()
        self._open: dict[int, tuple[socket.socket, socket.socket, threading.Event]] = {}
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._accept_loop, name=f"chaosproxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calm(self) -> None:
        """No cut for connections accepted from now on (open ones still end at their cut time)."""
        self.cutting = False

    def cut_all(self) -> int:
        """Cut every open connection now; returns how many."""
        with self._lock:
            entries = list(self._open.values())
        for _, _, cut in entries:
            cut.set()
        return len(entries)

    def close(self) -> None:
        self._stop.set()
        self.cut_all()
        self._thread.join(timeout=5)
        try:
            self._listener.close()
        except OSError:
            pass

    # -- internals -------------------------------------------------------------------------------------

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _accept_loop(self) -> None:
        while self._running() and self.accepted < self.max_connections:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.accepted += 1
            threading.Thread(target=self._serve, args=(client, self.accepted), daemon=True).start()
        self._stop.set()

    def _serve(self, client: socket.socket, number: int) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
        except OSError:
            with self._lock:
                self.refused += 1
            _abort(client)
            return
        for s in (client, upstream):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cut = threading.Event()
        with self._lock:
            self._open[number] = (client, upstream, cut)
        if self.cutting:
            cut_at = time.monotonic() + self.random.uniform(self.cut_min, self.cut_max)
        else:
            cut_at = self._deadline
        peer = {client: upstream, upstream: client}
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)
        timed_cut = False
        try:
            while self._running() and not cut.is_set():
                now = time.monotonic()
                if now >= cut_at:
                    timed_cut = True
                    break
                for key, _ in selector.select(timeout=min(0.2, cut_at - now)):
                    data = key.fileobj.recv(65536)
                    if not data:  # one side closed: close both (the other end sees it as a drop)
                        return
                    target = peer[key.fileobj]
                    target.setblocking(True)
                    target.settimeout(2)
                    target.sendall(data)
                    target.setblocking(False)
            if timed_cut or cut.is_set():
                with self._lock:
                    self.cuts += 1
        except OSError:
            pass
        finally:
            selector.close()
            with self._lock:
                self._open.pop(number, None)
            _abort(client)
            _abort(upstream)
