"""Token lifetime (issue 11, point 2) against `hub serve` (`hublimits`: tokenExpiryWarning 1.5 s):
a Socket.IO socket, a /stream connection and an /sse stream whose token expires are told and
closed; a refresh in place (`refresh_token`, `/stream` `auth` again) keeps them open."""

from __future__ import annotations

import json
import queue
import time

import requests
import socketio
import websocket  # websocket-client

from hubsupport import jwt
from support import WAIT


def _socket(hub, token: str):
    events: queue.Queue = queue.Queue()
    sio = socketio.Client(reconnection=False)
    for name in ("token_expiring", "token_expired"):
        sio.on(name, (lambda name: lambda *args: events.put((name, args[0])))(name), namespace="/chat")
    sio.on("disconnect", lambda *args: events.put(("disconnect", args)), namespace="/chat")
    sio.connect(hub.url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"], wait_timeout=WAIT)
    return sio, events


def _next(events: queue.Queue, timeout: float = 2 * WAIT):
    return events.get(timeout=timeout)


def test_a_socket_is_warned_then_closed_when_its_token_expires(hublimits):
    sio, events = _socket(hublimits, jwt("short-lived", ["user"], exp=time.time() + 3))
    try:
        name, data = _next(events)
        assert name == "token_expiring" and data["in_ms"] <= 1500 and data["expires_at"].endswith("Z"), (name, data)
        name, data = _next(events)
        assert name == "token_expired" and data["expires_at"].endswith("Z"), (name, data)
        assert _next(events)[0] == "disconnect"
    finally:
        sio.disconnect()
    metrics = requests.get(hublimits.url + "/metrics", timeout=WAIT).text
    assert "hub_tokens_expired_total" in metrics


def test_a_socket_refreshes_its_token_in_place(hublimits):
    sio, events = _socket(hublimits, jwt("refresher", ["user"], exp=time.time() + 3))
    try:
        assert sio.call("join_room", {"room": "kept"}, namespace="/chat", timeout=WAIT)["ok"]
        fresh = jwt("refresher", ["user"], exp=time.time() + 3600)
        reply = sio.call("refresh_token", {"token": fresh}, namespace="/chat", timeout=WAIT)
        assert reply["ok"] is True and reply["expires_at"].endswith("Z"), reply
        other = sio.call("refresh_token", {"token": jwt("someone-else", ["user"])}, namespace="/chat", timeout=WAIT)
        assert other == {"ok": False, "error": "token belongs to another user"}
        expired = sio.call("refresh_token", {"token": jwt("refresher", ["user"], exp=time.time() - 10)}, namespace="/chat", timeout=WAIT)
        assert expired == {"ok": False, "error": "token expired"}
        time.sleep(4)  # past the first token's expiry
        assert events.empty(), events.get()
        assert sio.connected
        reply = sio.call("chat_message", {"room": "kept", "message": "still here"}, namespace="/chat", timeout=WAIT)
        assert reply["ok"] is True
    finally:
        sio.disconnect()


def _stream(hub):
    return websocket.create_connection(hub.url.replace("http://", "ws://") + "/stream", timeout=2 * WAIT)


def _recv_json(ws):
    opcode, payload = ws.recv_data(control_frame=True)
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        return {"close": int.from_bytes(payload[:2], "big"), "reason": payload[2:].decode()}
    return json.loads(payload)


def test_a_stream_connection_is_warned_then_closed_with_1008(hublimits):
    ws = _stream(hublimits)
    try:
        ws.send(json.dumps({"action": "auth", "token": jwt("stream-short", ["user"], exp=time.time() + 3)}))
        assert _recv_json(ws)["type"] == "authenticated"
        warning = _recv_json(ws)
        assert warning["type"] == "token_expiring" and warning["in_ms"] <= 1500, warning
        assert _recv_json(ws) == {"type": "token_expired"}
        assert _recv_json(ws) == {"close": 1008, "reason": "token expired"}
    finally:
        ws.close()


def test_a_stream_connection_refreshes_with_auth_again(hublimits):
    ws = _stream(hublimits)
    try:
        ws.send(json.dumps({"action": "auth", "token": jwt("stream-refresher", ["user"], exp=time.time() + 3)}))
        assert _recv_json(ws)["type"] == "authenticated"
        ws.send(json.dumps({"action": "subscribe", "room": "r-refresh"}))
        assert _recv_json(ws)["type"] == "subscribed"
        ws.send(json.dumps({"action": "auth", "token": jwt("stream-refresher", ["user"], exp=time.time() + 3600), "ref": 7}))
        answer = _recv_json(ws)
        assert answer["type"] == "authenticated" and answer["refreshed"] is True and answer["ref"] == 7, answer
        time.sleep(3.5)
        ws.send(json.dumps({"action": "ping"}))
        assert _recv_json(ws) == {"type": "pong"}, "still open, no token_expired"
    finally:
        ws.close()


def test_an_sse_stream_ends_when_its_token_expires(hublimits):
    token = jwt("sse-short", ["user"], exp=time.time() + 2)
    with requests.get(hublimits.url + "/sse/r-sse-expiry", params={"token": token}, stream=True, timeout=2 * WAIT) as response:
        assert response.status_code == 200
        text = b""
        for chunk in response.iter_content(chunk_size=None):
            text += chunk
        assert b"event: token_expired\ndata: {\"expires_at\":" in text, text
