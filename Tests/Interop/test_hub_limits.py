"""Per-client bounds (issue 11): rooms per socket and room-history eviction, against `hub serve`
with small limits (the `hublimits` fixture), each with its answer and its metric."""

from __future__ import annotations

import re
import time

import requests

from hubsupport import HubClient, jwt
from support import WAIT


def metric(hub, name: str, labels: str = "") -> float:
    text = requests.get(hub.url + "/metrics", timeout=WAIT).text
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


def test_rooms_per_socket(hublimits):
    client = HubClient(hublimits.url, "/chat").connect(token=jwt("joiner", ["user"]))
    try:
        before = metric(hublimits, "hub_limits_reached_total", '{limit="maxRoomsPerSocket"}')
        for room in ("a", "b", "c"):
            assert client.call("join_room", {"room": room}) == {"ok": True, "room": room}
        assert client.call("join_room", {"room": "d"}) == {"ok": False, "error": "too many rooms"}
        assert client.call("join_room", {"room": "a"}) == {"ok": True, "room": "a"}, "a room it is in is no new room"
        assert metric(hublimits, "hub_limits_reached_total", '{limit="maxRoomsPerSocket"}') == before + 1
        assert client.call("leave_room", {"room": "b"})["ok"]
        assert client.call("join_room", {"room": "d"}) == {"ok": True, "room": "d"}
    finally:
        client.close()


def test_presence_creates_no_history_and_idle_histories_are_dropped(hublimits):
    service = jwt("svc", ["service"])
    client = HubClient(hublimits.url, "/").connect(token=jwt("visitor", ["user"]))
    try:
        assert client.call("join_room", {"room": "quiet"})["ok"]
        history = requests.get(hublimits.url + "/api/history", params={"room": "quiet"},
                               headers={"Authorization": "Bearer " + service}, timeout=WAIT).json()
        assert history["latest_offset"] == 0 and history["events"] == []
    finally:
        client.close()
    reply = requests.post(hublimits.url + "/api/broadcast", json={"room": "ttl-room", "event": "task_updated", "data": {"n": 1}},
                          headers={"Authorization": "Bearer " + service}, timeout=WAIT)
    assert reply.status_code == 200
    assert metric(hublimits, "hub_history_rooms") >= 1

    def latest() -> int:
        return requests.get(hublimits.url + "/api/history", params={"room": "ttl-room"},
                            headers={"Authorization": "Bearer " + service}, timeout=WAIT).json()["latest_offset"]

    assert latest() >= 1
    deadline = time.monotonic() + 4 * WAIT
    while latest() != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert latest() == 0, "the idle history was dropped after historyTTL"
    assert metric(hublimits, "hub_history_evictions_total", '{reason="ttl"}') >= 1


def test_a_socket_past_its_event_rate_is_refused_then_disconnected(hublimits):
    client = HubClient(hublimits.url, "/chat").connect(token=jwt("chatty", ["user"]))
    disconnected = []
    client.sio.on("disconnect", lambda *args: disconnected.append(args), namespace="/chat")
    try:
        before = metric(hublimits, "hub_limits_reached_total", '{limit="eventRateLimit"}')
        assert client.call("join_room", {"room": "flood"})["ok"]
        replies = [client.call("chat_message", {"room": "flood", "message": str(n)}) for n in range(9)]
        assert all(reply["ok"] for reply in replies), replies  # the burst of 10, the join included
        assert client.call("chat_message", {"room": "flood", "message": "one too many"}) == {"ok": False, "error": "rate limited"}
        # Keep going: a whole burst (10) refused in a row disconnects the socket.
        for n in range(20):
            if disconnected:
                break
            client.emit("chat_message", {"room": "flood", "message": f"flood {n}"})
        deadline = time.monotonic() + WAIT
        while not disconnected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert disconnected, "the socket was disconnected"
        assert metric(hublimits, "hub_limits_reached_total", '{limit="eventRateLimit"}') >= before + 10
    finally:
        client.close()
    log = hublimits.log.read_text(errors="replace")
    assert "socket rate limited: disconnecting" in log and "user=chatty" in log


def test_the_publish_api_is_rate_limited_per_principal(hublimits):
    token = jwt("bursty-service", ["service"])
    other = jwt("calm-service", ["service"])
    body = {"room": "r-rate", "event": "task_updated", "data": {}}
    statuses = [requests.post(hublimits.url + "/api/broadcast", json=body, headers={"Authorization": "Bearer " + token},
                              timeout=WAIT).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = requests.post(hublimits.url + "/api/alerts", json={"level": "info", "message": "m", "source": "s"},
                            headers={"Authorization": "Bearer " + token}, timeout=WAIT)
    assert refused.status_code == 429
    assert refused.json() == {"error": "too many requests", "message": "rate limited"}
    assert refused.headers["Retry-After"] == "1"
    assert requests.post(hublimits.url + "/api/broadcast", json=body, headers={"Authorization": "Bearer " + other},
                         timeout=WAIT).status_code == 200, "another principal has its own bucket"
    assert metric(hublimits, "hub_limits_reached_total", '{limit="apiRateLimit"}') >= 1
    time.sleep(1.1)
    assert requests.post(hublimits.url + "/api/broadcast", json=body, headers={"Authorization": "Bearer " + token},
                         timeout=WAIT).status_code == 200, "the bucket refills"
