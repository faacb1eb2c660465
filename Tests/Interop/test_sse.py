"""The /sse gateway (Server-Sent Events) with a real SSE client (sseclient-py over requests)
against `hub serve` (the `hubsse` fixture: 300 ms heartbeat).

Events are published through the HTTP API (POST /api/broadcast, role service). Every test uses its
own room, since the server (and its history) is shared by the session. Reads are bounded by WAIT
(a read timeout on the socket; the heartbeat keeps a quiet stream from tripping it), and only guard
against hangs.
"""

from __future__ import annotations

import json
import time
import uuid

import requests
import sseclient

from hubsupport import jwt
from support import WAIT


def room() -> str:
    return "sse-" + uuid.uuid4().hex[:12]


def auth(*roles: str, sub: str = "sse-test", rooms=None) -> dict:
    return {"Authorization": "Bearer " + jwt(sub, list(roles), rooms=rooms)}


def open_stream(hub, path: str, headers: dict | None = None, **params) -> requests.Response:
    response = requests.get(hub.url + path, params=params, headers={"Accept": "text/event-stream", **(headers or {})},
                            stream=True, timeout=WAIT)
    return response


class Stream:
    """An open event stream: sseclient-py's events (comments and `retry:`-only blocks skipped)."""

    def __init__(self, response: requests.Response):
        assert response.status_code == 200, response.text
        self.response = response
        self.events = sseclient.SSEClient(response).events()

    def next(self):
        return next(self.events)

    def close(self) -> None:
        self.response.close()


def broadcast(hub, namespace: str, room_name: str, event: str, data: dict) -> dict:
    body = {"namespace": namespace, "room": room_name, "event": event, "data": data}
    response = requests.post(hub.url + "/api/broadcast", json=body, headers=auth("service", sub="publisher"), timeout=WAIT)
    assert response.status_code == 200, response.text
    return response.json()


def history_offsets(hub, namespace: str, room_name: str) -> list[int]:
    response = requests.get(hub.url + "/api/history", params={"namespace": namespace, "room": room_name},
                            headers=auth("service"), timeout=WAIT)
    assert response.status_code == 200, response.text
    return [event["offset"] for event in response.json()["events"]]


def status(hub) -> dict:
    response = requests.get(hub.url + "/api/websocket/status", headers=auth("admin"), timeout=WAIT)
    assert response.status_code == 200, response.text
    return response.json()


def metric(hub, name: str) -> float:
    text = requests.get(hub.url + "/metrics", timeout=WAIT).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def eventually(what: str, condition) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_api_broadcast_reaches_the_sse_client(hubsse):
    name = room()
    response = open_stream(hubsse, f"/sse/{name}", headers=auth("monitor", sub="dash"), namespace="/monitoring")
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    stream = Stream(response)
    try:
        payload = {"level": "warning", "message": "disk 91% full", "source": "node-3"}
        published = broadcast(hubsse, "/monitoring", name, "alert_created", payload)
        assert published["delivered"] == 1
        event = stream.next()
        assert event.event == "alert_created"
        data = json.loads(event.data)
        assert data["id"] == published["id"]
        assert data["type"] == "alert_created"
        assert data["namespace"] == "/monitoring" and data["room"] == name
        assert data["data"] == payload
        assert data["source"] == "api:publisher"
        assert event.id == str(data["offset"]) == str(history_offsets(hubsse, "/monitoring", name)[-1])
    finally:
        stream.close()


def test_the_query_token_and_an_ephemeral_event_without_id(hubsse):
    name = room()
    stream = Stream(open_stream(hubsse, f"/sse/{name}", token=jwt("u", ["user"])))
    try:
        broadcast(hubsse, "/", name, "typing_indicator", {"user": "ann", "typing": True})
        event = stream.next()
        assert event.event == "typing_indicator"
        assert event.id is None
        assert "offset" not in json.loads(event.data)
    finally:
        stream.close()


def test_types_filter_repeated_and_comma_separated(hubsse):
    name = room()
    stream = Stream(open_stream(hubsse, "/sse", headers=auth("service"), room=name, namespace="/monitoring",
                                types=["task_failed,task_completed", "alert_created"]))
    try:
        for event in ("task_started", "task_failed", "task_updated", "task_completed", "alert_created", "task_updated",
                      "task_failed"):
            broadcast(hubsse, "/monitoring", name, event, {"task_id": "t1"})
        received = [stream.next().event for _ in range(4)]
        assert received == ["task_failed", "task_completed", "alert_created", "task_failed"]
    finally:
        stream.close()


def test_last_event_id_replays_then_live_without_duplicates(hubsse):
    name = room()
    for n in range(1, 4):
        broadcast(hubsse, "/chat", name, "chat_message", {"n": n})
    offsets = history_offsets(hubsse, "/chat", name)
    assert len(offsets) == 3
    stream = Stream(open_stream(hubsse, f"/sse/{name}", headers={**auth("user"), "Last-Event-ID": str(offsets[0])},
                                namespace="/chat"))
    try:
        replayed = [stream.next() for _ in range(2)]
        assert [int(e.id) for e in replayed] == offsets[1:]
        assert [json.loads(e.data)["data"]["n"] for e in replayed] == [2, 3]
        broadcast(hubsse, "/chat", name, "chat_message", {"n": 4})
        live = stream.next()
        assert json.loads(live.data)["data"] == {"n": 4}
        assert int(live.id) == offsets[-1] + 1
        # Nothing twice: the next event is the next one published.
        broadcast(hubsse, "/chat", name, "chat_message", {"n": 5})
        assert json.loads(stream.next().data)["data"] == {"n": 5}
    finally:
        stream.close()

    # lastEventId in the query does the same (an EventSource cannot set the header on its first connect).
    by_query = Stream(open_stream(hubsse, f"/sse/{name}", headers=auth("user"), namespace="/chat",
                                  lastEventId=str(offsets[-1])))
    try:
        assert [json.loads(by_query.next().data)["data"]["n"] for _ in range(2)] == [4, 5]
    finally:
        by_query.close()


def test_heartbeat_comments_keep_a_quiet_stream_alive(hubsse):
    response = open_stream(hubsse, f"/sse/{room()}", headers=auth("user"))
    try:
        assert response.status_code == 200
        lines = response.iter_lines(decode_unicode=True)
        assert next(lines) == "retry: 2000"
        seen = [line for line, _ in zip(lines, range(6)) if line]
        assert seen.count(": ping") >= 2, seen
    finally:
        response.close()


def test_refusals_are_json(hubsse):
    name = room()
    missing = requests.get(hubsse.url + f"/sse/{name}", timeout=WAIT)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="hub"'
    assert missing.headers["Content-Type"] == "application/json"
    assert missing.json() == {"error": "unauthorized", "message": "missing token"}

    bad = requests.get(hubsse.url + f"/sse/{name}", params={"token": "not-a-token"}, timeout=WAIT)
    assert bad.status_code == 401 and bad.json()["message"] == "malformed token"
    assert "not-a-token" not in bad.text

    expired = requests.get(hubsse.url + f"/sse/{name}", headers={"Authorization": "Bearer " + jwt("u", ["user"], exp=1)},
                           timeout=WAIT)
    assert expired.status_code == 401 and expired.json()["message"] == "token expired"

    role = requests.get(hubsse.url + f"/sse/{name}", params={"namespace": "/monitoring"}, headers=auth("user"), timeout=WAIT)
    assert role.status_code == 403
    assert role.json() == {"error": "forbidden", "message": "role required for /monitoring"}
    grant = requests.get(hubsse.url + f"/sse/{name}", headers=auth("user", rooms=["elsewhere"]), timeout=WAIT)
    assert grant.status_code == 403 and grant.json()["message"] == "room not granted"

    for params, message in (
        ({"types": ""}, "types must be event type names, comma-separated or repeated, none empty"),
        ({"lastEventId": "x"}, "lastEventId must be a non-negative integer offset"),
        ({"namespace": "/nope"}, "namespace must be one of /, /chat, /monitoring, /admin"),
    ):
        response = requests.get(hubsse.url + f"/sse/{name}", params=params, headers=auth("user"), timeout=WAIT)
        assert response.status_code == 400, params
        assert response.json() == {"error": "bad request", "message": message}
    no_room = requests.get(hubsse.url + "/sse", headers=auth("user"), timeout=WAIT)
    assert no_room.status_code == 400 and no_room.json()["message"].startswith("room is required")

    post = requests.post(hubsse.url + f"/sse/{name}", headers=auth("user"), timeout=WAIT)
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET"
    assert post.json()["error"] == "method not allowed"


def test_streams_show_in_status_and_metrics_until_closed(hubsse):
    name = room()
    # Streams of earlier tests leave the counts a moment after their client closed them.
    eventually("earlier streams to close", lambda: metric(hubsse, "hub_sse_connections") == 0)
    before = 0
    stream = Stream(open_stream(hubsse, f"/sse/{name}", headers=auth("monitor"), namespace="/monitoring"))
    try:
        broadcast(hubsse, "/monitoring", name, "task_started", {"task_id": "t"})
        stream.next()  # the stream is up and subscribed
        report = status(hubsse)
        assert report["sse"]["rooms"]["/monitoring"][name] == 1
        assert report["sse"]["connections"] >= 1
        assert set(report["sse"]["rooms"]) == {"/", "/chat", "/monitoring", "/admin"}
        assert metric(hubsse, "hub_sse_connections") == before + 1
        assert metric(hubsse, "hub_sse_slow_consumer_closes_total") >= 0
    finally:
        stream.close()
    eventually("the stream to leave the status", lambda: name not in status(hubsse)["sse"]["rooms"]["/monitoring"])
    eventually("hub_sse_connections to drop", lambda: metric(hubsse, "hub_sse_connections") == before)


def test_connections_are_logged_without_the_token(hubsse):
    if hubsse.log is None:
        return  # HUB_URL: a server the tests did not start, whose log they cannot read
    name = room()
    token = jwt("log-user", ["user"])
    stream = Stream(open_stream(hubsse, f"/sse/{name}", token=token))
    broadcast(hubsse, "/", name, "chat_message", {"message": "hi"})
    stream.next()
    stream.close()

    def logged() -> list[str]:
        return [line for line in hubsse.log.read_text(errors="replace").splitlines() if f"room={name}" in line]

    eventually("the disconnect to be logged", lambda: any("sse disconnected" in line for line in logged()))
    connected = [line for line in logged() if "sse connected" in line]
    disconnected = [line for line in logged() if "sse disconnected" in line]
    assert len(connected) == 1 and len(disconnected) == 1, logged()
    for line in connected + disconnected:
        assert "user=log-user" in line and "namespace=/" in line and "remote=" in line and " info " in line, line
    assert "duration_ms=" in disconnected[0]
    assert token not in hubsse.log.read_text(errors="replace")


def test_sigterm_ends_open_streams_cleanly():
    """The graceful drain ends an open stream properly (the chunked body's end, then the close): the
    SSE client's iteration just stops, and the hub exits 0 well within shutdownTimeout."""
    import signal

    from test_drain import SHUTDOWN_TIMEOUT_MS, start_hub
    from support import free_port

    port = free_port()
    proc, log = start_hub(port)
    try:
        url = f"http://127.0.0.1:{port}"
        response = requests.get(url + "/sse/drain", params={"token": jwt("u", ["user"])}, stream=True, timeout=WAIT)
        assert response.status_code == 200
        events = sseclient.SSEClient(response).events()
        publisher = {"Authorization": "Bearer " + jwt("publisher", ["service"])}
        requests.post(url + "/api/broadcast", json={"room": "drain", "event": "chat_message", "data": {"n": 1}},
                      headers=publisher, timeout=WAIT).raise_for_status()
        assert json.loads(next(events).data)["data"] == {"n": 1}
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert list(events) == [], "the stream ended without another event"
        assert proc.wait(timeout=SHUTDOWN_TIMEOUT_MS / 1000 + 5) == 0, log.read_text(errors="replace")
        assert time.monotonic() - started < SHUTDOWN_TIMEOUT_MS / 1000, "the stream did not hold up the drain"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
