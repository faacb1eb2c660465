"""Scale-out (issue #6): several `hub serve --redis-url` processes sharing one real redis-server.

Each test starts what it needs: a redis-server on a free loopback port (`--save '' --appendonly no`)
and two or three hub nodes on free ports, with a short status interval (HUB_CLUSTER_STATUS_INTERVAL)
so a stopped node leaves the status quickly. Clients: python-socketio for Socket.IO, websocket-client
for /stream, requests for the HTTP API. Waits are bounded (WAIT) and only guard against hangs; for
"must not arrive", a later marker event on the same path proves nothing came in between.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket  # websocket-client

import conftest
from hubsupport import SECRET, HubClient, jwt
from support import DEFAULT_HUB_BIN, STARTUP, WAIT, Hub, accepts, free_port

#: milliseconds between two status reports of a node (a report expires after three)
STATUS_INTERVAL_MS = 300


# --------------------------------------------------------------------------------------------------
# processes


class RedisServer:
    """A throwaway redis-server on a free loopback port; restartable on the same port."""

    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (.ci/run installs Debian's redis-server)", pytrace=False)
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP
        while not accepts(self.port):
            assert self.proc.poll() is None, f"redis-server exited with code {self.proc.returncode}"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class Node(Hub):
    """One `hub serve --redis-url` process."""

    def __init__(self, redis: RedisServer, port: int | None = None, extra: tuple[str, ...] = ()):
        binary = Path(os.environ.get("HUB_BIN", DEFAULT_HUB_BIN))
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            pytest.fail(f"hub binary not found at {binary} (build it, or run `make interop`)", pytrace=False)
        self.port = port or free_port()
        log = Path(tempfile.mkstemp(prefix="hub-cluster-", suffix=".log")[1])
        conftest._hub_logs.append(log)
        env = dict(os.environ, HUB_CLUSTER_STATUS_INTERVAL=str(STATUS_INTERVAL_MS))
        command = [str(binary), "serve", "--port", str(self.port), "--redis-url", redis.url,
                   "--jwt-secret", SECRET, "--ping-interval", "1000", "--ping-timeout", "2000",
                   "--history-size", "50", "--log-level", "info", *extra]
        with open(log, "wb") as out:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
        super().__init__(f"http://127.0.0.1:{self.port}", proc, log)
        deadline = time.monotonic() + STARTUP
        while not accepts(self.port):
            if proc.poll() is not None:
                pytest.fail(f"hub node exited with code {proc.returncode}:\n{self.log_tail()}", pytrace=False)
            assert time.monotonic() < deadline, f"hub node did not start:\n{self.log_tail()}"
            time.sleep(0.05)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def redis():
    server = RedisServer()
    yield server
    server.kill()


@pytest.fixture
def nodes(redis):
    """Two nodes, A and B, on the same Redis; both have reported their status when this returns."""
    started = [Node(redis), Node(redis)]
    try:
        wait_until(lambda: len(cluster_nodes(started[0])) == 2, "both nodes in the cluster status")
        yield started
    finally:
        for node in started:
            node.stop()


# --------------------------------------------------------------------------------------------------
# helpers


def room(prefix: str = "cl") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(condition, what: str, timeout: float = WAIT * 2) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (requests.RequestException, KeyError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def service_headers() -> dict:
    return {"Authorization": "Bearer " + jwt("publisher", ["service"])}


def broadcast(node: Node, namespace: str, room_name: str, event: str, data: dict) -> dict:
    body = {"namespace": namespace, "room": room_name, "event": event, "data": data}
    response = requests.post(node.url + "/api/broadcast", json=body, headers=service_headers(), timeout=WAIT)
    assert response.status_code == 200, response.text
    return response.json()


def status(node: Node) -> dict:
    response = requests.get(node.url + "/api/websocket/status",
                            headers={"Authorization": "Bearer " + jwt("ops", ["admin"])}, timeout=WAIT)
    assert response.status_code == 200, response.text
    return response.json()


def cluster_nodes(node: Node) -> list[str]:
    return [entry["id"] for entry in status(node)["cluster"]["nodes"]]


def metrics(node: Node) -> dict[str, float]:
    text = requests.get(node.url + "/metrics", timeout=WAIT).text
    values = {}
    for line in text.splitlines():
        if line.startswith("hub_redis_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def stream_subscribe(node: Node, namespace: str, room_name: str) -> websocket.WebSocket:
    ws = websocket.create_connection(f"{node.ws_url}/stream", timeout=WAIT)
    ws.send('{"action": "auth", "token": "%s"}' % jwt("watcher", ["admin"]))
    assert stream_recv(ws)["type"] == "authenticated"
    ws.send('{"action": "subscribe", "namespace": "%s", "room": "%s"}' % (namespace, room_name))
    assert stream_recv(ws)["type"] == "subscribed"
    return ws


def stream_recv(ws: websocket.WebSocket) -> dict:
    import json
    return json.loads(ws.recv())


def monitor(node: Node, room_name: str, transports=None) -> HubClient:
    client = HubClient(node.url, "/monitoring", transports).connect(token=jwt("dash-" + uuid.uuid4().hex[:6], ["monitor"]))
    assert client.call("join_room", {"room": room_name})["ok"]
    return client


# --------------------------------------------------------------------------------------------------
# the hub's own cluster features: status, /stream, history, outages


def test_status_lists_every_node_with_totals_and_a_stopped_node_expires(redis, nodes):
    a, b = nodes
    name = room()
    on_a = monitor(a, name)
    on_b = [monitor(b, name), monitor(b, name, ["polling"])]
    try:
        body = status(a)
        assert body["connections"] == 1, "the top level stays this node's"
        assert body["node"]["connections"] == 1 and body["node"]["address"] == f"127.0.0.1:{a.port}"
        # a report taken between a client's connect and its join_room may still be the newest: wait
        wait_until(lambda: status(a)["cluster"]["totals"]["namespaces"]["/monitoring"]["rooms"].get(name) == 3,
                   "both nodes' clients in the totals")
        cluster = status(a)["cluster"]
        assert cluster["redis"] == "connected"
        assert [n["id"] for n in cluster["nodes"]] == sorted(n["id"] for n in cluster["nodes"])
        by_address = {n["address"]: n for n in cluster["nodes"]}
        assert by_address[f"127.0.0.1:{b.port}"]["connections"] == 2
        assert by_address[f"127.0.0.1:{b.port}"]["transports"] == {"polling": 1, "websocket": 1}
        totals = cluster["totals"]
        assert totals["nodes"] == 2
        assert totals["transports"] == {"polling": 1, "websocket": 2}
        assert totals["namespaces"]["/monitoring"] == {"sockets": 3, "rooms": {name: 3}}
        wait_until(lambda: status(b)["cluster"]["totals"]["namespaces"]["/monitoring"]["rooms"].get(name) == 3,
                   "the same totals on node B")

        # A third node joins, then is killed (no goodbye): it leaves after its report expires.
        c = Node(redis)
        try:
            wait_until(lambda: len(cluster_nodes(a)) == 3, "the third node in the status")
        finally:
            c.stop(kill=True)
        wait_until(lambda: len(cluster_nodes(a)) == 2, "the killed node gone from the status")
        assert f"127.0.0.1:{c.port}" not in {n["address"] for n in status(b)["cluster"]["nodes"]}
    finally:
        for client in [on_a, *on_b]:
            client.close()


def test_stream_subscriber_on_a_gets_events_published_on_b_exactly_once(nodes):
    a, b = nodes
    name = room()
    on_a = stream_subscribe(a, "/monitoring", name)
    on_b = stream_subscribe(b, "/monitoring", name)
    try:
        sent = broadcast(b, "/monitoring", name, "task_updated", {"n": 1})
        got_a = stream_recv(on_a)["event"]
        got_b = stream_recv(on_b)["event"]
        assert got_a == got_b
        assert got_a["id"] == sent["id"] and got_a["data"] == {"n": 1} and got_a["offset"] == 1
        assert got_a["source"] == "api:publisher"
        broadcast(a, "/monitoring", name, "task_updated", {"n": 2})
        assert stream_recv(on_b)["event"]["data"] == {"n": 2}
        assert stream_recv(on_a)["event"]["data"] == {"n": 2}, "once on the publishing node, not twice"
        for ws in (on_a, on_b):
            ws.send('{"action": "ping"}')
            assert stream_recv(ws) == {"type": "pong"}, "no duplicate in between"
    finally:
        on_a.close()
        on_b.close()


def test_stream_publish_on_a_reaches_an_every_room_subscriber_on_b_once(nodes):
    import json
    a, b = nodes
    name = room()
    on_b = stream_subscribe(b, "/monitoring", name)  # a room subscription ...
    publisher = websocket.create_connection(f"{a.ws_url}/stream", timeout=WAIT)
    try:
        # ... and an every-room subscription on the same connection: the event still comes once.
        on_b.send(json.dumps({"action": "subscribe", "namespace": "/monitoring", "event_types": ["RUN_STARTED"]}))
        assert stream_recv(on_b)["room"] is None
        publisher.send(json.dumps({"action": "auth", "token": jwt("agent", ["service"])}))
        assert stream_recv(publisher)["type"] == "authenticated"
        publisher.send(json.dumps({"action": "publish", "namespace": "/monitoring", "room": name, "event": "RUN_STARTED",
                                   "data": {"runId": "r1"}, "ref": "p"}))
        answer = stream_recv(publisher)
        assert answer["type"] == "published" and answer["ref"] == "p"
        event = stream_recv(on_b)["event"]
        assert (event["id"], event["type"], event["room"], event["source"]) == (answer["id"], "RUN_STARTED", name, "stream:agent")
        assert event["data"] == {"runId": "r1"}
        on_b.send('{"action": "ping"}')
        assert stream_recv(on_b) == {"type": "pong"}, "no second copy"
    finally:
        on_b.close()
        publisher.close()


def test_history_is_shared_by_the_nodes(nodes):
    a, b = nodes
    name = room()
    first = broadcast(a, "/chat", name, "chat_message", {"n": 1})
    second = broadcast(b, "/chat", name, "chat_message", {"n": 2})
    for node in (a, b):
        response = requests.get(node.url + "/api/history", params={"namespace": "/chat", "room": name},
                                headers=service_headers(), timeout=WAIT)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["latest_offset"] == 2
        assert [(e["id"], e["offset"], e["data"]) for e in body["events"]] == [
            (first["id"], 1, {"n": 1}), (second["id"], 2, {"n": 2})]
    since = requests.get(b.url + "/api/history", params={"namespace": "/chat", "room": name, "since": 1},
                         headers=service_headers(), timeout=WAIT).json()
    assert [e["id"] for e in since["events"]] == [second["id"]]
    # a /stream subscriber with `since` on node B replays what node A published
    ws = websocket.create_connection(f"{b.ws_url}/stream", timeout=WAIT)
    try:
        ws.send('{"action": "auth", "token": "%s"}' % jwt("reader", ["user"]))
        assert stream_recv(ws)["type"] == "authenticated"
        ws.send('{"action": "subscribe", "namespace": "/chat", "room": "%s", "since": 0}' % name)
        assert stream_recv(ws)["latest_offset"] == 2
        assert [stream_recv(ws)["event"]["id"] for _ in range(2)] == [first["id"], second["id"]]
    finally:
        ws.close()


def test_redis_outage_keeps_local_delivery_and_cross_node_delivery_resumes(redis, nodes):
    a, b = nodes
    name = room()
    local = monitor(a, name)
    stream_b = stream_subscribe(b, "/monitoring", name)
    try:
        assert metrics(a) == {"hub_redis_connected": 1.0, "hub_redis_outages_total": 0.0}
        redis.kill()
        wait_until(lambda: metrics(a)["hub_redis_connected"] == 0.0, "node A to see the outage")
        # Local clients keep being served: a publish on A reaches A's Socket.IO client.
        broadcast(a, "/monitoring", name, "task_updated", {"during": "outage"})
        data, meta, *_ = local.next("task_updated")
        assert data == {"during": "outage"} and meta["room"] == name
        assert status(a)["cluster"]["redis"] == "unavailable"

        redis.start()
        wait_until(lambda: metrics(a)["hub_redis_connected"] == 1.0 and metrics(b)["hub_redis_connected"] == 1.0,
                   "both nodes reconnected")
        assert metrics(a)["hub_redis_outages_total"] == 1.0, "one outage, however many reconnect attempts"

        # Cross-node delivery is back: B's /stream subscriber gets what A publishes (the events
        # channel is re-subscribed after the reconnect; retry until the subscription is in place).
        def delivered() -> bool:
            broadcast(a, "/monitoring", name, "task_updated", {"after": "outage"})
            stream_b.settimeout(1.0)
            try:
                return stream_recv(stream_b)["event"]["data"] == {"after": "outage"}
            except websocket.WebSocketTimeoutException:
                return False
        wait_until(delivered, "cross-node /stream delivery after Redis came back")
        log = Path(a.log).read_text(errors="replace")
        assert log.count("redis unreachable") == 1, "the outage is logged once"
        assert "redis reachable again" in log
    finally:
        local.close()
        stream_b.close()


# --------------------------------------------------------------------------------------------------
# sticky sessions


def test_io_cookie_is_off_by_default_and_carries_the_session_id_when_on(redis, nodes):
    plain = requests.get(nodes[0].url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=WAIT)
    assert plain.status_code == 200 and "set-cookie" not in plain.headers
    sticky = Node(redis, extra=("--cookie", "true"))
    try:
        response = requests.get(sticky.url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=WAIT)
        assert response.status_code == 200
        import json
        sid = json.loads(response.text[1:])["sid"]
        assert response.headers["set-cookie"] == f"io={sid}; Path=/; HttpOnly; SameSite=Lax"
        assert response.cookies["io"] == sid
    finally:
        sticky.stop()


# --------------------------------------------------------------------------------------------------
# Socket.IO across nodes (the RedisAdapter)


def test_broadcast_via_node_b_reaches_client_on_node_a_and_a_spanning_room_once(nodes):
    a, b = nodes
    name = room()
    on_a, on_b = monitor(a, name), monitor(b, name)
    try:
        sent = broadcast(b, "/monitoring", name, "task_updated", {"n": 1})
        for client in (on_a, on_b):
            data, meta, *_ = client.next("task_updated")
            assert data == {"n": 1} and meta["id"] == sent["id"] and meta["room"] == name
        broadcast(a, "/monitoring", name, "task_completed", {"marker": True})
        for client in (on_a, on_b):
            assert client.next("task_completed")[0] == {"marker": True}
            client.assert_nothing("task_updated")  # exactly once, nothing after the marker either
    finally:
        on_a.close()
        on_b.close()


def test_chat_message_from_a_socket_on_a_reaches_a_member_on_b(nodes):
    a, b = nodes
    name = room("chat")
    alice = HubClient(a.url, "/chat").connect(token=jwt("alice", ["user"]))
    bob = HubClient(b.url, "/chat").connect(token=jwt("bob", ["user"]))
    try:
        assert bob.call("join_room", {"room": name})["ok"]
        assert alice.call("join_room", {"room": name})["ok"]
        assert alice.call("chat_message", {"room": name, "message": "hello from A"})["ok"]
        data, meta, *_ = bob.next("chat_message")
        assert data == {"room": name, "message": "hello from A"}
        assert meta["source"] == "socket:alice"
        # its offset is its place in the shared history (beside the two user_joined presence events)
        history = requests.get(b.url + "/api/history", params={"namespace": "/chat", "room": name},
                               headers=service_headers(), timeout=WAIT).json()
        stored = {e["id"]: e["offset"] for e in history["events"]}
        assert stored[meta["id"]] == meta["offset"] and history["latest_offset"] == 3
    finally:
        alice.close()
        bob.close()


def test_client_of_a_stopped_node_recovers_missed_events_on_another_node(redis, nodes):
    a, b = nodes
    name = room("rec")
    token = jwt("dash", ["monitor"])
    first = HubClient(a.url, "/monitoring", ["websocket"]).connect(token=token)
    assert first.call("join_room", {"room": name})["ok"]
    pid, sid = first.connect_reply["pid"], first.connect_reply["sid"]
    broadcast(b, "/monitoring", name, "task_updated", {"n": 1})
    data, _, offset = first.next("task_updated")
    assert data == {"n": 1}
    a.stop()  # SIGTERM: the node drains (its sockets are persisted for recovery) and exits
    first.sio.reconnection = False
    missed = [broadcast(b, "/monitoring", name, "task_updated", {"n": n})["id"] for n in (2, 3)]

    second = HubClient(b.url, "/monitoring", ["websocket"]).connect(token=token, auth={"pid": pid, "offset": offset})
    try:
        assert second.connect_reply == {"sid": sid, "pid": pid}, "recovered: same socket id and private id"
        replayed = [second.next("task_updated") for _ in range(2)]
        assert [m["id"] for _, m, _ in replayed] == missed
        broadcast(b, "/monitoring", name, "task_updated", {"n": 4})
        assert second.next("task_updated")[0] == {"n": 4}, "still in the room, without a new join_room"
        second.assert_nothing("task_updated")
    finally:
        second.close()
        first.close()


def test_client_of_a_crashed_node_recovers_missed_events_on_another_node(redis, nodes):
    """SIGKILL: the node never disconnects its sockets; the session recorded while the socket was
    connected (at connect and at each room change) lets its client recover on the other node."""
    a, b = nodes
    name = room("crash")
    token = jwt("dash", ["monitor"])
    first = HubClient(a.url, "/monitoring", ["websocket"]).connect(token=token)
    first.sio.reconnection = False
    assert first.call("join_room", {"room": name})["ok"]
    pid, sid = first.connect_reply["pid"], first.connect_reply["sid"]
    broadcast(b, "/monitoring", name, "task_updated", {"n": 1})
    data, _, offset = first.next("task_updated")
    assert data == {"n": 1}
    a.stop(kill=True)  # SIGKILL: no drain, no session persisted on disconnect
    missed = [broadcast(b, "/monitoring", name, "task_updated", {"n": n})["id"] for n in (2, 3)]

    second = HubClient(b.url, "/monitoring", ["websocket"]).connect(token=token, auth={"pid": pid, "offset": offset})
    try:
        assert second.connect_reply == {"sid": sid, "pid": pid}, "recovered: same socket id and private id"
        replayed = [second.next("task_updated") for _ in range(2)]
        assert [m["id"] for _, m, _ in replayed] == missed, "the broadcasts after the crash, in order"
        broadcast(b, "/monitoring", name, "task_updated", {"n": 4})
        assert second.next("task_updated")[0] == {"n": 4}, "still in the room, without a new join_room"
        second.assert_nothing("task_updated")
    finally:
        second.close()
        first.close()
