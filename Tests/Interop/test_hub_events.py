"""The open event space and what surrounds it (issue 10, points 1-3, 6 and 7), against `hub serve`
with python-socketio, plain HTTP and the hub's log: any valid event name published by a service
reaches Socket.IO clients; presence and reserved names are the hub's own; every emit that asks for
an ack gets one; data-only delivery for one-parameter handlers; configurable user and ephemeral
events; CORS on the API and same-origin WebSockets; the status for monitors; /health; the history
type filter; the connection log."""

from __future__ import annotations

import queue
import re
import time

import pytest
import requests
import socketio

from hubsupport import HubClient, jwt
from support import QUIET, TRANSPORT_MODES, WAIT

AG_UI = ["RUN_STARTED", "TEXT_MESSAGE_CONTENT", "TOOL_CALL_START", "EXECUTION_STARTED", "GOAL_PROGRESS",
         "task_paused", "state.patch", "message.delta"]


def bearer(token: str) -> dict:
    return {"Authorization": "Bearer " + token}


def post(hub, path: str, body: dict, token: str) -> requests.Response:
    return requests.post(hub.url + path, json=body, headers=bearer(token), timeout=WAIT)


@pytest.fixture
def clients(hubevents):
    made: list[HubClient] = []

    def make(namespace="/", roles=("user",), sub="u", rooms=None, transports=None, auth=None) -> HubClient:
        hubevents.check_alive()
        client = HubClient(hubevents.url, namespace, transports)
        made.append(client)
        return client.connect(token=jwt(sub, list(roles), rooms=rooms), auth=auth)

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize("mode", list(TRANSPORT_MODES))
def test_any_event_name_posted_by_a_service_reaches_socket_io_clients(hubevents, clients, mode):
    watcher = clients("/monitoring", ["monitor"], sub="watcher", transports=TRANSPORT_MODES[mode])
    room = f"agui-{mode}"
    assert watcher.call("join_room", {"room": room}) == {"ok": True, "room": room}
    service = jwt("agent-svc", ["service"])
    for name in AG_UI:
        data = {"threadId": "t-1", "runId": "r-1", "name": name, "delta": "héllo"}
        reply = post(hubevents, "/api/broadcast", {"namespace": "/monitoring", "room": room, "event": name, "data": data}, service)
        assert reply.status_code == 200, reply.text
        assert reply.json()["delivered"] == 1
        got, meta, *offset = watcher.next(name)
        assert got == data
        assert meta["room"] == room and meta["source"] == "api:agent-svc"
        # message.delta is configured ephemeral here: no history offset in meta, nothing kept. The last
        # argument is Socket.IO's recovery offset, on every broadcast.
        assert ("offset" in meta) == (name != "message.delta"), (name, meta)
        assert len(offset) == 1 and isinstance(offset[0], str)
    history = requests.get(hubevents.url + "/api/history", params={"namespace": "/monitoring", "room": room},
                           headers=bearer(service), timeout=WAIT).json()
    # The watcher's user_joined made no history (presence does not create one); the events did.
    assert [e["type"] for e in history["events"]] == [n for n in AG_UI if n != "message.delta"]


def test_presence_and_reserved_names_are_refused_everywhere(hubevents, clients):
    admin = jwt("root", ["admin"])
    for name in ["user_left", "user_joined", "connect", "disconnect", "connect_error", "disconnecting",
                 "newListener", "removeListener"]:
        reply = post(hubevents, "/api/broadcast", {"room": "r", "event": name, "data": {"user": "bob", "room": "r"}}, admin)
        assert reply.status_code == 400, (name, reply.text)
        assert reply.json()["message"] == "event: reserved event name"
    socket = clients("/", ["admin"], sub="root")
    assert socket.call("join_room", {"room": "r-forge"})["ok"]
    assert socket.call("user_left", {"room": "r-forge", "user": "bob"}) == {"ok": False, "error": "reserved event name"}
    for bad in ["", "x" * 129, "bad\nname"]:
        reply = post(hubevents, "/api/broadcast", {"room": "r", "event": bad, "data": {}}, admin)
        assert reply.status_code == 400, (bad, reply.text)


def test_every_emit_that_asks_for_an_ack_gets_one(hubevents, clients):
    user = clients("/chat", ["user"], sub="ann")
    assert user.call("join_room", {"room": "r-ack"})["ok"]
    assert user.call("RUN_STARTED", {"room": "r-ack"}) == {"ok": False, "error": "role required to publish RUN_STARTED"}
    assert user.call("no_such_thing", {"room": "r-ack"}) == {"ok": False, "error": "role required to publish no_such_thing"}
    assert user.call("chat_message", "not an object") == {"ok": False, "error": "data must be an object"}
    assert user.call("chat_message", {"message": "no room"}) == {"ok": False, "error": "room required"}
    assert user.call("chat_message", {"room": "elsewhere"}) == {"ok": False, "error": "join the room first"}
    reply = user.call("chat_message", {"room": "r-ack", "message": "hi"})
    assert reply["ok"] is True and reply["delivered"] == 1
    # Refusals are counted by reason (no ack: counted too).
    user.emit("still_unknown", {"room": "r-ack"})
    deadline = time.monotonic() + WAIT
    while True:
        metrics = requests.get(hubevents.url + "/metrics", timeout=WAIT).text
        counts = {m.group(1): float(m.group(2)) for m in re.finditer(r'^hub_events_refused_total\{reason="(\w+)"\} (\S+)$', metrics, re.M)}
        if counts.get("role_required", 0) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert counts["role_required"] >= 3 and counts["invalid_arguments"] >= 2 and counts["not_in_room"] >= 1, counts


def test_configured_user_events_reach_the_room(hubevents, clients):
    person = clients("/chat", ["user"], sub="ann")
    agent = clients("/chat", ["service"], sub="agent")
    for client in (person, agent):
        assert client.call("join_room", {"room": "r-agent"})["ok"]
    request = {"room": "r-agent", "task": "summarise", "input": {"text": "…"}}
    reply = person.call("agent_request", request)
    assert reply["ok"] is True and reply["delivered"] == 2
    data, meta, _ = agent.next("agent_request")
    assert data == request and meta["source"] == "socket:ann"
    assert person.call("cancel_request", {"room": "r-agent", "task_id": "t1"})["ok"] is True
    assert agent.next("cancel_request")[0] == {"room": "r-agent", "task_id": "t1"}
    # typing_indicator is no longer a user event on this hub.
    assert person.call("typing_indicator", {"room": "r-agent"}) == {"ok": False, "error": "role required to publish typing_indicator"}


@pytest.mark.parametrize("mode", list(TRANSPORT_MODES))
def test_a_one_parameter_handler_receives_every_event_with_meta_false(hubevents, mode):
    """A client written for Flask-SocketIO: handlers take one argument. With `auth: {meta: false}`
    it gets `data` only (no meta, no offset), for broadcasts to rooms and namespaces alike."""
    received: queue.Queue = queue.Queue()
    errors: list = []
    sio = socketio.Client(reconnection=False)

    def on_alert(data):  # exactly one parameter
        received.put(("alert_created", data))

    def on_chat(data):
        received.put(("chat_message", data))

    sio.on("alert_created", on_alert, namespace="/monitoring")
    sio.on("user_joined", lambda data: received.put(("user_joined", data)), namespace="/monitoring")
    sio.on("RUN_STARTED", lambda data: received.put(("RUN_STARTED", data)), namespace="/monitoring")
    try:
        sio.connect(hubevents.url, namespaces=["/monitoring"], transports=TRANSPORT_MODES[mode], wait_timeout=WAIT,
                    auth={"token": jwt("legacy", ["monitor"]), "meta": False})
        assert sio.call("join_room", {"room": "ops-legacy"}, namespace="/monitoring", timeout=WAIT) == {"ok": True, "room": "ops-legacy"}
        admin = jwt("root", ["admin"])
        alert = {"level": "warning", "message": "disk 91% full", "source": "node-3"}
        assert post(hubevents, "/api/alerts", alert, admin).status_code == 200
        assert received.get(timeout=WAIT) == ("alert_created", alert)
        run = {"threadId": "t", "runId": "r"}
        assert post(hubevents, "/api/broadcast", {"namespace": "/monitoring", "room": "ops-legacy", "event": "RUN_STARTED",
                                                  "data": run}, admin).status_code == 200
        assert received.get(timeout=WAIT) == ("RUN_STARTED", run)
        other = HubClient(hubevents.url, "/monitoring").connect(token=jwt("other", ["monitor"]))
        try:
            assert other.call("join_room", {"room": "ops-legacy"})["ok"]
            assert received.get(timeout=WAIT) == ("user_joined", {"user": "other", "room": "ops-legacy"})
        finally:
            other.close()
    finally:
        sio.disconnect()
    assert not errors


def test_meta_false_in_the_query_for_clients_without_an_auth_payload(hubevents):
    received: queue.Queue = queue.Queue()
    sio = socketio.Client(reconnection=False)
    sio.on("alert_created", lambda data: received.put(data), namespace="/monitoring")
    try:
        sio.connect(hubevents.url + "/?meta=false", namespaces=["/monitoring"], wait_timeout=WAIT,
                    headers=bearer(jwt("legacy-q", ["monitor"])))
        alert = {"level": "info", "message": "query option", "source": "t"}
        assert post(hubevents, "/api/alerts", alert, jwt("root", ["admin"])).status_code == 200
        assert received.get(timeout=WAIT) == alert
    finally:
        sio.disconnect()


def test_without_meta_false_events_carry_data_meta_and_offset(clients, hubevents):
    monitor = clients("/monitoring", ["monitor"], sub="mon")
    alert = {"level": "info", "message": "three arguments", "source": "t"}
    assert post(hubevents, "/api/alerts", alert, jwt("root", ["admin"])).status_code == 200
    args = monitor.next("alert_created")
    assert len(args) == 3 and args[0] == alert and args[1]["namespace"] == "/monitoring" and isinstance(args[2], str)


def test_history_filters_by_type(hubevents):
    service = jwt("svc", ["service"])
    for name in ["task_started", "GOAL_PROGRESS", "task_completed", "GOAL_PROGRESS", "task_failed"]:
        assert post(hubevents, "/api/broadcast", {"room": "r-hist", "event": name, "data": {"n": name}}, service).status_code == 200

    def history(**params):
        reply = requests.get(hubevents.url + "/api/history", params={"room": "r-hist", **params}, headers=bearer(service), timeout=WAIT)
        assert reply.status_code == 200, reply.text
        return [e["type"] for e in reply.json()["events"]]

    assert history() == ["task_started", "GOAL_PROGRESS", "task_completed", "GOAL_PROGRESS", "task_failed"]
    assert history(type="GOAL_PROGRESS") == ["GOAL_PROGRESS", "GOAL_PROGRESS"]
    assert history(type=["task_started", "task_failed"]) == ["task_started", "task_failed"]
    assert history(type="GOAL_PROGRESS", limit=1) == ["GOAL_PROGRESS"], "limit counts matching events"
    assert history(type="nothing") == []
    bad = requests.get(hubevents.url + "/api/history", params={"room": "r-hist", "type": ""}, headers=bearer(service), timeout=WAIT)
    assert bad.status_code == 400


def test_status_is_readable_by_monitors_and_health_has_an_alias(hubevents):
    assert requests.get(hubevents.url + "/api/websocket/status", headers=bearer(jwt("m", ["monitor"])), timeout=WAIT).status_code == 200
    assert requests.get(hubevents.url + "/api/websocket/status", headers=bearer(jwt("a", ["admin"])), timeout=WAIT).status_code == 200
    for roles in (["user"], ["service"]):
        assert requests.get(hubevents.url + "/api/websocket/status", headers=bearer(jwt("x", roles)), timeout=WAIT).status_code == 403
    # Monitors read; they do not publish.
    assert post(hubevents, "/api/alerts", {"level": "info", "message": "m", "source": "s"}, jwt("m", ["monitor"])).status_code == 403
    for path in ("/health", "/healthz"):
        reply = requests.get(hubevents.url + path, timeout=WAIT)
        assert reply.status_code == 200 and reply.json() == {"status": "ok"}


def test_cors_on_the_api(hubevents):
    origin = "http://dashboard.test"
    preflight = requests.options(hubevents.url + "/api/websocket/status", timeout=WAIT, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    reply = requests.get(hubevents.url + "/api/websocket/status", timeout=WAIT,
                         headers={"Origin": origin, **bearer(jwt("m", ["monitor"]))})
    assert reply.status_code == 200 and reply.headers["Access-Control-Allow-Origin"] == origin
    refused = requests.get(hubevents.url + "/api/websocket/status", timeout=WAIT,
                           headers={"Origin": origin, **bearer(jwt("u", ["user"]))})
    assert refused.status_code == 403 and refused.headers["Access-Control-Allow-Origin"] == origin, "errors readable too"
    other = requests.options(hubevents.url + "/api/broadcast", timeout=WAIT,
                             headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"})
    assert other.status_code == 204 and "Access-Control-Allow-Origin" not in other.headers
    plain = requests.get(hubevents.url + "/healthz", headers={"Origin": "http://evil.test"}, timeout=WAIT)
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize("mode", ["websocket", "upgrade"])
def test_websocket_clients_connect_with_cors_configured(hubevents, clients, mode):
    """websocket-client sends the hub's own origin on the upgrade; CORS must not refuse it."""
    client = clients("/chat", ["user"], sub="py-ws", transports=TRANSPORT_MODES[mode])
    assert client.sio.transport() == "websocket" or mode == "upgrade"
    assert client.call("join_room", {"room": "r-ws"}) == {"ok": True, "room": "r-ws"}


def test_the_connection_log(hubevents, clients):
    token = jwt("logged-user", ["user"])
    client = HubClient(hubevents.url, "/chat", ["websocket"]).connect(token=token)
    time.sleep(0.3)
    client.close()
    refused = HubClient(hubevents.url, "/admin", ["polling"])
    assert refused.try_connect(token=token) is not None
    refused.close()
    wanted = {
        "socket connected": ["namespace=/chat", "transport=websocket", "user=logged-user", "remote=127.0.0.1:"],
        "socket disconnected": ["namespace=/chat", "reason=", "duration_ms=", "transport=websocket", "user=logged-user"],
        "socket refused": ["namespace=/admin", "reason=role required for /admin", "user=logged-user"],
    }

    def found(log: str) -> list[str]:
        lines = log.splitlines()
        return [message for message, parts in wanted.items()
                if not any(line.endswith(message) and all(part in line for part in parts) for line in lines)]

    deadline = time.monotonic() + WAIT
    while True:
        log = hubevents.log.read_text(errors="replace")
        missing = found(log)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not missing, (missing, log[-3000:])
    assert token not in log
