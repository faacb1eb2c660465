"""The /stream gateway with a plain WebSocket client (websocket-client) against `hub serve`.

Events are published through the HTTP API (POST /api/broadcast, role service). Every test uses its
own room, since the server (and its history) is shared by the session. Waits are bounded by WAIT
and only guard against hangs.
"""

from __future__ import annotations

import json
import time
import uuid

import requests
import websocket  # websocket-client

import rawwire
from hubsupport import HubClient, jwt
from support import WAIT


def ws_url(hubd, path: str = "/stream") -> str:
    return hubd.url.replace("http://", "ws://", 1) + path


def connect(hubd, path: str = "/stream") -> websocket.WebSocket:
    return websocket.create_connection(ws_url(hubd, path), timeout=WAIT)


def room() -> str:
    return "stream-" + uuid.uuid4().hex[:12]


def recv(ws: websocket.WebSocket):
    """The next message: a dict for a text frame, ("close", code, reason) for a close frame."""
    opcode, frame = ws.recv_data_frame()
    if opcode == websocket.ABNF.OPCODE_TEXT:
        return json.loads(frame.data.decode())
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        data = frame.data
        code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        return ("close", code, data[2:].decode())
    raise AssertionError(f"unexpected frame: opcode {opcode}, {frame.data!r}")


def send(ws: websocket.WebSocket, message: dict) -> None:
    ws.send(json.dumps(message))


def authenticated(hubd, *roles: str, sub: str = "stream-test", rooms=None) -> websocket.WebSocket:
    ws = connect(hubd)
    send(ws, {"action": "auth", "token": jwt(sub, list(roles), rooms=rooms)})
    assert recv(ws) == {"type": "authenticated", "user": sub, "roles": sorted(roles)}
    return ws


def broadcast(hubd, namespace: str, room_name: str, event: str, data: dict) -> None:
    body = {"namespace": namespace, "room": room_name, "event": event, "data": data}
    headers = {"Authorization": "Bearer " + jwt("publisher", ["service"])}
    response = requests.post(hubd.url + "/api/broadcast", json=body, headers=headers, timeout=WAIT)
    assert response.status_code == 200, response.text


def test_plain_get_is_426(hubd):
    response = requests.get(hubd.url + "/stream", timeout=WAIT)
    assert response.status_code == 426
    assert response.headers["Upgrade"] == "websocket"
    assert response.json()["error"] == "upgrade required"


def test_auth_message_subscribe_and_live_event(hubd):
    name = room()
    ws = authenticated(hubd, "monitor", sub="dash")
    try:
        send(ws, {"action": "subscribe", "namespace": "/monitoring", "room": name, "event_types": ["task_failed"]})
        assert recv(ws) == {"type": "subscribed", "namespace": "/monitoring", "room": name,
                            "event_types": ["task_failed"], "latest_offset": 0}
        broadcast(hubd, "/monitoring", name, "task_updated", {"task_id": "t1"})  # filtered out
        broadcast(hubd, "/monitoring", name, "task_failed", {"task_id": "t1", "error": "boom"})
        message = recv(ws)
        assert message["type"] == "event"
        event = message["event"]
        assert set(event) == {"id", "type", "room", "namespace", "data", "timestamp", "source", "offset"}
        assert (event["type"], event["room"], event["namespace"]) == ("task_failed", name, "/monitoring")
        assert event["data"] == {"task_id": "t1", "error": "boom"}
        assert event["source"] == "api:publisher"
        assert event["offset"] == 2
        send(ws, {"action": "ping"})
        assert recv(ws) == {"type": "pong"}
    finally:
        ws.close()


def test_query_token_and_path_room(hubd):
    name = room()
    ws = connect(hubd, f"/stream/{name}?token={jwt('uma', ['user'])}")
    try:
        assert recv(ws) == {"type": "authenticated", "user": "uma", "roles": ["user"]}
        assert recv(ws) == {"type": "subscribed", "namespace": "/", "room": name, "event_types": None, "latest_offset": 0}
        broadcast(hubd, "/", name, "chat_message", {"message": "hi"})
        message = recv(ws)
        assert message["event"]["namespace"] == "/" and message["event"]["data"] == {"message": "hi"}
    finally:
        ws.close()


def test_bad_token_closes_with_1008(hubd):
    ws = connect(hubd, "/stream?token=nope")
    try:
        assert recv(ws) == {"type": "error", "message": "unauthorized", "reason": "malformed token"}
        assert recv(ws) == ("close", 1008, "unauthorized")
    finally:
        ws.close()

    ws = connect(hubd)
    try:
        send(ws, {"action": "auth", "token": jwt("x", ["admin"], secret="another-secret-0123456789abcdef0123")})
        assert recv(ws) == {"type": "error", "message": "unauthorized", "reason": "invalid signature"}
        assert recv(ws) == ("close", 1008, "unauthorized")
    finally:
        ws.close()


def test_since_replays_then_live_without_duplicates(hubd):
    name = room()
    for n in range(3):
        broadcast(hubd, "/chat", name, "chat_message", {"n": n})
    ws = authenticated(hubd, "user")
    try:
        send(ws, {"action": "subscribe", "namespace": "/chat", "room": name, "since": 1})
        assert recv(ws)["latest_offset"] == 3
        replayed = [recv(ws)["event"] for _ in range(2)]
        assert [(e["offset"], e["data"]) for e in replayed] == [(2, {"n": 1}), (3, {"n": 2})]
        broadcast(hubd, "/chat", name, "chat_message", {"n": 3})
        assert recv(ws)["event"]["offset"] == 4
        send(ws, {"action": "ping"})
        assert recv(ws) == {"type": "pong"}  # nothing else (no duplicate) came in between
    finally:
        ws.close()


def test_grants_errors_and_unsubscribe(hubd):
    name = room()
    ws = authenticated(hubd, "user")
    try:
        send(ws, {"action": "subscribe", "namespace": "/monitoring", "room": name})
        assert recv(ws) == {"type": "error", "message": "forbidden", "reason": "role required for /monitoring",
                            "namespace": "/monitoring", "room": name}
        ws.send("not json")
        assert recv(ws) == {"type": "error", "message": "invalid JSON"}
        send(ws, {"action": "dance"})
        assert recv(ws) == {"type": "error", "message": "unknown action: dance"}
        ws.send_binary(b"\x00\x01")
        assert recv(ws) == {"type": "error", "message": "binary frames are not supported"}
        send(ws, {"action": "subscribe", "room": name})
        assert recv(ws)["type"] == "subscribed"
        send(ws, {"action": "unsubscribe", "room": name})
        assert recv(ws) == {"type": "unsubscribed", "namespace": "/", "room": name}
        broadcast(hubd, "/", name, "chat_message", {"late": True})
        send(ws, {"action": "ping"})
        assert recv(ws) == {"type": "pong"}  # the event after unsubscribe never came
    finally:
        ws.close()


def test_invalid_utf8_closes_with_1007(hubd):
    ws = authenticated(hubd, "user")
    try:
        ws.send_frame(websocket.ABNF.create_frame(b'{"action":"\xff"}', websocket.ABNF.OPCODE_TEXT))
        assert recv(ws) == ("close", 1007, "invalid UTF-8")
    finally:
        ws.close()


# --------------------------------------------------------------------------------------------------
# publish, every readable room, heartbeat, status


def admin_get(hub, path: str) -> requests.Response:
    headers = {"Authorization": "Bearer " + jwt("ops-admin", ["admin"])}
    response = requests.get(hub.url + path, headers=headers, timeout=WAIT)
    assert response.status_code == 200, response.text
    return response


def stream_status(hub) -> dict:
    return admin_get(hub, "/api/websocket/status").json()["stream"]


def metric(hub, name: str) -> float:
    for line in requests.get(hub.url + "/metrics", timeout=WAIT).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def eventually(check, timeout: float = WAIT):
    """Polls `check` until it returns a true value (the hub counts a close a moment after it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_publish_reaches_a_python_socketio_client_in_the_room(hubd):
    name = room()
    listener = HubClient(hubd.url, "/chat").connect(token=jwt("reader", ["user"]))
    ws = authenticated(hubd, "user", sub="writer")
    try:
        assert listener.call("join_room", {"room": name}) == {"ok": True, "room": name}
        # Not in the room yet: refused, the connection stays open.
        send(ws, {"action": "publish", "namespace": "/chat", "room": name, "event": "chat_message",
                  "data": {"message": "hi"}, "ref": "p1"})
        refused = recv(ws)
        assert (refused["type"], refused["message"], refused["ref"]) == ("error", "publish refused", "p1")
        send(ws, {"action": "subscribe", "namespace": "/chat", "room": name, "event_types": ["user_joined"]})
        assert recv(ws)["type"] == "subscribed"
        send(ws, {"action": "publish", "namespace": "/chat", "room": name, "event": "chat_message",
                  "data": {"message": "from the stream", "n": [1, 2]}, "ref": "p2"})
        answer = recv(ws)
        assert answer["type"] == "published" and answer["ref"] == "p2"
        assert answer["delivered"] == 1  # the socket; the stream's own subscription wants user_joined only
        data, meta, *_ = listener.next("chat_message")
        assert data == {"message": "from the stream", "n": [1, 2]}
        assert meta["id"] == answer["id"]
        assert (meta["room"], meta["namespace"], meta["source"]) == (name, "/chat", "stream:writer")
    finally:
        ws.close()
        listener.close()


def test_subscribe_without_room_receives_a_broadcast_by_type(hubd):
    # The acceptance test: a dashboard subscribes to every room it may read with an AG-UI
    # event name; a service POSTs that event to /api/broadcast into a room nobody named.
    name = room()
    ws = authenticated(hubd, "monitor", sub="dash")
    try:
        send(ws, {"action": "subscribe", "namespace": "/monitoring", "event_types": ["RUN_STARTED"], "ref": 1})
        assert recv(ws) == {"type": "subscribed", "namespace": "/monitoring", "room": None,
                            "event_types": ["RUN_STARTED"], "ref": 1}
        broadcast(hubd, "/monitoring", name, "task_failed", {"task_id": "t1"})  # not a wanted type
        broadcast(hubd, "/monitoring", name, "RUN_STARTED", {"threadId": "th-1", "runId": "run-1"})
        message = recv(ws)
        assert message["type"] == "event"
        event = message["event"]
        assert (event["type"], event["room"], event["namespace"]) == ("RUN_STARTED", name, "/monitoring")
        assert event["data"] == {"threadId": "th-1", "runId": "run-1"}
        assert event["source"] == "api:publisher"
        send(ws, {"type": "ping"})
        assert recv(ws) == {"type": "pong"}  # nothing else came in between
        send(ws, {"action": "subscribe", "namespace": "/monitoring", "since": 0})
        assert recv(ws) == {"type": "error",
                            "message": "invalid field: since must be absent without a room (offsets are per room)"}
    finally:
        ws.close()


def test_a_client_that_does_not_answer_pings_is_closed_and_leaves_the_status(hubd_stream_ping):
    hub = hubd_stream_ping
    name = room()
    raw = rawwire.RawWebSocket(hub.url, f"/stream?token={jwt('silent', ['user'])}")
    try:
        assert raw.upgraded, raw.response
        assert json.loads(raw.recv_text()) == {"type": "authenticated", "user": "silent", "roles": ["user"]}
        raw.send_text(json.dumps({"action": "subscribe", "room": name}))
        assert json.loads(raw.recv_text())["type"] == "subscribed"
        status = stream_status(hub)
        assert status["connections"] >= 1 and status["rooms"]["/"][name] == 1
        # rawwire never answers a WebSocket ping: the server gives up after the timeout.
        assert raw.close_reason(timeout=WAIT) == (1001, "ping timeout")
    finally:
        raw.close()
    assert eventually(lambda: name not in stream_status(hub)["rooms"].get("/", {}))
    assert eventually(lambda: stream_status(hub)["connections"] == 0)
    assert eventually(lambda: metric(hub, "hub_stream_connections") == 0)


def test_a_client_that_answers_pings_stays(hubd_stream_ping):
    # websocket-client answers pings while it reads.
    ws = authenticated(hubd_stream_ping, "user")
    try:
        deadline = time.monotonic() + 2.5  # several ping intervals and timeouts
        while time.monotonic() < deadline:
            ws.settimeout(0.1)
            try:
                ws.recv()
            except websocket.WebSocketTimeoutException:
                pass
        ws.settimeout(WAIT)
        send(ws, {"action": "ping", "ref": "still-here"})
        assert recv(ws) == {"type": "pong", "ref": "still-here"}
    finally:
        ws.close()


def test_status_and_metrics_show_stream_connections_and_subscriptions(hubd):
    name = room()
    a = authenticated(hubd, "monitor")
    b = authenticated(hubd, "user")
    try:
        send(a, {"action": "subscribe", "namespace": "/chat", "room": name})
        assert recv(a)["type"] == "subscribed"
        send(a, {"action": "subscribe", "namespace": "/monitoring"})
        assert recv(a)["type"] == "subscribed"
        send(b, {"action": "subscribe", "namespace": "/chat", "room": name})
        assert recv(b)["type"] == "subscribed"
        status = stream_status(hubd)
        assert set(status) == {"connections", "subscriptions", "rooms", "all_rooms"}
        assert status["rooms"]["/chat"][name] == 2
        assert status["all_rooms"]["/monitoring"] >= 1
        assert status["connections"] >= 2 and status["subscriptions"] >= 3
        assert metric(hubd, "hub_stream_connections") >= 2
        assert metric(hubd, "hub_stream_subscriptions") >= 3
    finally:
        a.close()
    try:
        assert eventually(lambda: stream_status(hubd)["rooms"].get("/chat", {}).get(name) == 1)
    finally:
        b.close()
    assert eventually(lambda: name not in stream_status(hubd)["rooms"].get("/chat", {}))
