"""Connection-state recovery as socket.io 4.6+ speaks it: a client that loses its transport
reconnects with {pid, offset} and gets its socket id, rooms and every missed event, once each.

python-socketio's client does not implement recovery itself, so the test does what
socket.io-client does: it keeps the pid of the CONNECT reply and the last offset (the last argument
of each broadcast event) and sends both in the auth payload of the next CONNECT.
"""

from __future__ import annotations

import pytest
import requests

from hubsupport import HubClient, jwt
from support import WAIT


def publish(hubd, n: int) -> str:
    body = {"namespace": "/monitoring", "room": "recover", "event": "task_updated", "data": {"n": n}}
    response = requests.post(hubd.url + "/api/broadcast", json=body,
                             headers={"Authorization": "Bearer " + jwt("ci", ["service"])}, timeout=WAIT)
    assert response.status_code == 200, response.text
    return response.json()["id"]


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]], ids=["polling", "websocket"])
def test_dropped_client_recovers_missed_events_once(hubd, transports):
    token = jwt("dash", ["monitor"])
    first = HubClient(hubd.url, "/monitoring", transports).connect(token=token)
    try:
        assert first.call("join_room", {"room": "recover"})["ok"]
        pid, sid = first.connect_reply["pid"], first.connect_reply["sid"]
        assert isinstance(pid, str) and pid
        publish(hubd, 1)
        data, _, offset = first.next("task_updated")
        assert data == {"n": 1}
        # Lose the transport without a Socket.IO DISCONNECT (as a network drop or a closed laptop lid).
        first.sio.eio.disconnect()
    finally:
        first.sio.reconnection = False

    missed_ids = [publish(hubd, 2), publish(hubd, 3)]

    second = HubClient(hubd.url, "/monitoring", transports).connect(token=token, auth={"pid": pid, "offset": offset})
    try:
        assert second.connect_reply == {"sid": sid, "pid": pid}, "same socket id and private id"
        replayed = [second.next("task_updated") for _ in range(2)]
        assert [d for d, _, _ in replayed] == [{"n": 2}, {"n": 3}]
        assert [m["id"] for _, m, _ in replayed] == missed_ids
        # the room came back without a new join_room, and nothing is delivered twice
        publish(hubd, 4)
        data, _, _ = second.next("task_updated")
        assert data == {"n": 4}
        second.assert_nothing("task_updated")
    finally:
        second.close()


def test_unknown_session_connects_as_new(hubd):
    client = HubClient(hubd.url, "/monitoring").connect(token=jwt("dash", ["monitor"]), auth={"pid": "nope", "offset": "1"})
    try:
        assert client.connect_reply["pid"] != "nope"
        assert client.call("join_room", {"room": "fresh"}) == {"ok": True, "room": "fresh"}
    finally:
        client.close()


def test_recovery_still_checks_the_token(hubd):
    first = HubClient(hubd.url, "/admin").connect(token=jwt("root", ["admin"]))
    pid = first.connect_reply["pid"]
    first.sio.eio.disconnect()
    refusal = HubClient(hubd.url, "/admin").try_connect(token=jwt("root", ["user"]), auth={"pid": pid, "offset": "0"})
    assert refusal == {"message": "forbidden", "data": {"reason": "role required for /admin"}}


def test_recovery_drops_rooms_the_new_token_no_longer_grants(hubd):
    first = HubClient(hubd.url, "/monitoring").connect(token=jwt("dash", ["monitor"]))
    assert first.call("join_room", {"room": "recover"})["ok"]
    publish(hubd, 100)
    _, _, offset = first.next("task_updated")
    pid, sid = first.connect_reply["pid"], first.connect_reply["sid"]
    first.sio.eio.disconnect()
    second = HubClient(hubd.url, "/monitoring").connect(
        token=jwt("dash", ["monitor"], rooms=["billing"]), auth={"pid": pid, "offset": offset})
    try:
        assert second.connect_reply == {"sid": sid, "pid": pid}
        publish(hubd, 101)
        second.assert_nothing("task_updated")
    finally:
        second.close()


def test_another_user_cannot_resume_a_session(hubd):
    first = HubClient(hubd.url, "/monitoring").connect(token=jwt("dash", ["monitor"]))
    pid = first.connect_reply["pid"]
    first.sio.eio.disconnect()
    refusal = HubClient(hubd.url, "/monitoring").try_connect(token=jwt("mallory", ["monitor"]), auth={"pid": pid, "offset": "0"})
    assert refusal == {"message": "forbidden", "data": {"reason": "session belongs to another user"}}
