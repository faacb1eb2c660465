"""Events both ways and acks both ways, with JSON payloads (binary: test_binary.py)."""

import pytest

from support import acked

UNICODE = "üñíçødé ✓ — 日本語 — emoji 🚀🎉 — \"quotes\" \\ back\\slash \n newline"

PAYLOADS = {
    "mixed": (
        42,
        "two",
        {"three": 3, "nested": {"list": [1, 2, {"deep": True}], "none": None}},
        [4, "five", None, True, False, 6.5],
        UNICODE,
    ),
    "one-string": ("hello",),
    "one-int": (7,),
    "one-dict": ({"a": 1, "b": [1, 2, 3]},),
    "one-list": ([1, "two", None],),
    "unicode": (UNICODE, {UNICODE: UNICODE}),
    "empty-containers": ("", {}, []),
    "negative-and-float": (-1, 0, 3.25, -2.5e-3, 2**53 - 1),
    "no-args": (),
}


@pytest.mark.parametrize("args", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_message_is_echoed_as_message_back(client, args):
    client.emit("message", *args)

    assert client.next("message-back") == args


def test_large_text_payload(client):
    big = "x" * 200_000 + UNICODE  # > 64 KiB: extended WebSocket length, one long polling payload
    client.emit("message", big, {"len": len(big)})

    assert client.next("message-back") == (big, {"len": len(big)})


def test_many_messages_all_arrive(client):
    # python-socketio runs each received event's handler in its own thread, so the order the
    # handlers run in says nothing about the wire; check that each message comes back exactly once.
    for i in range(30):
        client.emit("message", i, f"n{i}")

    got = sorted(client.next("message-back") for _ in range(30))
    assert got == [(i, f"n{i}") for i in range(30)]
    client.assert_nothing("message-back")


@pytest.mark.parametrize("args", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_client_to_server_ack_returns_the_arguments(client, args):
    assert client.call("message-with-ack", *args) == acked(args)


def test_client_to_server_acks_are_matched_by_id(client):
    # several calls in a row: each ack must come back to its own call
    for i in range(10):
        assert client.call("message-with-ack", i, {"i": i}) == (i, {"i": i})


def test_server_to_client_ack_carries_the_client_values(client):
    client.answer("please-ack", lambda *args: ("pong", 42, {"ok": True}, [1, 2], UNICODE))

    client.emit("request-ack", "please-ack", "ping", 1, {"x": [1]})

    # the server emitted our event with the arguments after the event name ...
    assert client.next("please-ack") == ("ping", 1, {"x": [1]})
    # ... and reports the values our handler returned (the ack arguments), as one list
    assert client.next("ack-result") == (["pong", 42, {"ok": True}, [1, 2], UNICODE],)


def test_server_to_client_ack_with_one_value(client):
    client.answer("please-ack", lambda *args: {"echo": list(args)})

    client.emit("request-ack", "please-ack", "a", "b")

    assert client.next("please-ack") == ("a", "b")
    assert client.next("ack-result") == ([{"echo": ["a", "b"]}],)


def test_server_to_client_ack_with_no_values(client):
    # a handler that returns None still acks (python-socketio acks with no arguments)
    client.answer("please-ack", lambda *args: None)

    client.emit("request-ack", "please-ack")

    assert client.next("please-ack") == ()
    assert client.next("ack-result") == ([],)
