"""The hub's HTTP API over real HTTP: every status code it documents."""

from __future__ import annotations

import requests

from hubsupport import HubClient, jwt
from support import WAIT


def auth(*roles: str, sub: str = "api-test", rooms=None) -> dict:
    return {"Authorization": "Bearer " + jwt(sub, list(roles), rooms=rooms)}


def test_status_requires_admin(hubd):
    url = hubd.url + "/api/websocket/status"
    assert requests.get(url, timeout=WAIT).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=WAIT).status_code == 401
    assert requests.get(url, headers=auth("user"), timeout=WAIT).status_code == 403
    client = HubClient(hubd.url, "/chat").connect(token=jwt("u", ["user"]))
    try:
        assert client.call("join_room", {"room": "status-room"})["ok"]
        for path in ("/api/websocket/status", "/api/v1/websocket/status"):
            response = requests.get(hubd.url + path, headers=auth("admin"), timeout=WAIT)
            assert response.status_code == 200
            status = response.json()
            assert status["status"] == "active"
            assert status["connections"] >= 1
            assert status["namespaces"]["/chat"]["sockets"] >= 1
            assert status["namespaces"]["/chat"]["rooms"]["status-room"] == 1
            assert set(status["rooms"]) >= {"chat", "monitoring", "admin"}
            assert set(status["transports"]) == {"websocket", "polling"}
            assert {"received", "sent"} <= set(status["events"])
            assert status["uptime_s"] >= 0 and isinstance(status["version"], str)
    finally:
        client.close()


def test_broadcast_errors(hubd):
    url = hubd.url + "/api/broadcast"
    assert requests.post(url, json={}, timeout=WAIT).status_code == 401
    assert requests.post(url, json={"room": "r", "event": "task_updated", "data": {}}, headers=auth("user"), timeout=WAIT).status_code == 403
    bad_json = requests.post(url, data="{nope", headers={**auth("service"), "Content-Type": "application/json"}, timeout=WAIT)
    assert bad_json.status_code == 400 and bad_json.json()["error"]
    # Any valid name is publishable; presence events are the hub's own.
    forged = requests.post(url, json={"room": "r", "event": "user_left", "data": {"user": "bob"}}, headers=auth("service"), timeout=WAIT)
    assert forged.status_code == 400 and forged.json()["message"] == "event: reserved event name"
    not_granted = requests.post(url, json={"room": "secret", "event": "task_updated", "data": {}},
                                headers=auth("service", rooms=["ops"]), timeout=WAIT)
    assert not_granted.status_code == 403
    assert requests.get(url, headers=auth("service"), timeout=WAIT).status_code == 405
    huge = requests.post(url, data=b"x" * 1_100_000, headers=auth("service"), timeout=WAIT)
    assert huge.status_code == 413


def test_unknown_route_and_health(hubd):
    assert requests.get(hubd.url + "/api/nope", headers=auth("admin"), timeout=WAIT).status_code == 404
    health = requests.get(hubd.url + "/healthz", timeout=WAIT)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    metrics = requests.get(hubd.url + "/metrics", timeout=WAIT)
    assert metrics.status_code == 200 and "hub_connections" in metrics.text


def test_history_since(hubd):
    for n in range(3):
        body = {"namespace": "/monitoring", "room": "hist", "event": "task_updated", "data": {"n": n}}
        assert requests.post(hubd.url + "/api/broadcast", json=body, headers=auth("service"), timeout=WAIT).status_code == 200
    url = hubd.url + "/api/history"
    assert requests.get(url, params={"namespace": "/monitoring", "room": "hist"}, headers=auth("user"), timeout=WAIT).status_code == 403
    assert requests.get(url, params={"namespace": "/monitoring"}, headers=auth("admin"), timeout=WAIT).status_code == 400
    everything = requests.get(url, params={"namespace": "/monitoring", "room": "hist"}, headers=auth("admin"), timeout=WAIT).json()
    offsets = [e["offset"] for e in everything["events"]]
    assert offsets == sorted(offsets) and len(offsets) == 3
    assert [e["data"] for e in everything["events"]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    later = requests.get(url, params={"namespace": "/monitoring", "room": "hist", "since": offsets[0]},
                         headers=auth("service"), timeout=WAIT).json()
    assert [e["data"]["n"] for e in later["events"]] == [1, 2]
    assert later["latest_offset"] == offsets[-1]
