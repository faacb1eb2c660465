"""Tokens from an identity provider, driven by python-socketio: RS256 tokens minted here with
`cryptography`, verified by `hub serve --jwks-url` (a JWKS served by Python's http.server on
127.0.0.1) or `hub serve --jwt-public-key-file`; kid selection, alg pinning, iss and aud, key
rotation, and HS256 working next to them."""

from __future__ import annotations

import time

import pytest
import requests

from hubsupport import HubClient, jwt
from idpsupport import AUDIENCE, ISSUER
from support import WAIT


@pytest.fixture
def clients():
    made: list[HubClient] = []

    def make(hub, namespace="/chat") -> HubClient:
        hub.check_alive()
        client = HubClient(hub.url, namespace)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_rs256_token_from_the_jwks_connects(hubidp, idp, clients):
    client = clients(hubidp)
    assert client.try_connect(idp.first.token(rooms=["lobby"])) is None
    assert client.call("join_room", {"room": "lobby"}) == {"ok": True, "room": "lobby"}
    assert client.call("join_room", {"room": "elsewhere"}) == {"ok": False, "error": "room not granted"}


def test_api_takes_the_same_tokens(hubidp, idp):
    headers = {"Authorization": "Bearer " + idp.first.token(roles=["admin"])}
    assert requests.get(hubidp.url + "/api/websocket/status", headers=headers, timeout=WAIT).status_code == 200
    wrong = {"Authorization": "Bearer " + idp.first.token(roles=["admin"], aud="someone-else")}
    response = requests.get(hubidp.url + "/api/websocket/status", headers=wrong, timeout=WAIT)
    assert response.status_code == 401 and response.json()["message"] == "invalid audience"


@pytest.mark.parametrize("case, reason", [
    ("unknown kid", "unknown key"),
    ("alg differs from the key's", "unsupported algorithm"),
    ("alg none", "unsupported algorithm"),
    ("wrong issuer", "invalid issuer"),
    ("no issuer", "invalid issuer"),
    ("wrong audience", "invalid audience"),
    ("expired", "token expired"),
    ("signed by a key not in the JWKS", "invalid signature"),
    ("HS256 with the public key as secret", "invalid signature"),
])
def test_refusals_carry_the_documented_reason(hubidp, idp, clients, case, reason):
    from idpsupport import Key

    first = idp.first
    token = {
        "unknown kid": lambda: first.token(kid="nobody"),
        "alg differs from the key's": lambda: first.token(alg="RS512"),
        "alg none": lambda: "eyJhbGciOiJub25lIn0." + first.token().split(".")[1] + ".",
        "wrong issuer": lambda: first.token(iss="https://evil.test/"),
        "no issuer": lambda: first.token(iss=None),
        "wrong audience": lambda: first.token(aud=["other", "another"]),
        "expired": lambda: first.token(exp=time.time() - 120),
        "signed by a key not in the JWKS": lambda: Key("idp-1").token(),
        # No kid: the HS256 secret is the key for HS256; the PEM text is not it.
        "HS256 with the public key as secret": lambda: jwt("mallory", ["admin"], alg="HS256", secret=first.pem,
                                                           extra={"iss": ISSUER, "aud": AUDIENCE}),
    }[case]()
    error = clients(hubidp).try_connect(token)
    assert error == {"message": "unauthorized", "data": {"reason": reason}}


def test_audience_may_be_an_array(hubidp, idp, clients):
    assert clients(hubidp).try_connect(idp.first.token(aud=["other", AUDIENCE])) is None


def test_hs256_keeps_working_next_to_the_jwks(hubidp, clients):
    token = jwt("hs-user", ["user"], extra={"iss": ISSUER, "aud": AUDIENCE})
    assert clients(hubidp).try_connect(token) is None


def test_rotated_key_is_fetched_on_first_use(hubidp, idp, clients):
    # The hub reloads for an unknown kid at most once per 10 s; its first fetch was at start.
    time.sleep(max(0.0, hubidp.started + 11 - time.monotonic()))
    before = idp.requests
    idp.keys = [idp.first, idp.second]
    assert clients(hubidp).try_connect(idp.second.token()) is None
    assert idp.requests == before + 1
    # Made-up kids right after cannot make the hub fetch again.
    for n in range(3):
        error = clients(hubidp).try_connect(idp.second.token(kid=f"made-up-{n}"))
        assert error == {"message": "unauthorized", "data": {"reason": "unknown key"}}
    assert idp.requests == before + 1


def test_pem_key_file(hubpem, idp, clients):
    key = idp.pem_key
    assert clients(hubpem).try_connect(key.token(kid=None, iss=None, aud=None)) is None
    # Only ES256 is pinned to that key; HS256 has no key at all there.
    assert clients(hubpem).try_connect(jwt("u", ["user"])) == {"message": "unauthorized", "data": {"reason": "unsupported algorithm"}}
    assert clients(hubpem).try_connect(idp.first.token(kid=None)) == {"message": "unauthorized", "data": {"reason": "unsupported algorithm"}}
    # A hub with only a public key is not in dev mode: no generated admin token, no banner.
    assert "dev mode" not in hubpem.log_tail()
    assert requests.get(hubpem.url + "/api/websocket/status", timeout=WAIT).status_code == 401
