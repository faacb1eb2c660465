"""Raw HTTP/1.1 and WebSocket (RFC 6455) over plain sockets, for the bad-input suite: nothing here
fixes up what a test sends (no header normalisation, frames built byte by byte), so malformed
requests and frames reach the hub exactly as written."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from support import WAIT


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False  # the server closed the connection after this response

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


def _read_response(sock: socket.socket, buffered: bytes = b"") -> tuple[Response | None, bytes]:
    """Reads one response (Content-Length or chunked or until close). None if the server closed
    the connection without answering."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    closed = False
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        body, rest = rest[:length], rest[length:]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += sock.recv(65536)
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                break
    elif status in (101, 204, 304):
        body = b""
    else:
        body = rest
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            body += chunk
        rest = b""
    if headers.get("connection", "").lower() == "close":
        closed = True
    return Response(status, headers, body, closed), rest


def connection_closed(sock: socket.socket, timeout: float = WAIT) -> bool:
    """Whether the peer closes the connection (EOF or reset) within `timeout`; bytes sent before the
    close are ignored."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def exchange(url: str, raw: bytes, timeout: float = WAIT) -> tuple[Response | None, socket.socket]:
    """Sends raw bytes on a new connection and reads one response; returns it (None when the server
    closed the connection without one) and the socket (the caller closes it)."""
    sock = socket.create_connection(_address(url), timeout=timeout)
    sock.sendall(raw)
    try:
        response, _ = _read_response(sock)
    except ConnectionResetError:
        response = None
    return response, sock


def request(url: str, method: str, target: str, body: bytes = b"", headers: dict | None = None,
            timeout: float = WAIT) -> Response:
    """One well-formed HTTP/1.1 request with `Connection: close`."""
    host, port = _address(url)
    all_headers = {"Host": f"{host}:{port}", "Connection": "close", **(headers or {})}
    if body or method in ("POST", "PUT"):
        all_headers.setdefault("Content-Length", str(len(body)))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items()) + "\r\n"
    response, sock = exchange(url, head.encode("latin-1") + body, timeout)
    sock.close()
    assert response is not None, f"{method} {target}: connection closed without a response"
    return response


# --------------------------------------------------------------------------------------------------
# Engine.IO over polling

EIO_PATH = "/socket.io/"


def handshake(url: str) -> str:
    """A polling handshake; returns the sid."""
    response = request(url, "GET", EIO_PATH + "?EIO=4&transport=polling")
    assert response.status == 200 and response.body.startswith(b"0"), response
    return json.loads(response.body[1:])["sid"]


def poll_target(sid: str | None = None, transport: str = "polling") -> str:
    return EIO_PATH + f"?EIO=4&transport={transport}" + (f"&sid={sid}" if sid else "")


def engine_error(code: int) -> dict:
    return {0: {"code": 0, "message": "Transport unknown"},
            1: {"code": 1, "message": "Session ID unknown"},
            2: {"code": 2, "message": "Bad handshake method"},
            3: {"code": 3, "message": "Bad request"},
            4: {"code": 4, "message": "Forbidden"},
            5: {"code": 5, "message": "Unsupported protocol version"}}[code]


# --------------------------------------------------------------------------------------------------
# WebSocket

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True, rsv: int = 0,
          declared_length: int | None = None) -> bytes:
    """One frame, byte by byte. `declared_length` writes a length other than the payload's."""
    length = len(payload) if declared_length is None else declared_length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([bit | length])
    elif length < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawWebSocket:
    """A WebSocket client that sends whatever frames it is given and reads frames as they come."""

    def __init__(self, url: str, target: str, headers: dict | None = None):
        self.sock = socket.create_connection(_address(url), timeout=WAIT)
        host, port = _address(url)
        key = base64.b64encode(os.urandom(16)).decode()
        all_headers = {"Host": f"{host}:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
                       "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13", **(headers or {})}
        head = f"GET {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items()) + "\r\n"
        self.sock.sendall(head.encode())
        self.response, self.buffer = _read_response(self.sock)

    @property
    def upgraded(self) -> bool:
        return self.response is not None and self.response.status == 101

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before reading everything; the close frame says why

    def send_text(self, text: str | bytes) -> None:
        self.send(frame(TEXT, text.encode() if isinstance(text, str) else text))

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_frame(self, timeout: float = WAIT) -> tuple[int, bytes]:
        self.sock.settimeout(timeout)
        b0, b1 = self._read(2)
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return b0 & 0x0F, self._read(length)

    def recv_text(self, timeout: float = WAIT) -> str:
        """The next text frame's text, skipping Engine.IO pings (answered) and noops."""
        while True:
            opcode, payload = self.recv_frame(timeout)
            if opcode == TEXT and payload == b"2":
                self.send_text("3")
                continue
            if opcode == PING:
                continue
            if opcode == CLOSE:
                raise AssertionError(f"closed: {close_code(payload)}")
            return payload.decode()

    def close_reason(self, timeout: float = WAIT) -> tuple[int | None, str] | None:
        """Reads until a close frame: its (code, reason), (None, "") for a close frame without a code,
        None when the TCP connection ended without a close frame."""
        try:
            while True:
                opcode, payload = self.recv_frame(timeout)
                if opcode == CLOSE:
                    return close_code(payload)
        except (EOFError, ConnectionResetError):
            return None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def close_code(payload: bytes) -> tuple[int | None, str]:
    if len(payload) < 2:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode(errors="replace")


def engine_websocket(url: str, sid: str | None = None, headers: dict | None = None) -> RawWebSocket:
    """A WebSocket-only Engine.IO session (after the open packet), or an upgrade candidate for `sid`."""
    ws = RawWebSocket(url, poll_target(sid, "websocket"), headers)
    assert ws.upgraded, ws.response
    if sid is None:
        opened = ws.recv_text()
        assert opened.startswith("0{"), opened
    return ws
