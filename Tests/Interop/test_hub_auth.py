"""The hub's token authentication on every namespace CONNECT, driven by python-socketio."""

from __future__ import annotations

import time

import pytest

from hubsupport import HubClient, jwt

# (namespace, roles, accepted?)
GRANTS = [
    ("/", ["user"], True),
    ("/chat", ["user"], True),
    ("/chat", ["monitor"], True),
    ("/chat", ["service"], True),
    ("/monitoring", ["user"], False),
    ("/monitoring", ["monitor"], True),
    ("/monitoring", ["service"], True),
    ("/admin", ["monitor"], False),
    ("/admin", ["service"], False),
    ("/admin", ["admin"], True),
    ("/chat", [], False),
]


@pytest.fixture
def clients(hubd):
    made: list[HubClient] = []

    def make(namespace="/", transports=None) -> HubClient:
        hubd.check_alive()
        client = HubClient(hubd.url, namespace, transports)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize("namespace,roles,accepted", GRANTS)
def test_namespace_roles(clients, namespace, roles, accepted):
    refusal = clients(namespace).try_connect(token=jwt("alice", roles))
    if accepted:
        assert refusal is None
    else:
        assert refusal == {"message": "forbidden", "data": {"reason": f"role required for {namespace}"}}


@pytest.mark.parametrize(
    "token,reason",
    [
        (None, "missing token"),
        ("not-a-jwt", "malformed token"),
        (jwt("alice", ["admin"], exp=time.time() - 10), "token expired"),
        (jwt("alice", ["admin"], alg="HS512"), "unsupported algorithm"),
        (jwt("alice", ["admin"], alg="none", sign=False), "unsupported algorithm"),
        (jwt("alice", ["admin"], secret="another-secret"), "invalid signature"),
    ],
    ids=["missing", "garbage", "expired", "hs512", "alg-none", "wrong-signature"],
)
def test_bad_tokens_are_unauthorized(clients, token, reason):
    refusal = clients("/chat").try_connect(token=token)
    assert refusal == {"message": "unauthorized", "data": {"reason": reason}}


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]], ids=["polling", "websocket"])
def test_authorization_header_is_the_fallback(clients, transports):
    client = clients("/chat", transports)
    assert client.try_connect(headers={"Authorization": "Bearer " + jwt("bob", ["user"])}) is None
    assert client.call("join_room", {"room": "lobby"}) == {"ok": True, "room": "lobby"}


def test_every_connect_revalidates(clients):
    token = jwt("carol", ["user"], exp=time.time() + 2)
    first = clients("/chat").try_connect(token=token)
    assert first is None
    time.sleep(2.5)
    assert clients("/chat").try_connect(token=token) == {"message": "unauthorized", "data": {"reason": "token expired"}}


# Room grants are exact (UTF-8 bytes), not Unicode canonical equivalence: KELVIN SIGN vs K, a
# precomposed é vs e + U+0301, a full-width letter vs ASCII.
LOOKALIKES = [("\u212Aelvin", "Kelvin"), ("caf\u00E9", "cafe\u0301"), ("\uFF4Cobby", "lobby")]


@pytest.mark.parametrize("granted, lookalike", LOOKALIKES)
def test_grants_are_exact(clients, hubd, granted, lookalike):
    import requests

    from support import WAIT

    for grant, other in [(granted, lookalike), (lookalike, granted)]:
        client = clients("/chat")
        client.connect(jwt("exact", ["user", "service"], rooms=[grant]))
        assert client.call("join_room", {"room": other}) == {"ok": False, "error": "room not granted"}
        assert client.call("join_room", {"room": grant}) == {"ok": True, "room": grant}
        headers = {"Authorization": "Bearer " + jwt("exact", ["service"], rooms=[grant])}
        refused = requests.get(hubd.url + "/api/history", params={"namespace": "/chat", "room": other},
                               headers=headers, timeout=WAIT)
        assert refused.status_code == 403 and refused.json()["message"] == "room not granted"
        allowed = requests.get(hubd.url + "/api/history", params={"namespace": "/chat", "room": grant},
                               headers=headers, timeout=WAIT)
        assert allowed.status_code == 200

