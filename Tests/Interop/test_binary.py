"""Binary payloads (bytes) both ways: events, several attachments, nested, and in acks."""

import random

import pytest

from support import acked

BLOB = bytes(range(256))
BIG = random.Random(1234).randbytes(300_000)  # > 64 KiB and not valid UTF-8

PAYLOADS = {
    "one-bytes": (b"\x00\x01\x02\xff",),
    "bytes-and-text": ("before", b"\xde\xad\xbe\xef", "after"),
    "several-attachments": (b"first", BLOB, b"\x00", b"third"),
    "nested-in-dict": ({"id": 1, "data": b"\x01\x02\x03", "meta": {"raw": BLOB}},),
    "nested-in-list": ([b"a", 1, [b"b", {"c": b"c"}], "d"],),
    "mixed": (1, b"\x00\xff", {"k": [b"x", "y"], "n": None}, "ü", [True, b"z"]),
}


@pytest.mark.parametrize("args", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_binary_message_is_echoed(client, args):
    client.emit("message", *args)

    assert client.next("message-back") == args


def test_attachment_order_is_kept(client):
    # each attachment is distinct, so a reordering on the way shows as a mismatch (10 attachments:
    # some servers cap the packets in one polling payload, python-engineio's at 16)
    parts = [bytes([i]) * (i + 1) for i in range(5)]
    args = ({"parts": parts}, *parts)
    client.emit("message", *args)

    assert client.next("message-back") == args


def test_large_binary(client):
    client.emit("message", BIG, {"size": len(BIG)})

    assert client.next("message-back") == (BIG, {"size": len(BIG)})


def test_empty_bytes(client):
    client.emit("message", b"", {"empty": b""})

    assert client.next("message-back") == (b"", {"empty": b""})


@pytest.mark.parametrize("args", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_binary_in_client_to_server_ack(client, args):
    assert client.call("message-with-ack", *args) == acked(args)


def test_binary_in_server_to_client_event_and_ack(client):
    client.answer("please-ack", lambda *args: (b"\x01\x02", {"blob": BLOB}, "text"))

    client.emit("request-ack", "please-ack", b"\xca\xfe", {"inner": b"\xba\xbe"})

    assert client.next("please-ack") == (b"\xca\xfe", {"inner": b"\xba\xbe"})
    assert client.next("ack-result") == ([b"\x01\x02", {"blob": BLOB}, "text"],)
