"""/sse across nodes sharing Redis (the fixtures and helpers of test_cluster.py): the replay comes
from the shared history, and live events published on another node arrive once."""

from __future__ import annotations

import json

import requests
import sseclient

from hubsupport import jwt
from support import WAIT
from test_cluster import broadcast, nodes, redis, room  # noqa: F401  (fixtures)


def open_events(node, name: str, last_event_id: int | None = None):
    headers = {"Authorization": "Bearer " + jwt("dash", ["monitor"]), "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    response = requests.get(f"{node.url}/sse/{name}", params={"namespace": "/monitoring"}, headers=headers,
                            stream=True, timeout=WAIT)
    assert response.status_code == 200, response.text
    return response, sseclient.SSEClient(response).events()


def test_sse_on_b_replays_the_shared_history_then_gets_events_published_on_a_once(nodes):
    a, b = nodes
    name = room("sse")
    first = broadcast(a, "/monitoring", name, "task_updated", {"n": 1})
    second = broadcast(a, "/monitoring", name, "task_updated", {"n": 2})
    response_b, on_b = open_events(b, name, last_event_id=1)
    response_a, on_a = open_events(a, name)
    try:
        replayed = next(on_b)
        assert replayed.id == "2" and json.loads(replayed.data)["id"] == second["id"]
        assert first["id"] != second["id"]
        third = broadcast(a, "/monitoring", name, "task_updated", {"n": 3})
        live_b, live_a = next(on_b), next(on_a)
        assert live_b.id == live_a.id == "3"
        assert json.loads(live_b.data)["id"] == json.loads(live_a.data)["id"] == third["id"]
        broadcast(b, "/monitoring", name, "task_updated", {"n": 4})
        assert json.loads(next(on_b).data)["data"] == {"n": 4}, "nothing twice in between"
        assert json.loads(next(on_a).data)["data"] == {"n": 4}
    finally:
        response_a.close()
        response_b.close()
