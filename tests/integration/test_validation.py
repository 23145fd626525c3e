"""Input validation: every refused submit or confirm is BAD_USER_INPUT and stores nothing at all."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.settings import Settings
from tests.support import (
    SUBMIT_PRODUCTS,
    SUBMIT_RECEIPT,
    WATCH_JOB,
    Api,
    User,
    b64,
    new_user,
    png_bytes,
    scripted_image,
)

PE_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program"
ONE_OF = "OneOf Input Object 'ImageInput' must specify exactly one key."
LANG_ERROR = ("lang must be a language tag such as 'en' or 'de-CH'", {"code": "BAD_USER_INPUT", "field": "lang"})
KEY_ERROR = (
    "idempotencyKey must be 1 to 128 printable ASCII characters",
    {"code": "BAD_USER_INPUT", "field": "idempotencyKey"},
)
SUBMIT_WITH_KEY = (
    "mutation($images: [ImageInput!]!, $key: String) {"
    " submitReceipt(images: $images, idempotencyKey: $key) { id imageCount status } }"
)
UPLOAD_RECEIPT = (
    "mutation($images: [ImageInput!]!) { submitReceipt(images: $images) { id imageCount } }"
)
CONFIRM = (
    "mutation($id: ID!, $items: [ConfirmedItemInput!]!) { confirmProductJob(id: $id, items: $items) {"
    " id status confirmedAt confirmedItems { name quantity unit category rawText price } } }"
)


def _image(payload: str = "MILK 1L*1*l*1.19") -> dict[str, str]:
    return {"base64": b64(scripted_image(payload))}


def _png_of_size(size: int) -> bytes:
    data = png_bytes()
    return data + b"\x00" * (size - len(data))


async def _stored(db: asyncpg.Connection, user: User) -> dict[str, int]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM users WHERE id = $1) AS user_rows,"
        " (SELECT count(*) FROM product_recognition_jobs WHERE user_id = $1) AS jobs,"
        " (SELECT count(*) FROM product_recognition_job_images i JOIN product_recognition_jobs j ON j.id = i.job_id"
        "   WHERE j.user_id = $1) AS images,"
        " (SELECT count(*) FROM product_recognition_jobs) AS all_jobs,"
        " (SELECT count(*) FROM product_recognition_job_images) AS all_images,"
        " (SELECT count(*) FROM users) AS all_users",
        user.id,
    )
    assert row is not None
    return dict(row)


NOTHING = {"user_rows": 0, "jobs": 0, "images": 0}


def _errors(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(e["message"], e["extensions"]) for e in body.get("errors", [])]


async def _refused(api: Api, db: asyncpg.Connection, user: User, send: Any) -> list[tuple[str, dict[str, Any]]]:
    """Run one refused request; assert nothing is stored (not even the user); its errors."""
    before = await _stored(db, user)
    assert {k: before[k] for k in NOTHING} == NOTHING
    body = await send()
    assert body["data"] is None, body
    assert await _stored(db, user) == before
    return _errors(body)


# --- submit: refused inputs ----------------------------------------------------------------------


BASE64_CASES: list[tuple[str, dict[str, Any], tuple[str, dict[str, Any]]]] = [
    ("zero-images", {"images": []},
     ("at least one image is required", {"code": "BAD_USER_INPUT", "field": "images"})),
    ("eleven-images", {"images": [_image()] * 11},
     ("at most 10 images per job", {"code": "BAD_USER_INPUT", "field": "images", "max": 10})),
    ("not-base64", {"images": [{"base64": "this is not base64!"}]},
     ("image 0 is not valid base64", {"code": "BAD_USER_INPUT", "field": "images.0"})),
    ("base64-bad-padding", {"images": [{"base64": "iVBORw0KGgo"}]},
     ("image 0 is not valid base64", {"code": "BAD_USER_INPUT", "field": "images.0"})),
    ("base64-url-alphabet", {"images": [{"base64": b64(b"\xfb\xff" * 8).replace("/", "_").replace("+", "-")}]},
     ("image 0 is not valid base64", {"code": "BAD_USER_INPUT", "field": "images.0"})),
    ("empty-base64", {"images": [{"base64": ""}]},
     ("image 0 needs base64 or upload", {"code": "BAD_USER_INPUT", "field": "images.0"})),
    ("pe-executable", {"images": [{"base64": b64(PE_EXECUTABLE)}]},
     ("image 0 is not a JPEG, PNG, WebP or HEIC image", {"code": "BAD_USER_INPUT", "field": "images.0"})),
    ("second-image-not-an-image", {"images": [_image(), {"base64": b64(b"GIF89a" + b"\x00" * 32)}]},
     ("image 1 is not a JPEG, PNG, WebP or HEIC image", {"code": "BAD_USER_INPUT", "field": "images.1"})),
    ("lang-10000", {"images": [_image()], "lang": "e" * 10_000}, LANG_ERROR),
    ("lang-e!", {"images": [_image()], "lang": "e!"}, LANG_ERROR),
    ("lang-empty", {"images": [_image()], "lang": ""}, LANG_ERROR),
    ("key-200", {"images": [_image()], "key": "k" * 200}, KEY_ERROR),
    ("key-129", {"images": [_image()], "key": "k" * 129}, KEY_ERROR),
    ("key-empty", {"images": [_image()], "key": ""}, KEY_ERROR),
    ("key-space", {"images": [_image()], "key": "a b"}, KEY_ERROR),
    ("key-non-ascii", {"images": [_image()], "key": "schlüssel"}, KEY_ERROR),
    ("both-base64-and-upload", {"images": [{"base64": b64(png_bytes()), "upload": None}]},
     (ONE_OF, {"code": "BAD_USER_INPUT"})),
    ("neither-base64-nor-upload", {"images": [{}]}, (ONE_OF, {"code": "BAD_USER_INPUT"})),
    ("null-base64", {"images": [{"base64": None}]},
     ("Value for member field 'base64' must be non-null", {"code": "BAD_USER_INPUT"})),
]
SUBMIT_ANY = (
    "mutation($images: [ImageInput!]!, $lang: String! = \"en\", $key: String) {"
    " submitReceipt(images: $images, lang: $lang, idempotencyKey: $key) { id } }"
)


@pytest.mark.parametrize(("variables", "expected"), [c[1:] for c in BASE64_CASES], ids=[c[0] for c in BASE64_CASES])
async def test_refused_submit_is_bad_user_input_and_stores_nothing(
    api: Api, settings: Settings, db: asyncpg.Connection, variables: dict[str, Any],
    expected: tuple[str, dict[str, Any]],
) -> None:
    assert settings.max_images_per_job == 10
    user = new_user(settings)
    errors = await _refused(api, db, user, lambda: api.gql(SUBMIT_ANY, variables, user=user))
    assert errors == [expected]


async def test_refused_products_submit_too(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    errors = await _refused(api, db, user, lambda: api.gql(SUBMIT_PRODUCTS, {"images": []}, user=user))
    assert errors == [("at least one image is required", {"code": "BAD_USER_INPUT", "field": "images"})]


async def test_oneof_written_inline_in_the_document(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    query = 'mutation { submitReceipt(images: [{base64: "aGk=", upload: null}]) { id } }'
    errors = await _refused(api, db, user, lambda: api.gql(query, user=user))
    assert errors == [(ONE_OF, {"code": "BAD_USER_INPUT"})]


async def test_oversize_base64_image_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    limit = settings.max_image_bytes
    user = new_user(settings)
    expected = [(f"image 0 is larger than {limit} bytes",
                 {"code": "BAD_USER_INPUT", "field": "images.0", "max": limit})]
    one_over = {"images": [{"base64": b64(_png_of_size(limit + 1))}]}
    assert await _refused(api, db, user, lambda: api.gql(SUBMIT_ANY, one_over, user=user)) == expected
    # far over
    far_over = {"images": [{"base64": b64(_png_of_size(2 * limit))}]}
    assert await _refused(api, db, user, lambda: api.gql(SUBMIT_ANY, far_over, user=user)) == expected
    # a data: URL prefix does not smuggle extra bytes past the limit
    data_url = {"images": [{"base64": "data:image/png;base64," + b64(_png_of_size(limit + 1))}]}
    assert await _refused(api, db, user, lambda: api.gql(SUBMIT_ANY, data_url, user=user)) == expected


async def test_image_of_exactly_the_limit_is_accepted(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    limit = settings.max_image_bytes
    user = new_user(settings)
    body = await api.gql(SUBMIT_ANY, {"images": [{"base64": b64(_png_of_size(limit))}]}, user=user)
    assert "errors" not in body, _errors(body)
    sizes = await db.fetch(
        "SELECT i.size, length(i.data) AS stored, i.mime FROM product_recognition_job_images i"
        " WHERE i.job_id = $1", uuid.UUID(body["data"]["submitReceipt"]["id"])
    )
    assert [(r["size"], r["stored"], r["mime"]) for r in sizes] == [(limit, limit, "image/png")]


async def test_base64_with_line_breaks_is_accepted(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    """MIME-style base64 (76-character lines) decodes to the same image."""
    user = new_user(settings)
    image = scripted_image("MILK 1L*1*l*1.19")
    encoded = b64(image)
    wrapped = "\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    assert "\n" in wrapped
    body = await api.gql(SUBMIT_ANY, {"images": [{"base64": wrapped}]}, user=user)
    assert "errors" not in body, _errors(body)
    stored = await db.fetchval(
        "SELECT data FROM product_recognition_job_images WHERE job_id = $1",
        uuid.UUID(body["data"]["submitReceipt"]["id"]),
    )
    assert stored == image


def _multipart(api: Api, user: User, files: list[bytes], variables_images: list[dict[str, Any]] | None = None
               ) -> Any:
    images = variables_images if variables_images is not None else [{"upload": None} for _ in files]
    return api.multipart(
        UPLOAD_RECEIPT, {"images": images},
        files={str(i): (f"f{i}.png", data, "image/png") for i, data in enumerate(files)},
        mapping={str(i): [f"variables.images.{i}.upload"] for i in range(len(files))},
        user=user,
    )


async def test_oversize_upload_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    limit = settings.max_image_bytes
    user = new_user(settings)
    errors = await _refused(api, db, user, lambda: _multipart(api, user, [_png_of_size(limit + 1)]))
    assert errors == [
        (f"image 0 is larger than {limit} bytes", {"code": "BAD_USER_INPUT", "field": "images.0", "max": limit})
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([PE_EXECUTABLE], ("image 0 is not a JPEG, PNG, WebP or HEIC image", "images.0")),
        ([scripted_image("A*1*pcs*1"), PE_EXECUTABLE], ("image 1 is not a JPEG, PNG, WebP or HEIC image", "images.1")),
        ([b""], ("image 0 is empty", "images.0")),
    ],
    ids=["pe-executable", "second-is-pe", "empty-file"],
)
async def test_refused_upload(
    api: Api, settings: Settings, db: asyncpg.Connection, files: list[bytes], expected: tuple[str, str]
) -> None:
    user = new_user(settings)
    errors = await _refused(api, db, user, lambda: _multipart(api, user, files))
    assert errors == [(expected[0], {"code": "BAD_USER_INPUT", "field": expected[1]})]


async def test_upload_and_base64_in_one_input_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    both = [{"upload": None, "base64": b64(png_bytes())}]
    errors = await _refused(api, db, user, lambda: _multipart(api, user, [png_bytes()], both))
    assert errors == [(ONE_OF, {"code": "BAD_USER_INPUT"})]


@pytest.mark.parametrize("variables", [{"lang": "en\n"}, {"key": "abc\n"}], ids=["lang", "key"])
async def test_trailing_newline_is_refused(
    api: Api, settings: Settings, db: asyncpg.Connection, variables: dict[str, str]
) -> None:
    user = new_user(settings)
    errors = await _refused(api, db, user, lambda: api.gql(SUBMIT_ANY, {"images": [_image()], **variables}, user=user))
    assert [e[1]["code"] for e in errors] == ["BAD_USER_INPUT"]


# --- idempotency ---------------------------------------------------------------------------------


async def _job_rows(db: asyncpg.Connection, user: User) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT j.id, j.idempotency_key, (SELECT count(*) FROM product_recognition_job_images i WHERE i.job_id = j.id)"
        " AS images FROM product_recognition_jobs j WHERE j.user_id = $1 ORDER BY j.created_at",
        user.id,
    )


async def test_same_key_twice_returns_the_same_job_and_stores_one(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    key = "order-" + uuid.uuid4().hex
    first = await api.gql(SUBMIT_WITH_KEY, {"images": [_image(), _image("BREAD*1*pcs*2")], "key": key}, user=user)
    # the retry carries other images: the first job is still the answer
    second = await api.gql(SUBMIT_WITH_KEY, {"images": [_image("EGGS*10*pcs*3")], "key": key}, user=user)
    assert "errors" not in first and "errors" not in second, (first, second)
    assert second["data"]["submitReceipt"]["id"] == first["data"]["submitReceipt"]["id"]
    assert second["data"]["submitReceipt"]["imageCount"] == 2
    rows = await _job_rows(db, user)
    assert [(str(r["id"]), r["idempotency_key"], r["images"]) for r in rows] == [
        (first["data"]["submitReceipt"]["id"], key, 2)
    ]


async def test_same_key_sent_concurrently_stores_one_job(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    await api.gql("{ me { id } }", user=user)  # the user exists, so only the job insert races
    key = "burst-" + uuid.uuid4().hex
    bodies = await asyncio.gather(
        *(api.gql(SUBMIT_WITH_KEY, {"images": [_image()], "key": key}, user=user) for _ in range(8))
    )
    assert all("errors" not in b for b in bodies), bodies
    ids = {b["data"]["submitReceipt"]["id"] for b in bodies}
    assert len(ids) == 1
    rows = await _job_rows(db, user)
    assert [(str(r["id"]), r["images"]) for r in rows] == [(ids.pop(), 1)]


async def test_same_key_from_another_user_is_another_job(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    alice, bob = new_user(settings), new_user(settings)
    key = "shared-" + uuid.uuid4().hex
    a = (await api.gql(SUBMIT_WITH_KEY, {"images": [_image()], "key": key}, user=alice))["data"]["submitReceipt"]
    b = (await api.gql(SUBMIT_WITH_KEY, {"images": [_image()], "key": key}, user=bob))["data"]["submitReceipt"]
    assert a["id"] != b["id"]
    assert [(str(r["id"]), r["idempotency_key"]) for r in await _job_rows(db, alice)] == [(a["id"], key)]
    assert [(str(r["id"]), r["idempotency_key"]) for r in await _job_rows(db, bob)] == [(b["id"], key)]


async def test_without_a_key_every_submit_is_a_new_job(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    a = (await api.gql(SUBMIT_WITH_KEY, {"images": [_image()]}, user=user))["data"]["submitReceipt"]["id"]
    b = (await api.gql(SUBMIT_WITH_KEY, {"images": [_image()]}, user=user))["data"]["submitReceipt"]["id"]
    assert a != b
    assert [(str(r["id"]), r["idempotency_key"]) for r in await _job_rows(db, user)] == [(a, None), (b, None)]


# --- confirm -------------------------------------------------------------------------------------

ITEM = {"name": "Milk", "quantity": 1.0, "unit": "l", "category": "dairy", "rawText": "MILK 1L", "price": 1.19}


async def _submit_and_finish(api: Api, user: User, image: bytes) -> dict[str, Any]:
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}]}, user=user))["data"]["submitReceipt"]
    async with api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}
        op = await ws.subscribe(WATCH_JOB, {"id": job["id"]})
        events = await ws.collect(op)
    return dict(events[-1]["data"]["productJob"])


async def _confirm_state(db: asyncpg.Connection, job_id: str, user: User) -> tuple[Any, Any, int]:
    row = await db.fetchrow(
        "SELECT confirmed_items, confirmed_at FROM product_recognition_jobs WHERE id = $1", uuid.UUID(job_id)
    )
    assert row is not None
    aliases = await db.fetchval("SELECT count(*) FROM user_item_aliases WHERE user_id = $1", user.id)
    return row["confirmed_items"], row["confirmed_at"], aliases


async def test_confirm_of_a_job_not_yet_done_is_refused(
    api: Api, settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    user = new_user(settings)
    gate = tmp_path / "gate"
    image = scripted_image("MILK 1L*1*l*1.19") + f"FOODAI-GATE:{gate}\n".encode()
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}]}, user=user))["data"]["submitReceipt"]
    try:
        async with api.ws(user=user) as ws:
            assert await ws.recv() == {"type": "connection_ack"}
            op = await ws.subscribe(WATCH_JOB, {"id": job["id"]})
            status = (await ws.recv())["payload"]["data"]["productJob"]["status"]
            if status == "PENDING":
                status = (await ws.recv())["payload"]["data"]["productJob"]["status"]
            assert status == "PROCESSING"  # held at the gate by the fake recognizer
            body = await api.gql(CONFIRM, {"id": job["id"], "items": [ITEM]}, user=user)
            assert body["data"] is None
            assert _errors(body) == [("only a DONE job can be confirmed",
                                      {"code": "BAD_USER_INPUT", "field": "id", "status": "processing"})]
            assert await _confirm_state(db, job["id"], user) == (None, None, 0)
            gate.touch()
            events = await ws.collect(op)
    finally:
        gate.touch()
    assert events[-1]["data"]["productJob"]["status"] == "DONE"
    # now DONE, the same request is accepted
    body = await api.gql(CONFIRM, {"id": job["id"], "items": [ITEM]}, user=user)
    assert "errors" not in body, body
    assert body["data"]["confirmProductJob"]["status"] == "DONE"


async def test_confirm_of_a_failed_job_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    job = await _submit_and_finish(api, user, png_bytes("FOODAI-FAIL"))
    assert job["status"] == "FAILED"
    body = await api.gql(CONFIRM, {"id": job["id"], "items": [ITEM]}, user=user)
    assert body["data"] is None
    assert _errors(body) == [
        ("only a DONE job can be confirmed", {"code": "BAD_USER_INPUT", "field": "id", "status": "failed"})
    ]
    assert await _confirm_state(db, job["id"], user) == (None, None, 0)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"unit": "bag"}, ("unit must be one of pcs, g, kg, ml, l", "items.0.unit")),
        ({"unit": "KG"}, ("unit must be one of pcs, g, kg, ml, l", "items.0.unit")),
        ({"category": "toys"}, ("category must be one of produce, dairy, meat, fish, bakery, frozen, pantry, "
                                "beverages, snacks, household, other", "items.0.category")),
        ({"name": "   "}, ("name must be 1 to 200 characters", "items.0.name")),
        ({"name": "n" * 201}, ("name must be 1 to 200 characters", "items.0.name")),
        ({"quantity": 0.0}, ("quantity must be a positive number", "items.0.quantity")),
        ({"quantity": -1.0}, ("quantity must be a positive number", "items.0.quantity")),
        ({"quantity": 1_000_001.0}, ("quantity must be a positive number", "items.0.quantity")),
        ({"price": -0.01}, ("price must be a non-negative number", "items.0.price")),
        ({"rawText": "r" * 501}, ("rawText must be at most 500 characters", "items.0.rawText")),
    ],
    ids=["bag", "upper-case-unit", "category", "blank-name", "long-name", "zero-qty", "negative-qty", "huge-qty",
         "negative-price", "long-raw-text"],
)
async def test_confirm_with_a_bad_item_is_refused(
    api: Api, settings: Settings, db: asyncpg.Connection, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    user = new_user(settings)
    job = await _submit_and_finish(api, user, scripted_image("MILK 1L*1*l*1.19"))
    assert job["status"] == "DONE"
    body = await api.gql(CONFIRM, {"id": job["id"], "items": [ITEM, {**ITEM, **change}]}, user=user)
    assert body["data"] is None
    message, field = expected
    assert _errors(body) == [(message, {"code": "BAD_USER_INPUT", "field": field.replace("items.0", "items.1")})]
    assert await _confirm_state(db, job["id"], user) == (None, None, 0)


async def test_confirm_of_a_done_job_stores_the_items_and_aliases(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    job = await _submit_and_finish(api, user, scripted_image("MILK 1L*1*l*1.19;BRD WHT*1*pcs*2.10"))
    assert job["status"] == "DONE"
    items = [
        {**ITEM, "name": "  Milk  "},
        {"name": "White bread", "quantity": 2.0, "unit": "pcs", "category": "bakery", "rawText": "BRD  wht"},
        {"name": "Salt", "quantity": 500.0, "unit": "g", "category": "pantry"},
    ]
    body = await api.gql(CONFIRM, {"id": job["id"], "items": items}, user=user)
    assert "errors" not in body, body
    confirmed = body["data"]["confirmProductJob"]
    assert confirmed["id"] == job["id"] and confirmed["status"] == "DONE" and confirmed["confirmedAt"] is not None
    assert confirmed["confirmedItems"] == [
        {"name": "Milk", "quantity": 1.0, "unit": "l", "category": "dairy", "rawText": "MILK 1L", "price": 1.19},
        {"name": "White bread", "quantity": 2.0, "unit": "pcs", "category": "bakery", "rawText": "BRD  wht",
         "price": None},
        {"name": "Salt", "quantity": 500.0, "unit": "g", "category": "pantry", "rawText": None, "price": None},
    ]
    stored, confirmed_at, _ = await _confirm_state(db, job["id"], user)
    assert confirmed_at is not None
    assert json.loads(stored) == [
        {"name": "Milk", "quantity": 1.0, "unit": "l", "category": "dairy", "raw_text": "MILK 1L", "price": 1.19},
        {"name": "White bread", "quantity": 2.0, "unit": "pcs", "category": "bakery", "raw_text": "BRD  wht",
         "price": None},
        {"name": "Salt", "quantity": 500.0, "unit": "g", "category": "pantry", "raw_text": None, "price": None},
    ]
    aliases = await db.fetch(
        "SELECT raw_key, name, category, unit FROM user_item_aliases WHERE user_id = $1 ORDER BY raw_key", user.id
    )
    assert [tuple(a) for a in aliases] == [
        ("brd wht", "White bread", "bakery", "pcs"), ("milk 1l", "Milk", "dairy", "l")
    ]
    # a second confirm replaces the first
    again = await api.gql(CONFIRM, {"id": job["id"], "items": [items[2]]}, user=user)
    assert [i["name"] for i in again["data"]["confirmProductJob"]["confirmedItems"]] == ["Salt"]
    stored, _, alias_count = await _confirm_state(db, job["id"], user)
    assert [i["name"] for i in json.loads(stored)] == ["Salt"] and alias_count == 2
