"""Authentication over HTTP and websockets: who may call, and what a caller's token does to their row."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import warnings
from typing import Any

import asyncpg
import jwt
import pytest
import websockets

from app.settings import Settings
from tests.support import SUBMIT_RECEIPT, WATCH_JOB, Api, User, b64, new_user, scripted_image

ME = "{ me { id plan } }"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(uuid.uuid4()), "iat": now, "exp": now + 3600}
    for key, value in overrides.items():
        if value is _DROP:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


_DROP = object()


def _signed(settings: Settings, claims: dict[str, Any], secret: str | None = None) -> str:
    key = secret if secret is not None else settings.jwt_secret.get_secret_value()
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm)


def _unsigned(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, None, algorithm="none")


async def _counts(db: asyncpg.Connection) -> tuple[int, int, int]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM product_recognition_jobs) AS jobs,"
        " (SELECT count(*) FROM product_recognition_job_images) AS images"
    )
    assert row is not None
    return row["users"], row["jobs"], row["images"]


BAD_TOKEN_CASES = [
    "garbage", "three-garbage-parts", "alg-none", "alg-none-paid", "other-secret", "other-hs-algorithm",
    "tampered-payload", "expired", "non-uuid-sub", "numeric-sub", "no-sub", "no-exp", "non-numeric-exp",
    "not-yet-valid", "bad-plan", "upper-case-plan", "no-scheme", "basic-scheme", "bearer-without-token",
]


def _bad_token(settings: Settings, case: str) -> tuple[str, str]:
    """(Authorization header value, exact error message) of one bad-token case."""
    cases = {case_id: (header, message) for case_id, header, message in _bad_tokens(settings)}
    assert list(cases) == BAD_TOKEN_CASES
    return cases[case]


def _bad_tokens(settings: Settings) -> list[tuple[str, str, str]]:
    """(case id, Authorization header value, exact error message)."""
    leeway = settings.jwt_leeway_s
    now = int(time.time())
    invalid = "the token is not valid"
    return [
        ("garbage", "Bearer not-a-jwt", invalid),
        ("three-garbage-parts", "Bearer aaa.bbb.ccc", invalid),
        ("alg-none", "Bearer " + _unsigned(_claims()), invalid),
        ("alg-none-paid", "Bearer " + _unsigned(_claims(plan="paid")), invalid),
        ("other-secret", "Bearer " + _signed(settings, _claims(), secret="another-secret-" + "y" * 32), invalid),
        ("other-hs-algorithm", "Bearer " + _hs512(settings), invalid),
        ("tampered-payload", "Bearer " + _tampered(settings), invalid),
        ("expired", "Bearer " + _signed(settings, _claims(iat=now - 7200, exp=now - leeway - 60)),
         "the token has expired"),
        ("non-uuid-sub", "Bearer " + _signed(settings, _claims(sub="alice")), "the token's subject is not a user id"),
        ("numeric-sub", "Bearer " + _signed(settings, _claims(sub=12345)), invalid),
        ("no-sub", "Bearer " + _signed(settings, _claims(sub=_DROP)), invalid),
        ("no-exp", "Bearer " + _signed(settings, _claims(exp=_DROP)), invalid),
        ("non-numeric-exp", "Bearer " + _signed(settings, _claims(exp="tomorrow")), invalid),
        ("not-yet-valid", "Bearer " + _signed(settings, _claims(nbf=now + leeway + 600)), invalid),
        ("bad-plan", "Bearer " + _signed(settings, _claims(plan="gold")),
         "the token's plan claim must be 'free' or 'paid'"),
        ("upper-case-plan", "Bearer " + _signed(settings, _claims(plan="PAID")),
         "the token's plan claim must be 'free' or 'paid'"),
        ("no-scheme", _signed(settings, _claims()), "an Authorization: Bearer token is required"),
        ("basic-scheme", "Basic dXNlcjpwYXNz", "an Authorization: Bearer token is required"),
        ("bearer-without-token", "Bearer", "an Authorization: Bearer token is required"),
    ]


def _hs512(settings: Settings) -> str:
    """The right secret but another HMAC algorithm than the configured one."""
    assert settings.jwt_algorithm == "HS256"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(_claims(), settings.jwt_secret.get_secret_value(), algorithm="HS512")


def _tampered(settings: Settings) -> str:
    """A correctly signed token whose payload was swapped for another user's (signature no longer matches)."""
    header, _, signature = _signed(settings, _claims()).split(".")
    other = _signed(settings, _claims(plan="paid")).split(".")[1]
    return f"{header}.{other}.{signature}"


# --- HTTP ----------------------------------------------------------------------------------------


async def test_no_authorization_header_is_unauthenticated_and_stores_nothing(
    api: Api, db: asyncpg.Connection
) -> None:
    before = await _counts(db)
    for query, variables in [(ME, {}), (SUBMIT_RECEIPT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}),
                             ("{ productJobs { id } }", {}), ("{ productJobHistory { edges { cursor } } }", {}),
                             ("query($id: ID!) { productJob(id: $id) { id } }", {"id": str(uuid.uuid4())})]:
        response = await api.client.post(api.base_url + "/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200
        body = response.json()
        assert body["data"] == (None if "productJob(" not in query else {"productJob": None}), body
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            ("an Authorization: Bearer token is required", "UNAUTHENTICATED")
        ]
    assert await _counts(db) == before


@pytest.mark.parametrize("case", BAD_TOKEN_CASES)
async def test_bad_token_is_unauthenticated_and_stores_nothing(
    api: Api, settings: Settings, db: asyncpg.Connection, case: str
) -> None:
    authorization, message = _bad_token(settings, case)
    image = {"base64": b64(scripted_image("MILK*1*l*1.19"))}
    before = await _counts(db)
    for query, variables in [(ME, {}), (SUBMIT_RECEIPT, {"images": [image]})]:
        body = await api.gql(query, variables, headers={"Authorization": authorization})
        assert body["data"] is None, body
        assert len(body["errors"]) == 1
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
        assert body["errors"][0]["message"] == message
    assert await _counts(db) == before


async def test_token_expired_within_the_leeway_is_still_accepted(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    assert settings.jwt_leeway_s >= 10
    now = int(time.time())
    user_id = uuid.uuid4()
    token = _signed(settings, _claims(sub=str(user_id), iat=now - 600, exp=now - settings.jwt_leeway_s // 2))
    body = await api.gql(ME, headers={"Authorization": f"Bearer {token}"})
    assert body == {"data": {"me": {"id": str(user_id), "plan": "FREE"}}}
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id) == 1


async def test_scheme_is_case_insensitive(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    body = await api.gql(ME, headers={"Authorization": f"bearer {user.token}"})
    assert body == {"data": {"me": {"id": str(user.id), "plan": "FREE"}}}


async def test_me_provisions_the_user_once(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings, plan=None)
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 0
    assert await api.gql(ME, user=user) == {"data": {"me": {"id": str(user.id), "plan": "FREE"}}}
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 1
    assert await api.gql(ME, user=user) == {"data": {"me": {"id": str(user.id), "plan": "FREE"}}}
    row = await db.fetchrow("SELECT plan FROM users WHERE id = $1", user.id)
    assert row is not None and row["plan"] == "free"
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 1


async def test_plan_claim_updates_the_stored_plan(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()

    def token(plan: str | None) -> User:
        return User(user_id, _signed(settings, _claims(sub=str(user_id), **({"plan": plan} if plan else {}))), plan)

    async def me(plan: str | None) -> str:
        body = await api.gql(ME, user=token(plan))
        assert body["data"]["me"]["id"] == str(user_id), body
        stored = await db.fetchval("SELECT plan FROM users WHERE id = $1", user_id)
        assert body["data"]["me"]["plan"] == stored.upper()
        return str(body["data"]["me"]["plan"])

    assert await me("paid") == "PAID"  # first sight with a plan: stored as given
    assert await me(None) == "PAID"  # no claim keeps what is stored
    assert await me("free") == "FREE"  # a claim wins over the stored plan
    assert await me(None) == "FREE"
    assert await me("paid") == "PAID"
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id) == 1


async def test_submit_uses_the_plan_of_the_token(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()
    image = {"base64": b64(scripted_image("MILK*1*l*1.19"))}
    paid = User(user_id, _signed(settings, _claims(sub=str(user_id), plan="paid")), "paid")
    plain = User(user_id, _signed(settings, _claims(sub=str(user_id))), None)
    first = (await api.gql(SUBMIT_RECEIPT, {"images": [image]}, user=paid))["data"]["submitReceipt"]
    second = (await api.gql(SUBMIT_RECEIPT, {"images": [image]}, user=plain))["data"]["submitReceipt"]
    assert (first["userPlan"], second["userPlan"]) == ("PAID", "PAID")  # submit provisions with the token's plan
    rows = await db.fetch("SELECT user_plan FROM product_recognition_jobs WHERE user_id = $1", user_id)
    assert sorted(r["user_plan"] for r in rows) == ["paid", "paid"]
    assert await db.fetchval("SELECT plan FROM users WHERE id = $1", user_id) == "paid"


# --- websockets ----------------------------------------------------------------------------------


def _ws_url(api: Api) -> str:
    return api.base_url.replace("http://", "ws://") + "/graphql"


async def _closed_after(api: Api, frames: list[dict[str, Any]], subprotocol: str = "graphql-transport-ws"
                        ) -> tuple[int, str, list[dict[str, Any]]]:
    """Send these frames; return the close code and reason, and every frame received before the close."""
    received: list[dict[str, Any]] = []
    async with websockets.connect(_ws_url(api), subprotocols=[subprotocol]) as sock:  # type: ignore[list-item]
        assert sock.subprotocol == subprotocol
        for frame in frames:
            await sock.send(json.dumps(frame))
        with pytest.raises(websockets.ConnectionClosedError) as caught:
            async with asyncio.timeout(15):
                while True:
                    received.append(json.loads(await sock.recv()))
    rcvd = caught.value.rcvd
    assert rcvd is not None
    return rcvd.code, rcvd.reason, received


@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": None}, {"Authorization": ""}, {"token": "x"}],
    ids=["empty", "null", "empty-string", "other-key"],
)
async def test_ws_connection_init_without_authorization_is_closed_4403(
    api: Api, payload: dict[str, Any]
) -> None:
    code, reason, received = await _closed_after(api, [{"type": "connection_init", "payload": payload}])
    assert (code, reason, received) == (4403, "Forbidden", [])


@pytest.mark.parametrize(
    "case", ["garbage", "alg-none", "other-secret", "expired", "non-uuid-sub", "no-exp", "bad-plan", "basic-scheme"]
)
async def test_ws_connection_init_with_a_bad_token_is_closed_4403(
    api: Api, settings: Settings, db: asyncpg.Connection, case: str
) -> None:
    authorization, _ = _bad_token(settings, case)
    before = await _counts(db)
    code, reason, received = await _closed_after(
        api, [{"type": "connection_init", "payload": {"Authorization": authorization}}]
    )
    assert (code, reason, received) == (4403, "Forbidden", [])
    assert await _counts(db) == before


async def test_ws_subscribe_before_connection_init_is_closed_4401(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}, user=user))
    job_id = job["data"]["submitReceipt"]["id"]
    code, reason, received = await _closed_after(
        api, [{"id": "1", "type": "subscribe", "payload": {"query": WATCH_JOB, "variables": {"id": job_id}}}]
    )
    assert (code, reason, received) == (4401, "Unauthorized", [])


async def test_ws_subscribe_after_a_rejected_init_never_runs(api: Api, settings: Settings) -> None:
    """A rejected connection_init closes the socket at once: nothing sent after it is answered."""
    code, reason, received = await _closed_after(api, [
        {"type": "connection_init", "payload": {"Authorization": "Bearer nope"}},
        {"id": "1", "type": "subscribe", "payload": {"query": WATCH_JOB, "variables": {"id": str(uuid.uuid4())}}},
    ])
    assert (code, reason, received) == (4403, "Forbidden", [])


async def test_ws_second_connection_init_is_closed_4429(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}"}}
    code, reason, received = await _closed_after(api, [init, init])
    assert (code, reason, received) == (4429, "Too many initialisation requests", [{"type": "connection_ack"}])


async def test_ws_valid_token_is_acknowledged(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    async with api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}


async def test_ws_lower_case_authorization_key_is_accepted(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    async with api.ws(user=user, init_payload={"authorization": f"Bearer {user.token}"}) as ws:
        assert await ws.recv() == {"type": "connection_ack"}


@pytest.mark.parametrize("value", [42, ["Bearer x"], {"token": "x"}], ids=["number", "list", "object"])
async def test_ws_non_string_authorization_is_closed_4403(api: Api, value: object) -> None:
    init = {"type": "connection_init", "payload": {"Authorization": value}}
    code, reason, received = await _closed_after(api, [init])
    assert (code, reason, received) == (4403, "Forbidden", [])


async def test_ws_legacy_graphql_ws_subprotocol_is_refused(api: Api, settings: Settings) -> None:
    """graphql_legacy_ws=False: the handshake completes without selecting a subprotocol, then 4406."""
    assert settings.graphql_legacy_ws is False
    user = new_user(settings)
    async with websockets.connect(_ws_url(api), subprotocols=["graphql-ws"]) as sock:  # type: ignore[list-item]
        assert sock.subprotocol is None
        assert sock.response is not None
        assert sock.response.status_code == 101
        assert "Sec-WebSocket-Protocol" not in sock.response.headers
        with pytest.raises(websockets.ConnectionClosedError) as caught:
            # legacy clients start with connection_init too; nothing is ever answered
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}"}}
            await sock.send(json.dumps(init))
            await sock.recv()
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4406, "Subprotocol not acceptable")


async def test_ws_with_both_subprotocols_offered_picks_graphql_transport_ws(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    async with websockets.connect(
        _ws_url(api), subprotocols=["graphql-ws", "graphql-transport-ws"]  # type: ignore[list-item]
    ) as sock:
        assert sock.subprotocol == "graphql-transport-ws"
        await sock.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}"}}))
        assert json.loads(await sock.recv()) == {"type": "connection_ack"}
