"""The hub's channels: join_room grants, presence, chat, service publishing and the publish API,
driven by python-socketio (every received event is (data, meta, offset))."""

from __future__ import annotations

import pytest
import requests

from hubsupport import HubClient, jwt
from support import WAIT


@pytest.fixture
def clients(hubd):
    made: list[HubClient] = []

    def make(namespace="/chat", roles=("user",), sub="u", rooms=None, transports=None) -> HubClient:
        hubd.check_alive()
        client = HubClient(hubd.url, namespace, transports)
        made.append(client)
        return client.connect(token=jwt(sub, list(roles), rooms=rooms))

    yield make
    for client in made:
        client.close()


def assert_meta(meta, *, room, namespace, source, stored=True):
    assert set(meta) == {"id", "room", "namespace", "timestamp", "source"} | ({"offset"} if stored else set())
    assert (meta["room"], meta["namespace"], meta["source"]) == (room, namespace, source)
    assert isinstance(meta["id"], str) and meta["id"]
    assert meta["timestamp"].endswith("Z")


def test_join_room_respects_the_rooms_claim(clients):
    client = clients(rooms=["allowed"])
    assert client.call("join_room", {"room": "allowed"}) == {"ok": True, "room": "allowed"}
    assert client.call("join_room", {"room": "other"}) == {"ok": False, "error": "room not granted"}
    assert client.call("join_room", {}) == {"ok": False, "error": "room required"}
    assert client.call("leave_room", {"room": "other"}) == {"ok": False, "error": "not in room"}
    assert client.call("leave_room", {"room": "allowed"}) == {"ok": True, "room": "allowed"}


def test_gated_rooms_of_the_main_namespace(clients):
    user = clients("/", ["user"])
    assert user.call("join_room", {"room": "chat"}) == {"ok": True, "room": "chat"}
    assert user.call("join_room", {"room": "monitoring"}) == {"ok": False, "error": "role required for room monitoring"}
    assert user.call("join_room", {"room": "admin"}) == {"ok": False, "error": "role required for room admin"}
    monitor = clients("/", ["monitor"])
    assert monitor.call("join_room", {"room": "monitoring"}) == {"ok": True, "room": "monitoring"}


def test_presence_goes_to_the_other_members(clients):
    alice = clients(sub="alice")
    bob = clients(sub="bob")
    assert alice.call("join_room", {"room": "r-presence"})["ok"]
    assert bob.call("join_room", {"room": "r-presence"})["ok"]
    data, meta, offset = alice.next("user_joined")
    assert data == {"user": "bob", "room": "r-presence"}
    # Presence creates no history: a room nobody published to keeps none, so no history offset.
    assert_meta(meta, room="r-presence", namespace="/chat", source="hub", stored=False)
    assert isinstance(offset, str)
    bob.assert_nothing("user_joined")
    bob.close()
    data, _, _ = alice.next("user_left")
    assert data == {"user": "bob", "room": "r-presence"}


def test_chat_message_reaches_exactly_the_room(clients):
    alice = clients(sub="alice")
    bob = clients(sub="bob")
    outsider = clients(sub="eve")
    for client in (alice, bob):
        assert client.call("join_room", {"room": "r-chat"})["ok"]
    sent = {"room": "r-chat", "message": "héllo 👋", "extra": {"n": 1}}
    reply = alice.call("chat_message", sent)
    assert reply["ok"] is True and reply["delivered"] == 2
    for client in (alice, bob):
        data, meta, _ = client.next("chat_message")
        assert data == sent
        assert_meta(meta, room="r-chat", namespace="/chat", source="socket:alice")
        assert meta["id"] == reply["id"]
    outsider.assert_nothing("chat_message")


def test_chat_needs_membership_and_users_cannot_publish_alerts(clients):
    alice = clients(sub="alice")
    assert alice.call("chat_message", {"room": "r-not-joined", "message": "x"}) == {"ok": False, "error": "join the room first"}
    assert alice.call("join_room", {"room": "r-x"})["ok"]
    assert alice.call("alert_created", {"room": "r-x", "level": "info"}) == {"ok": False, "error": "role required to publish alert_created"}
    assert alice.call("chat_message", "not an object") == {"ok": False, "error": "data must be an object"}


def test_typing_indicator_skips_the_sender(clients):
    alice = clients(sub="alice")
    bob = clients(sub="bob")
    for client in (alice, bob):
        assert client.call("join_room", {"room": "r-typing"})["ok"]
    alice.emit("typing_indicator", {"room": "r-typing", "typing": True})
    data, meta, *_ = bob.next("typing_indicator")
    assert data == {"room": "r-typing", "typing": True}
    alice.assert_nothing("typing_indicator")


def test_service_publishes_into_granted_rooms_only(clients):
    watcher = clients("/monitoring", ["monitor"], sub="dash")
    assert watcher.call("join_room", {"room": "ops"})["ok"]
    agent = clients("/monitoring", ["service"], sub="planner", rooms=["ops"])
    event = {"room": "ops", "agent": "planner", "task_id": "t-1"}
    assert agent.call("agent_started", event)["ok"]
    data, meta, _ = watcher.next("agent_started")
    assert data == event
    assert_meta(meta, room="ops", namespace="/monitoring", source="socket:planner")
    assert agent.call("agent_started", {"room": "finance"}) == {"ok": False, "error": "room not granted"}


def test_publish_api_reaches_exactly_the_room(hubd, clients):
    member = clients("/monitoring", ["monitor"], sub="m1")
    outsider = clients("/monitoring", ["monitor"], sub="m2")
    assert member.call("join_room", {"room": "api-room"})["ok"]
    body = {"namespace": "/monitoring", "room": "api-room", "event": "task_updated", "data": {"task": "t-9", "progress": 0.5}}
    response = requests.post(hubd.url + "/api/broadcast", json=body,
                             headers={"Authorization": "Bearer " + jwt("ci", ["service"])}, timeout=WAIT)
    assert response.status_code == 200
    answer = response.json()
    assert answer["delivered"] == 1 and isinstance(answer["id"], str)
    data, meta, _ = member.next("task_updated")
    assert data == {"task": "t-9", "progress": 0.5}
    assert_meta(meta, room="api-room", namespace="/monitoring", source="api:ci")
    assert meta["id"] == answer["id"]
    outsider.assert_nothing("task_updated")


def test_alert_reaches_monitoring_and_admin_channels(hubd, clients):
    monitor = clients("/monitoring", ["monitor"], sub="m")
    admin = clients("/admin", ["admin"], sub="a")
    root_monitor = clients("/", ["monitor"], sub="r")
    assert root_monitor.call("join_room", {"room": "monitoring"})["ok"]
    chat_user = clients("/chat", ["user"], sub="u")
    alert = {"level": "critical", "message": "disk full", "source": "node-3"}
    response = requests.post(hubd.url + "/api/alerts", json=alert,
                             headers={"Authorization": "Bearer " + jwt("ops", ["service"])}, timeout=WAIT)
    assert response.status_code == 200, response.text
    for client in (monitor, admin, root_monitor):
        data, meta, *_ = client.next("alert_created")
        assert data == alert
    chat_user.assert_nothing("alert_created")
