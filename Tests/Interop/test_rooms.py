"""Rooms: a broadcast to a room reaches exactly its members."""

from support import Client


def connected(make_client, n: int) -> list[Client]:
    clients = []
    for _ in range(n):
        c = make_client()
        c.record("room-message")
        clients.append(c.connect())
    return clients


def test_room_broadcast_reaches_exactly_the_members(make_client):
    a, b, outsider = connected(make_client, 3)
    assert a.call("join", "r1") is True
    assert b.call("join", "r1") is True

    # sent by a non-member: both members get it, the sender does not
    payload = ("hello r1", {"n": 1, "tags": ["x", "ü"]}, [1, 2, 3])
    assert outsider.call("to-room", "r1", *payload) is True
    assert a.next("room-message") == payload
    assert b.next("room-message") == payload
    outsider.assert_nothing("room-message")

    # sent by a member (with binary): the sender is a member, so it gets it too
    payload = ("from b", b"\x00\x01\xfe\xff", {"blob": b"\x07"})
    assert b.call("to-room", "r1", *payload) is True
    assert a.next("room-message") == payload
    assert b.next("room-message") == payload
    outsider.assert_nothing("room-message")

    # after a leaves, only b is left in the room
    assert a.call("leave", "r1") is True
    assert outsider.call("to-room", "r1", "after leave") is True
    assert b.next("room-message") == ("after leave",)
    a.assert_nothing("room-message")
    outsider.assert_nothing("room-message")


def test_rooms_are_separate(make_client):
    a, b, c = connected(make_client, 3)
    assert a.call("join", "red") is True
    assert b.call("join", "blue") is True

    assert c.call("to-room", "red", "to red") is True
    assert a.next("room-message") == ("to red",)

    assert c.call("to-room", "blue", "to blue") is True
    assert b.next("room-message") == ("to blue",)

    a.assert_nothing("room-message")
    b.assert_nothing("room-message")
    c.assert_nothing("room-message")


def test_broadcast_to_an_empty_room_reaches_nobody(make_client):
    a, b = connected(make_client, 2)

    assert a.call("to-room", "nobody-here", "hello?") is True

    a.assert_nothing("room-message")
    b.assert_nothing("room-message")


def test_join_twice_delivers_once(make_client):
    a, b = connected(make_client, 2)
    assert a.call("join", "r2") is True
    assert a.call("join", "r2") is True

    assert b.call("to-room", "r2", "once") is True

    assert a.next("room-message") == ("once",)
    a.assert_nothing("room-message")


def test_disconnected_member_is_removed_from_the_room(make_client):
    a, b, c = connected(make_client, 3)
    assert a.call("join", "r3") is True
    assert b.call("join", "r3") is True

    a.sio.disconnect()
    a.next("disconnect")

    assert c.call("to-room", "r3", "still there?") is True
    assert b.next("room-message") == ("still there?",)
    c.assert_nothing("room-message")
