"""Disconnecting, from the client and from the server."""

import time

import socketio

from support import WAIT


def wait_until_disconnected(c, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while c.sio.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not c.sio.connected


def test_client_disconnect(make_client, transport):
    c = make_client().connect(namespaces=["/", "/custom"])

    c.sio.disconnect()

    assert c.next("disconnect", "/") in [(), (socketio.Client.reason.CLIENT_DISCONNECT,)]
    assert c.next("disconnect", "/custom") in [(), (socketio.Client.reason.CLIENT_DISCONNECT,)]
    wait_until_disconnected(c)


def test_server_keeps_serving_after_a_client_disconnect(make_client, transport):
    first = make_client().connect()
    first.sio.disconnect()
    first.next("disconnect")

    second = make_client()
    second.record("message-back")
    second.connect(auth={"token": "again"})
    assert second.next("auth") == ({"token": "again"},)
    second.emit("message", "still alive")
    assert second.next("message-back") == ("still alive",)


def test_server_disconnect(make_client, transport):
    c = make_client().connect()

    c.emit("server-disconnect")

    # the server disconnects the socket: the client's disconnect handler fires, as a server one
    assert c.next("disconnect") in [(), (socketio.Client.reason.SERVER_DISCONNECT,)]
    wait_until_disconnected(c)


def test_server_disconnect_of_one_client_leaves_others_connected(make_client, transport):
    leaving = make_client().connect()
    staying = make_client()
    staying.record("message-back")
    staying.connect()

    leaving.emit("server-disconnect")
    leaving.next("disconnect")

    staying.assert_nothing("disconnect")
    staying.emit("message", "still here")
    assert staying.next("message-back") == ("still here",)
    assert staying.sio.connected
