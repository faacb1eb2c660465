"""An identity provider for the interop tests: RSA/EC keys made here with `cryptography` (nothing
private is committed), RS256/RS512/ES256 JWTs minted with them, and a JWKS served by Python's
http.server on 127.0.0.1 (the keys it serves can be changed while it runs, to rotate them)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://idp.interop.test/"
AUDIENCE = "realtimehub"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, length: int | None = None) -> str:
    length = length or (value.bit_length() + 7) // 8
    return _b64(value.to_bytes(length, "big"))


class Key:
    """A signing key with a `kid`, its public half as a JWK and as PEM."""

    def __init__(self, kid: str | None, kind: str = "RSA", alg: str | None = None):
        self.kid = kid
        if kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self.private.public_key().public_numbers()
            self.alg = alg or "RS256"
            self.jwk = {"kty": "RSA", "use": "sig", "alg": self.alg, "n": _int(numbers.n), "e": _int(numbers.e)}
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            numbers = self.private.public_key().public_numbers()
            self.alg = alg or "ES256"
            self.jwk = {"kty": "EC", "crv": "P-256", "alg": self.alg, "x": _int(numbers.x, 32), "y": _int(numbers.y, 32)}
        if kid is not None:
            self.jwk["kid"] = kid
        self.pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def _sign(self, alg: str, data: bytes) -> bytes:
        if alg.startswith("RS"):
            digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[alg]
            return self.private.sign(data, padding.PKCS1v15(), digest)
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def token(self, sub: str = "idp-user", roles=("user",), rooms=None, alg: str | None = None,
              kid: str | None | bool = True, iss: str | None = ISSUER, aud=AUDIENCE, exp: float | None = None) -> str:
        """A JWT signed with this key; `kid=True` names this key's kid, a string names another,
        None leaves it out. `alg` changes the header's alg (and the signature's algorithm)."""
        alg = alg or self.alg
        header = {"alg": alg, "typ": "JWT"}
        if kid is True:
            if self.kid is not None:
                header["kid"] = self.kid
        elif kid is not None:
            header["kid"] = kid
        claims: dict = {"sub": sub, "roles": list(roles), "exp": int(exp if exp is not None else time.time() + 3600)}
        if rooms is not None:
            claims["rooms"] = rooms
        if iss is not None:
            claims["iss"] = iss
        if aud is not None:
            claims["aud"] = aud
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        return signing_input + "." + _b64(self._sign(alg, signing_input.encode()))


class JWKSServer:
    """Serves {"keys": [...]} at any path on 127.0.0.1; counts the requests."""

    def __init__(self, keys: list[Key]):
        self.keys = list(keys)
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                owner.requests += 1
                body = json.dumps({"keys": [key.jwk for key in owner.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
