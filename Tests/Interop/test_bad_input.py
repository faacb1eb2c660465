"""The bad-input suite (issue 5): hostile or broken inputs over real sockets against `hub serve`.

Each case sends its input on a connection of its own, asserts the documented answer (HTTP status
and body, Engine.IO error code, WebSocket close code and reason, CONNECT_ERROR payload), and then
checks that two well-behaved python-socketio clients connected alongside the whole time (one
polling-only, one WebSocket) still get an acknowledgement. Docs/reliability.md ("Bad-input suite")
has the same table; `python Tests/Interop/test_bad_input.py` prints it as Markdown.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

import pytest

from hubsupport import HubClient, jwt
from rawwire import (BINARY, CLOSE, CONTINUATION, PING, TEXT, connection_closed, engine_error,
                     engine_websocket, exchange, frame, handshake, poll_target, request)

MAX = 1_000_000  # maxHttpBufferSize in `hub serve` (the default)
USER = jwt("bad-input", ["user"])
PLACEHOLDER = '{"_placeholder":true,"num":%d}'


@dataclass
class Case:
    id: str
    input: str   # what is sent (for the table)
    answer: str  # the documented answer (for the table)
    run: Callable[[str], None]


CASES: list[Case] = []


def case(id: str, input: str, answer: str):
    def register(run):
        CASES.append(Case(id, input, answer, run))
        return run
    return register


# --------------------------------------------------------------------------------------------------
# helpers

def assert_engine_error(response, code: int) -> None:
    assert (response.status, response.json()) == (403 if code == 4 else 400, engine_error(code)), response


def raw_answer(url: str, data: bytes):
    """Sends raw bytes, reads one response, and checks that the server closed the connection."""
    response, sock = exchange(url, data)
    try:
        closed = connection_closed(sock)
    finally:
        sock.close()
    return response, closed


def assert_malformed_http(url: str, data: bytes) -> None:
    response, closed = raw_answer(url, data)
    assert response is not None and response.status == 400, response
    assert response.json() == {"error": "bad request", "message": "malformed HTTP request"}
    assert closed


def chat_socket(url: str):
    """A raw WebSocket-only Engine.IO session with /chat joined."""
    ws = engine_websocket(url)
    ws.send_text("40/chat," + json.dumps({"token": USER}))
    reply = ws.recv_text()
    assert reply.startswith('40/chat,{"sid":'), reply
    return ws


def assert_closed_with(ws, code: int, reason: str = "") -> None:
    try:
        assert ws.close_reason() == (code, reason)
    finally:
        ws.close()


def assert_connect_error(url: str, namespace: str, auth: str, expected: dict) -> None:
    ws = engine_websocket(url)
    try:
        ws.send_text(f"40{namespace},{auth}")
        reply = ws.recv_text()
        prefix = f"44{namespace},"
        assert reply.startswith(prefix), reply
        assert json.loads(reply[len(prefix):]) == expected
    finally:
        ws.close()


def api(url: str, method: str, path: str, body: bytes = b"", headers: dict | None = None, token: str | None = None):
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if body:
        headers.setdefault("Content-Type", "application/json")
    return request(url, method, path, body, headers)


def assert_api_error(response, status: int, error: str, message: str) -> None:
    assert response.status == status, response
    assert response.headers.get("content-type", "").startswith("application/json")
    assert response.json() == {"error": error, "message": message}


# --------------------------------------------------------------------------------------------------
# Engine.IO handshake and sessions (polling)

@case("eio-missing", "`GET /socket.io/?transport=polling` (no `EIO`)", "400 `{code:5}` Unsupported protocol version")
def _(url):
    assert_engine_error(request(url, "GET", "/socket.io/?transport=polling"), 5)


@case("eio-3", "`GET ?EIO=3&transport=polling`", "400 `{code:5}` Unsupported protocol version")
def _(url):
    assert_engine_error(request(url, "GET", "/socket.io/?EIO=3&transport=polling"), 5)


@case("transport-missing", "`GET ?EIO=4` (no `transport`)", "400 `{code:0}` Transport unknown")
def _(url):
    assert_engine_error(request(url, "GET", "/socket.io/?EIO=4"), 0)


@case("transport-unknown", "`GET ?EIO=4&transport=flashsocket`", "400 `{code:0}` Transport unknown")
def _(url):
    assert_engine_error(request(url, "GET", "/socket.io/?EIO=4&transport=flashsocket"), 0)


@case("handshake-post", "`POST ?EIO=4&transport=polling` (handshake that is not GET)", "400 `{code:2}` Bad handshake method")
def _(url):
    assert_engine_error(request(url, "POST", poll_target(), b"40"), 2)


@case("handshake-put", "`PUT ?EIO=4&transport=polling`", "400 `{code:2}` Bad handshake method")
def _(url):
    assert_engine_error(request(url, "PUT", poll_target(), b"40"), 2)


@case("wrong-method-sid", "`DELETE` and `PUT` with a valid sid", "400 `{code:3}` Bad request; the session stays open")
def _(url):
    sid = handshake(url)
    assert_engine_error(request(url, "DELETE", poll_target(sid)), 3)
    assert_engine_error(request(url, "PUT", poll_target(sid), b"40"), 3)
    assert request(url, "POST", poll_target(sid), b"1").body == b"ok"  # still open: close it


@case("sid-unknown", "`GET` and `POST` with a sid nobody was given", "400 `{code:1}` Session ID unknown")
def _(url):
    assert_engine_error(request(url, "GET", poll_target("AAAAAAAAAAAAAAAAAAAAAA")), 1)
    assert_engine_error(request(url, "POST", poll_target("AAAAAAAAAAAAAAAAAAAAAA"), b"40"), 1)


@case("sid-garbage", "sid of 300 `%` escapes and bytes ≥ 0x80", "400 `{code:1}` Session ID unknown")
def _(url):
    assert_engine_error(request(url, "GET", poll_target("%FF%00" * 50)), 1)


@case("sid-reused", "`GET`/`POST` with the sid of a session closed by its close packet `1`", "400 `{code:1}` Session ID unknown")
def _(url):
    sid = handshake(url)
    assert request(url, "POST", poll_target(sid), b"1").body == b"ok"
    assert_engine_error(request(url, "GET", poll_target(sid)), 1)
    assert_engine_error(request(url, "POST", poll_target(sid), b"40"), 1)


@case("overlapping-polls", "a second `GET` while one is parked", "400 `{code:3}`; the parked GET gets the close packet `1`; the sid is then unknown")
def _(url):
    sid = handshake(url)
    host_port = url.split("//", 1)[1]
    parked, sock = None, None
    raw = f"GET {poll_target(sid)} HTTP/1.1\r\nHost: {host_port}\r\n\r\n".encode()
    import socket as _socket
    from rawwire import _address, _read_response
    sock = _socket.create_connection(_address(url), timeout=5)
    try:
        sock.sendall(raw)
        time.sleep(0.3)  # let it park
        assert_engine_error(request(url, "GET", poll_target(sid)), 3)
        parked, _ = _read_response(sock)
        assert parked is not None and (parked.status, parked.body) == (200, b"1"), parked
    finally:
        sock.close()
    assert_engine_error(request(url, "GET", poll_target(sid)), 1)


@case("websocket-without-upgrade", "`GET ?transport=websocket` without `Upgrade` headers", "400 `{code:3}` Bad request")
def _(url):
    assert_engine_error(request(url, "GET", poll_target(None, "websocket")), 3)


@case("polling-after-upgrade", "polling `GET` for a session that upgraded to WebSocket", "400 `{code:3}` Bad request; the WebSocket keeps working")
def _(url):
    sid = handshake(url)
    ws = engine_websocket(url, sid)
    try:
        ws.send_text("2probe")
        assert ws.recv_text() == "3probe"
        ws.send_text("5")
        time.sleep(0.2)
        assert_engine_error(request(url, "GET", poll_target(sid)), 3)
        ws.send_text("40/chat," + json.dumps({"token": USER}))
        assert ws.recv_text().startswith('40/chat,{"sid":')
    finally:
        ws.close()


@case("second-websocket-same-sid", "a second WebSocket upgrade with the sid of an upgraded session",
      "101, then at once close 1000 with no frame before it (socket.io: 400 code 3); the first WebSocket keeps working")
def _(url):
    from rawwire import RawWebSocket
    sid = handshake(url)
    ws = engine_websocket(url, sid)
    try:
        ws.send_text("2probe")
        assert ws.recv_text() == "3probe"
        ws.send_text("5")
        time.sleep(0.2)
        second = RawWebSocket(url, poll_target(sid, "websocket"))
        try:
            assert second.upgraded, second.response
            assert second.recv_frame() == (CLOSE, b"\x03\xe8")
        finally:
            second.close()
        ws.send_text("40/chat," + json.dumps({"token": USER}))
        assert ws.recv_text().startswith('40/chat,{"sid":')
    finally:
        ws.close()


# --------------------------------------------------------------------------------------------------
# Engine.IO packets (polling bodies)

def _bad_post(body: bytes):
    def run(url):
        sid = handshake(url)
        assert_engine_error(request(url, "POST", poll_target(sid), body), 3)
        assert_engine_error(request(url, "GET", poll_target(sid)), 1)  # the session is closed
    return run


for _id, _body, _what in [
    ("post-unknown-type", b"9", "`9` (unknown packet type)"),
    ("post-empty", b"", "an empty body"),
    ("post-invalid-utf8", b"4\xff\xfe", "`4` + bytes FF FE (not UTF-8)"),
    ("post-trailing-separator", b"4a\x1e", "`4a` + 0x1E (empty last packet)"),
    ("post-bad-base64", b"b!!!!", "`b!!!!` (binary packet, not base64)"),
]:
    case(_id, f"polling `POST` body {_what}", "400 `{code:3}` Bad request; the session is closed (next GET: code 1)")(_bad_post(_body))


@case("post-oversize", f"`POST` with `Content-Length: {MAX + 1}` (1000 bytes sent)", "413 before the body is read; the session is closed")
def _(url):
    sid = handshake(url)
    head = f"POST {poll_target(sid)} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX + 1}\r\n\r\n".encode()
    response, closed = raw_answer(url, head + b"4" * 1000)
    assert response is not None and response.status == 413, response
    assert response.json() == {"error": "payload too large", "message": "the request body is larger than this endpoint accepts"}
    assert closed
    assert_engine_error(request(url, "GET", poll_target(sid)), 1)


@case("post-chunked-oversize", f"chunked `POST` whose chunks add up to {MAX + 16} bytes", "413; the session is closed")
def _(url):
    sid = handshake(url)
    head = f"POST {poll_target(sid)} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    body = f"{MAX:X}\r\n".encode() + b"4" * MAX + b"\r\n10\r\n" + b"4" * 16 + b"\r\n0\r\n\r\n"
    response, _ = raw_answer(url, head + body)
    assert response is not None and response.status == 413, response
    assert_engine_error(request(url, "GET", poll_target(sid)), 1)


# --------------------------------------------------------------------------------------------------
# Socket.IO packets (WebSocket text/binary frames on a session that joined /chat)

def _sio_closes(*messages):
    def run(url):
        ws = chat_socket(url)
        for message in messages:
            ws.send(message if isinstance(message, bytes) else frame(TEXT, message.encode()))
        assert_closed_with(ws, 1000)
    return run


for _id, _messages, _what in [
    ("sio-unknown-type", ["49"], "`49` (Socket.IO type 9)"),
    ("sio-empty", ["4"], "`4` (empty Socket.IO packet)"),
    ("eio-unknown-type-ws", ["9"], "`9` (Engine.IO type 9) in a text frame"),
    ("sio-event-object", ['42/chat,{}'], "`42/chat,{}` (event payload not an array)"),
    ("sio-ack-id-letters", ['42/chat,abc["x"]'], '`42/chat,abc["x"]` (ack id not digits)'),
    ("sio-ack-id-overflow", ['42/chat,99999999999999999999999["join_room",{}]'], "ack id 99999999999999999999999 (past 2^63)"),
    ("sio-deep-json", ["42/chat," + "[" * 200 + "]" * 200], "event nested 200 deep (`maxJSONDepth` 128)"),
    ("sio-reserved-event", ['42/chat,["connect"]'], '`42/chat,["connect"]` (reserved event name)'),
    ("sio-placeholder-past", ['451-/chat,["e",' + PLACEHOLDER % 5 + "]"], "binary event, 1 attachment, placeholder `num:5`"),
    ("sio-placeholder-negative", ['451-/chat,["e",' + PLACEHOLDER % -1 + "]"], "placeholder `num:-1`"),
    ("sio-unannounced-binary", [frame(BINARY, b"\x01\x02")], "a binary frame no packet announced"),
    ("sio-too-many-attachments", ['45101-/chat,["e"]'], "binary event announcing 101 attachments (`maxAttachments` 100)"),
    ("sio-text-instead-of-attachment", ['451-/chat,["e",' + PLACEHOLDER % 0 + "]", "42/chat,[\"x\"]"], "a text packet where an attachment is due"),
    ("sio-namespace-not-joined", ['42/admin,["x"]'], "event for `/admin`, not joined"),
    ("sio-disconnect-payload", ['41/chat,{"a":1}'], "DISCONNECT with a payload"),
]:
    case(_id, _what, "connection closed: close frame 1000 (socket.io closes too)")(_sio_closes(*_messages))


@case("sio-connect-bad-auth", "`40/monitoring,[1]` (CONNECT auth not an object), as first packet", "connection closed: close frame 1000")
def _(url):
    ws = engine_websocket(url)
    ws.send_text("40/monitoring,[1]")
    assert_closed_with(ws, 1000)


@case("sio-ack-unknown-id", '`43/chat,12345["x"]` (ack for an id never sent)', "ignored; the connection stays and answers the next call")
def _(url):
    ws = chat_socket(url)
    try:
        ws.send_text('43/chat,12345["x"]')
        ws.send_text('42/chat,7["join_room",{"room":"after-stray-ack"}]')
        assert ws.recv_text() == '43/chat,7[{"ok":true,"room":"after-stray-ack"}]'
    finally:
        ws.close()


@case("sio-connect-twice", "CONNECT to `/chat` twice on one connection", "the second CONNECT is answered with the same sid (no second socket)")
def _(url):
    ws = engine_websocket(url)
    try:
        auth = json.dumps({"token": USER})
        ws.send_text("40/chat," + auth)
        first = json.loads(ws.recv_text()[len("40/chat,"):])
        ws.send_text("40/chat," + auth)
        second = json.loads(ws.recv_text()[len("40/chat,"):])
        assert second == {"sid": first["sid"]}
    finally:
        ws.close()


@case("sio-unknown-namespace", "`40/nope,`", '`44/nope,{"message":"Invalid namespace"}`; the connection stays')
def _(url):
    assert_connect_error(url, "/nope", "", {"message": "Invalid namespace"})


@case("sio-polling-bad-packet", 'polling `POST` `42/chat,{}` on a session that joined /chat', "`200 ok`; the session is closed (the next GET gets the close packet or code 1)")
def _(url):
    sid = handshake(url)
    assert request(url, "POST", poll_target(sid), ("40/chat," + json.dumps({"token": USER})).encode()).body == b"ok"
    assert request(url, "GET", poll_target(sid)).body.startswith(b'40/chat,{"sid"')
    assert request(url, "POST", poll_target(sid), b"42/chat,{}").body == b"ok"
    response = request(url, "GET", poll_target(sid))
    assert (response.status, response.body) == (200, b"1") or response.json() == engine_error(1), response


# --------------------------------------------------------------------------------------------------
# WebSocket frames

@case("ws-invalid-utf8", "text frame `42/chat,[\"a` + FF + `\"]`", 'close 1007 "invalid UTF-8"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(TEXT, b'42/chat,["a\xff"]'))
    assert_closed_with(ws, 1007, "invalid UTF-8")


@case("ws-oversize-frame", f"text frame header announcing {MAX + 1} bytes", 'close 1009 "message too large", before the payload is read')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(TEXT, b"4", declared_length=MAX + 1))
    assert_closed_with(ws, 1009, "message too large")


@case("ws-fragments-past-cap", "text frame + 3 continuation frames of 400 000 bytes each", 'close 1009 "message too large"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(TEXT, b'42/chat,["', fin=False))
    for _ in range(3):
        ws.send(frame(CONTINUATION, b"a" * 400_000, fin=False))
    assert_closed_with(ws, 1009, "message too large")


@case("ws-reserved-opcode", "frame with opcode 3", 'close 1002 "protocol error"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(0x3, b"x"))
    assert_closed_with(ws, 1002, "protocol error")


@case("ws-orphan-continuation", "continuation frame with no message started", 'close 1002 "protocol error"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(CONTINUATION, b"x"))
    assert_closed_with(ws, 1002, "protocol error")


@case("ws-text-inside-fragmented", "a new text frame before the fragmented one finished", 'close 1002 "protocol error"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(TEXT, b"4", fin=False) + frame(TEXT, b"2"))
    assert_closed_with(ws, 1002, "protocol error")


@case("ws-unmasked", "an unmasked client frame (`3` in a text frame)", 'close 1002 "protocol error" (RFC 6455 §5.1)')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(TEXT, b"3", mask=False))
    assert_closed_with(ws, 1002, "protocol error")


@case("ws-rsv1", "text frame with RSV1 set (no extension negotiated)", 'close 1002 "protocol error"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(TEXT, b"3", rsv=4))
    assert_closed_with(ws, 1002, "protocol error")


@case("ws-big-ping", "ping frame with 126 bytes (control frames ≤ 125)", 'close 1002 "protocol error"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(PING, b"x" * 126))
    assert_closed_with(ws, 1002, "protocol error")


@case("ws-fragmented-ping", "ping frame without FIN", 'close 1002 "protocol error"')
def _(url):
    ws = chat_socket(url)
    ws.send(frame(PING, b"x", fin=False))
    assert_closed_with(ws, 1002, "protocol error")


# --------------------------------------------------------------------------------------------------
# HTTP request smuggling shapes and malformed requests (answered by the HTTP layer, then closed)

for _id, _raw, _what in [
    ("http-cl-te", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "`Content-Length` and `Transfer-Encoding: chunked` together"),
    ("http-two-cl", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}xyz", "two different `Content-Length`s"),
    ("http-two-cl-equal", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "two equal `Content-Length`s"),
    ("http-obs-fold", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "obs-fold (header continued on an indented line)"),
    ("http-bad-chunk-size", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", "chunk size `zz`"),
    ("http-te-unknown", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", "`Transfer-Encoding: xchunked`"),
    ("http-te-chunked-not-last", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", "`Transfer-Encoding: chunked, identity`"),
    ("http-negative-cl", b"POST /api/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "`Content-Length: -1`"),
    ("http-space-before-colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n", "`Content-Length : 0` (space before the colon)"),
    ("http-bare-lf", b"GET /healthz HTTP/1.1\nHost: x\n\n", "lines ended by bare LF"),
    ("http-nul-in-header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", "NUL byte in a header value"),
    ("http-garbage", b"HELLO\r\n\r\n", "a request line that is not HTTP"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2 prior-knowledge preface"),
]:
    case(_id, _what, '400 `{"error":"bad request","message":"malformed HTTP request"}`, connection closed')(
        (lambda data: lambda url: assert_malformed_http(url, data))(_raw))


# --------------------------------------------------------------------------------------------------
# HTTP API and tokens

ADMIN = lambda **kw: jwt("bad-input-api", ["admin"], **kw)  # noqa: E731
BROADCAST = b'{"room":"r","event":"task_updated","data":{}}'


@case("api-unknown-route", "`GET /api/nope` (admin token)", '404 `{"error":"not found","message":"no such API route"}`')
def _(url):
    assert_api_error(api(url, "GET", "/api/nope", token=ADMIN()), 404, "not found", "no such API route")


@case("api-unknown-route-anonymous", "`GET /api/nope` without a token", "404, the same (a missing route is not hidden behind 401)")
def _(url):
    assert_api_error(api(url, "GET", "/api/nope"), 404, "not found", "no such API route")


@case("http-unknown-path", "`GET /nope`", '404 `{"error":"not found","message":"no such route"}`')
def _(url):
    assert_api_error(api(url, "GET", "/nope"), 404, "not found", "no such route")


@case("api-wrong-method", "`DELETE /api/websocket/status`", '405 `{"error":"method not allowed","message":"DELETE is not allowed here (allowed: GET)"}`')
def _(url):
    response = api(url, "DELETE", "/api/websocket/status", token=ADMIN())
    assert_api_error(response, 405, "method not allowed", "DELETE is not allowed here (allowed: GET)")
    assert response.headers.get("allow") == "GET"


for _id, _token, _message, _what in [
    ("jwt-alg-none", jwt("x", ["admin"], alg="none", sign=False), "unsupported algorithm", "JWT with `alg: none`, no signature"),
    ("jwt-wrong-signature", jwt("x", ["admin"], secret="another-secret"), "invalid signature", "JWT signed with another secret"),
    ("jwt-expired", jwt("x", ["admin"], exp=time.time() - 60), "token expired", "JWT expired a minute ago"),
    ("jwt-garbage", "a.b.c", "malformed token", "`Bearer a.b.c`"),
]:
    case(_id, f"`GET /api/websocket/status` with a {_what}", f'401 `{{"error":"unauthorized","message":"{_message}"}}`')(
        (lambda token, message: lambda url: assert_api_error(
            api(url, "GET", "/api/websocket/status", token=token), 401, "unauthorized", message))(_token, _message))


@case("jwt-missing-role-api", "`POST /api/broadcast` with a `monitor` token", '403 `{"error":"forbidden","message":"role service or admin required"}`')
def _(url):
    response = api(url, "POST", "/api/broadcast", BROADCAST, token=jwt("x", ["monitor"]))
    assert_api_error(response, 403, "forbidden", "role service or admin required")


@case("jwt-alg-none-connect", "CONNECT `/chat` with an `alg: none` JWT", '`44/chat,{"message":"unauthorized","data":{"reason":"unsupported algorithm"}}`')
def _(url):
    token = jwt("x", ["user"], alg="none", sign=False)
    assert_connect_error(url, "/chat", json.dumps({"token": token}),
                         {"message": "unauthorized", "data": {"reason": "unsupported algorithm"}})


@case("jwt-wrong-signature-connect", "CONNECT `/chat` with a JWT signed with another secret", "CONNECT_ERROR unauthorized / invalid signature")
def _(url):
    assert_connect_error(url, "/chat", json.dumps({"token": jwt("x", ["user"], secret="nope")}),
                         {"message": "unauthorized", "data": {"reason": "invalid signature"}})


@case("jwt-expired-connect", "CONNECT `/chat` with an expired JWT", "CONNECT_ERROR unauthorized / token expired")
def _(url):
    assert_connect_error(url, "/chat", json.dumps({"token": jwt("x", ["user"], exp=time.time() - 60)}),
                         {"message": "unauthorized", "data": {"reason": "token expired"}})


@case("jwt-missing-role-connect", "CONNECT `/admin` with a `user` JWT", '`44/admin,{"message":"forbidden","data":{"reason":"role required for /admin"}}`')
def _(url):
    assert_connect_error(url, "/admin", json.dumps({"token": jwt("x", ["user"])}),
                         {"message": "forbidden", "data": {"reason": "role required for /admin"}})


@case("api-bad-json", "`POST /api/broadcast` body `{nope`", '400 `{"error":"bad request","message":"invalid JSON: unexpected character at byte 1"}`')
def _(url):
    response = api(url, "POST", "/api/broadcast", b"{nope", token=jwt("x", ["service"]))
    assert_api_error(response, 400, "bad request", "invalid JSON: unexpected character at byte 1")


@case("api-deep-json", "`POST /api/broadcast` with `data` nested 10 000 deep", '400 `…"invalid JSON: nested too deeply"`')
def _(url):
    body = b'{"room":"r","event":"task_updated","data":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    response = api(url, "POST", "/api/broadcast", body, token=jwt("x", ["service"]))
    assert_api_error(response, 400, "bad request", "invalid JSON: nested too deeply")


@case("api-invalid-utf8", "`POST /api/broadcast` with byte FF inside a JSON string", '400 `…"invalid JSON: invalid UTF-8"`')
def _(url):
    body = b'{"room":"r\xff","event":"task_updated","data":{}}'
    response = api(url, "POST", "/api/broadcast", body, token=jwt("x", ["service"]))
    assert_api_error(response, 400, "bad request", "invalid JSON: invalid UTF-8")


@case("api-oversize", "`POST /api/broadcast` with 1 100 000 bytes", '413 `{"error":"payload too large",…}`')
def _(url):
    response = api(url, "POST", "/api/broadcast", b"x" * 1_100_000, token=jwt("x", ["service"]))
    assert_api_error(response, 413, "payload too large", "the request body is larger than this endpoint accepts")


@case("api-bad-since", "`GET /api/history?…&since=abc`", '400 `…"since must be a non-negative integer offset"`')
def _(url):
    response = api(url, "GET", "/api/history?namespace=/monitoring&room=r&since=abc", token=ADMIN())
    assert_api_error(response, 400, "bad request", "since must be a non-negative integer offset")


# --------------------------------------------------------------------------------------------------
# the test

BYSTANDER_ROOM = "bad-input-bystanders"


@pytest.fixture(scope="module")
def bystanders(hubd):
    """Two well-behaved clients connected for the whole module: polling-only and WebSocket."""
    clients = [HubClient(hubd.url, "/chat", transports) for transports in (["polling"], ["websocket"])]
    for client in clients:
        client.connect(token=jwt("bystander", ["user"]))
    yield clients
    for client in clients:
        client.close()


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input(hubd, bystanders, bad):
    hubd.check_alive()
    bad.run(hubd.url)
    hubd.check_alive()
    for client in bystanders:
        assert client.sio.connected
        assert client.call("join_room", {"room": BYSTANDER_ROOM}) == {"ok": True, "room": BYSTANDER_ROOM}


def test_case_count():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


if __name__ == "__main__":  # the table for Docs/reliability.md
    print("| # | case | input | documented answer |")
    print("|---|---|---|---|")
    for number, c in enumerate(CASES, 1):
        print(f"| {number} | `{c.id}` | {c.input} | {c.answer} |")
