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
