"""Tokens from identity providers: RS256 with a PEM key, ES256 from a JWKS URL (cached, refreshed on an
unknown kid), aud and iss enforced, the algorithm never taken from the token; and a websocket closed at expiry.

HS256 cases (no token, garbage, alg none, expired, other secret...) are in test_auth.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.auth import SUBJECT_NAMESPACE
from app.settings import Settings
from tests.integration.security_helpers import SUBMIT, Stack, api_with, errors_of, stored
from tests.support import WATCH_JOB, Api, User, b64, new_user, scripted_image

AUDIENCE, ISSUER = "foodai-mobile", "https://auth.example.test/"
ME = "{ me { id plan } }"
INVALID = [("the token is not valid", {"code": "UNAUTHENTICATED"})]
EXPIRED = [("the token has expired", {"code": "UNAUTHENTICATED"})]


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(uuid.uuid4()), "iat": now, "exp": now + 600, "aud": AUDIENCE, "iss": ISSUER}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(pem: str, claims: dict[str, Any]) -> str:
    """The classic confusion attack: HMAC-SHA256 keyed with the server's *public* key (PyJWT won't mint it)."""
    signing_input = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64url(
        json.dumps(claims).encode())
    signature = hmac.new(pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


async def _refused(api: Api, db: asyncpg.Connection, token: str) -> list[tuple[str, dict[str, Any]]]:
    """Submit and read with this token: both refused with one error, nothing stored; that error."""
    before = await stored(db)
    headers = {"Authorization": f"Bearer {token}"}
    submitted = await api.gql(SUBMIT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}, headers=headers)
    me = await api.gql(ME, headers=headers)
    assert submitted["data"] is None and me["data"] is None, (submitted, me)
    assert errors_of(submitted) == errors_of(me)
    assert await stored(db) == before
    return errors_of(me)


# --- RS256 with a PEM public key, aud and iss enforced --------------------------------------------


@pytest.fixture(scope="module")
def rs_key() -> rsa.RSAPrivateKey:
    return _rsa()


@pytest.fixture(scope="module")
async def rs_stack(database_url: str, kafka_bootstrap: str, rs_key: rsa.RSAPrivateKey,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with api_with(database_url, kafka_bootstrap, tmp_path_factory.mktemp("rs"), "rs-api",
                        jwt_public_key=_pem(rs_key), jwt_key_algorithm="RS256", jwt_audience=AUDIENCE,
                        jwt_issuer=ISSUER) as stack:
        yield stack


async def test_rs256_token_of_the_configured_key_is_accepted(rs_stack: Stack, rs_key: rsa.RSAPrivateKey) -> None:
    user_id = uuid.uuid4()
    token = jwt.encode(_claims(sub=str(user_id), plan="paid"), rs_key, algorithm="RS256")
    assert await rs_stack.api.gql(ME, headers={"Authorization": f"Bearer {token}"}) == {
        "data": {"me": {"id": str(user_id), "plan": "PAID"}}
    }


async def test_hs256_signed_with_the_rs_public_key_is_refused(
    rs_stack: Stack, rs_key: rsa.RSAPrivateKey, db: asyncpg.Connection
) -> None:
    token = _hs256_with_public_key(_pem(rs_key), _claims())
    assert await _refused(rs_stack.api, db, token) == INVALID


@pytest.mark.parametrize(
    ("case", "expected"),
    [("alg-none", INVALID), ("other-rsa-key", INVALID), ("es256-not-configured", INVALID), ("hs256-secret", INVALID),
     ("expired", EXPIRED), ("no-exp", INVALID), ("wrong-aud", INVALID), ("no-aud", INVALID),
     ("wrong-iss", INVALID), ("no-iss", INVALID), ("garbage", INVALID), ("aud-list-without-ours", INVALID)],
)
async def test_bad_rs_tokens_are_refused_and_store_nothing(
    rs_stack: Stack, rs_key: rsa.RSAPrivateKey, db: asyncpg.Connection, case: str,
    expected: list[tuple[str, dict[str, Any]]],
) -> None:
    now = int(time.time())
    tokens = {
        "alg-none": lambda: jwt.encode(_claims(), None, algorithm="none"),
        "other-rsa-key": lambda: jwt.encode(_claims(), _rsa(), algorithm="RS256"),
        "es256-not-configured": lambda: jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), "ES256"),
        "hs256-secret": lambda: jwt.encode(_claims(), rs_stack.settings.jwt_secret.get_secret_value(), "HS256"),
        "expired": lambda: jwt.encode(_claims(iat=now - 3600, exp=now - 120), rs_key, algorithm="RS256"),
        "no-exp": lambda: jwt.encode(_claims(exp=None), rs_key, algorithm="RS256"),
        "wrong-aud": lambda: jwt.encode(_claims(aud="someone-else"), rs_key, algorithm="RS256"),
        "no-aud": lambda: jwt.encode(_claims(aud=None), rs_key, algorithm="RS256"),
        "wrong-iss": lambda: jwt.encode(_claims(iss="https://evil.example/"), rs_key, algorithm="RS256"),
        "no-iss": lambda: jwt.encode(_claims(iss=None), rs_key, algorithm="RS256"),
        "garbage": lambda: "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        "aud-list-without-ours": lambda: jwt.encode(_claims(aud=["a", "b"]), rs_key, algorithm="RS256"),
    }
    assert await _refused(rs_stack.api, db, tokens[case]()) == expected


async def test_aud_list_with_ours_is_accepted(rs_stack: Stack, rs_key: rsa.RSAPrivateKey) -> None:
    user_id = uuid.uuid4()
    token = jwt.encode(_claims(sub=str(user_id), aud=["other", AUDIENCE]), rs_key, algorithm="RS256")
    body = await rs_stack.api.gql(ME, headers={"Authorization": f"Bearer {token}"})
    assert body == {"data": {"me": {"id": str(user_id), "plan": "FREE"}}}


# --- ES256 from a JWKS URL (Supabase-style), subjects hashed (Auth0/Firebase-style) -------------


class JwksServer:
    """A JWKS endpoint in this process: the keys it serves can change; it counts fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish(self, kid: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, alg: str) -> None:
        algorithm = jwt.algorithms.ECAlgorithm if alg.startswith("ES") else jwt.algorithms.RSAAlgorithm
        jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
        self.keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="module")
def es_keys() -> dict[str, ec.EllipticCurvePrivateKey]:
    return {"k1": ec.generate_private_key(ec.SECP256R1()), "k2": ec.generate_private_key(ec.SECP256R1())}


@pytest.fixture(scope="module")
async def jwks_stack(database_url: str, kafka_bootstrap: str, jwks_server: JwksServer,
                     es_keys: dict[str, ec.EllipticCurvePrivateKey],
                     tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    jwks_server.publish("k1", es_keys["k1"], "ES256")
    jwks_server.publish("rsa", _rsa(), "RS256")  # another algorithm's key: never used
    async with api_with(database_url, kafka_bootstrap, tmp_path_factory.mktemp("jwks"), "jwks-api",
                        jwt_jwks_url=jwks_server.url, jwt_key_algorithm="ES256", jwt_audience="authenticated",
                        jwt_issuer=ISSUER, jwt_subject="hashed", jwt_plan_claim="app_plan",
                        jwt_jwks_refresh_s=30.0) as stack:
        yield stack


def _es(key: ec.EllipticCurvePrivateKey, kid: str | None, **claims: Any) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(_claims(aud="authenticated", **claims), key, algorithm="ES256", headers=headers)


async def test_jwks_keys_are_fetched_once_and_hashed_subjects_map_to_stable_users(
    jwks_stack: Stack, jwks_server: JwksServer, es_keys: dict[str, ec.EllipticCurvePrivateKey]
) -> None:
    hits = jwks_server.hits
    sub = "auth0|5f7c8ec7c33c6c004bbafe82"
    expected = str(uuid.uuid5(SUBJECT_NAMESPACE, f"{ISSUER}|{sub}"))
    for _ in range(5):
        body = await jwks_stack.api.gql(ME, headers={"Authorization": f"Bearer {_es(es_keys['k1'], 'k1', sub=sub)}"})
        assert body == {"data": {"me": {"id": expected, "plan": "FREE"}}}
    paid = _es(es_keys["k1"], "k1", sub=sub, app_plan="paid")
    assert (await jwks_stack.api.gql(ME, headers={"Authorization": f"Bearer {paid}"}))["data"]["me"]["plan"] == "PAID"
    assert jwks_server.hits - hits <= 1  # the first request may have been the fetch; none after


async def test_jwks_rotation_is_picked_up_on_the_unknown_kid_and_made_up_kids_do_not_refetch(
    jwks_stack: Stack, jwks_server: JwksServer, es_keys: dict[str, ec.EllipticCurvePrivateKey],
    db: asyncpg.Connection,
) -> None:
    await jwks_stack.api.gql(ME, headers={"Authorization": f"Bearer {_es(es_keys['k1'], 'k1')}"})  # warm
    jwks_server.publish("k2", es_keys["k2"], "ES256")
    hits = jwks_server.hits
    user_sub = "firebase-uid-0001"
    body = await jwks_stack.api.gql(ME, headers={"Authorization": f"Bearer {_es(es_keys['k2'], 'k2', sub=user_sub)}"})
    assert body["data"]["me"]["id"] == str(uuid.uuid5(SUBJECT_NAMESPACE, f"{ISSUER}|{user_sub}"))
    assert jwks_server.hits == hits + 1  # one refresh, for the new kid
    # made-up kids within JWT_JWKS_REFRESH_S of that refresh: refused, and no fetch each
    for kid in ("nope-1", "nope-2", "nope-3"):
        forged = _es(ec.generate_private_key(ec.SECP256R1()), kid)
        assert await _refused(jwks_stack.api, db, forged) == INVALID
    assert jwks_server.hits == hits + 1


@pytest.mark.parametrize("case", ["k1-key-other-kid", "rs256-of-the-jwks", "no-kid", "wrong-aud", "wrong-iss"])
async def test_bad_jwks_tokens_are_refused(
    jwks_stack: Stack, es_keys: dict[str, ec.EllipticCurvePrivateKey], db: asyncpg.Connection, case: str
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    tokens = {
        "k1-key-other-kid": lambda: _es(other, "k1"),  # right kid, wrong key
        "rs256-of-the-jwks": lambda: jwt.encode(_claims(aud="authenticated"), _rsa(), "RS256", headers={"kid": "rsa"}),
        "no-kid": lambda: _es(es_keys["k1"], None),
        "wrong-aud": lambda: jwt.encode(_claims(), es_keys["k1"], "ES256", headers={"kid": "k1"}),
        "wrong-iss": lambda: _es(es_keys["k1"], "k1", iss="https://other.example/"),
    }
    assert await _refused(jwks_stack.api, db, tokens[case]()) == INVALID


async def test_jwks_token_authenticates_a_websocket(
    jwks_stack: Stack, es_keys: dict[str, ec.EllipticCurvePrivateKey]
) -> None:
    token = _es(es_keys["k1"], "k1")
    async with jwks_stack.api.ws(user=None, init_payload={"Authorization": f"Bearer {token}"}) as ws:
        assert await ws.recv() == {"type": "connection_ack"}


# --- a websocket lives no longer than its token ---------------------------------------------------


async def test_websocket_is_closed_when_its_token_expires(api: Api, settings: Settings, tmp_path: Path) -> None:
    """A token within the leeway of its exp, 3 s from the end of it: acknowledged, then closed 4403 at expiry,
    with a subscription running on it."""
    owner = new_user(settings)
    job = await api.gql(SUBMIT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}, user=owner)
    job_id = job["data"]["submitReceipt"]["id"]
    now = int(time.time())
    token = jwt.encode({"sub": str(owner.id), "iat": now - 60, "exp": now - settings.jwt_leeway_s + 3},
                       settings.jwt_secret.get_secret_value(), algorithm="HS256")
    expires = now + 3
    url = api.base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as sock:  # type: ignore[list-item]
        await sock.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await sock.recv()) == {"type": "connection_ack"}
        await sock.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": WATCH_JOB, "variables": {"id": job_id}}}))
        with pytest.raises(websockets.ConnectionClosedError) as caught:
            async with asyncio.timeout(15):
                while True:
                    await sock.recv()
        closed_at = time.time()
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4403, "Token expired")
    assert expires - 0.5 <= closed_at <= expires + 3


async def test_websocket_token_far_from_expiry_is_not_closed(api: Api, settings: Settings) -> None:
    user: User = new_user(settings)
    async with api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}
        await ws.send({"type": "ping"})
        assert json.loads(await ws.sock.recv()) == {"type": "pong"}
