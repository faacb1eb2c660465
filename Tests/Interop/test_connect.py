"""Connecting: namespaces, the auth payload, the upgrade, and rejected namespaces."""

import pytest
import socketio

from support import WAIT


def test_connect_default_and_custom_namespace_with_auth(make_client, transport):
    c = make_client().connect(namespaces=["/", "/custom"], auth={"token": "abc"})

    # on every namespace connect the server emits "auth" with the auth payload it received
    assert c.next("auth", "/") == ({"token": "abc"},)
    assert c.next("auth", "/custom") == ({"token": "abc"},)
    assert c.sio.connected
    assert set(c.sio.namespaces) == {"/", "/custom"}


def test_each_namespace_gets_its_own_socket_id(make_client, transport):
    c = make_client().connect(namespaces=["/", "/custom"], auth={"token": "abc"})

    root, custom = c.sio.get_sid("/"), c.sio.get_sid("/custom")
    assert isinstance(root, str) and root
    assert isinstance(custom, str) and custom
    assert root != custom


def test_connect_without_auth_gets_empty_object(make_client, transport):
    c = make_client().connect(namespaces=["/"])

    assert c.next("auth", "/") == ({},)


def test_auth_payload_with_several_fields(make_client, transport):
    auth = {"token": "abc", "user": "zoë", "n": 3, "scopes": ["read", "write"]}
    c = make_client().connect(namespaces=["/custom"], auth=auth)

    assert c.next("auth", "/custom") == (auth,)


def test_unknown_namespace_is_rejected(make_client, transport):
    c = make_client()

    with pytest.raises(socketio.exceptions.ConnectionError) as failure:
        c.connect(namespaces=["/nope"], auth={"token": "abc"})

    # python-socketio's exception names the namespace; the server's reason ("Invalid namespace")
    # arrives as the CONNECT_ERROR payload, which the client hands to its "connect_error" handler.
    assert "/nope" in str(failure.value)
    (error,) = c.next("connect_error", "/nope")
    assert isinstance(error, dict), error
    assert error.get("message") == "Invalid namespace"
    assert not c.sio.connected


def test_valid_namespace_still_connects_after_a_rejected_one(make_client, transport):
    rejected = make_client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        rejected.connect(namespaces=["/nope"])

    c = make_client().connect(namespaces=["/custom"], auth={"token": "abc"})
    assert c.next("auth", "/custom") == ({"token": "abc"},)


def test_transport_in_use(make_client, transport):
    c = make_client().connect(namespaces=["/"])

    # "upgrade" starts on polling; Client.connect already waited for the switch, check it again
    # and check that the connection still carries traffic after it.
    expected = {"polling": "polling", "websocket": "websocket", "upgrade": "websocket"}[transport]
    c.wait_for_transport(expected, timeout=WAIT)
    c.record("message-back")
    c.emit("message", "after-upgrade")
    assert c.next("message-back") == ("after-upgrade",)
    assert c.sio.transport() == expected
