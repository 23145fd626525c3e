"""Hostile images: the type is read from the bytes, the size and pixel count are capped, broken files are refused.

Every refusal is BAD_USER_INPUT naming the image, and stores nothing (no user, job, image or quota row).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from app.settings import Settings
from tests.integration.security_helpers import (
    HEIC_HEADER,
    NOTHING,
    PE_EXECUTABLE,
    SUBMIT,
    errors_of,
    jpeg_bytes,
    multipart_fields,
    png_bomb,
    stored_for,
    webp_bytes,
)
from tests.support import Api, User, b64, new_user, png_bytes

MIB = 1024 * 1024


async def _upload(api: Api, user: User, files: list[tuple[str, bytes, str]]) -> dict[str, Any]:
    variables = {"images": [{"upload": None} for _ in files]}
    response = await api.client.post(
        api.base_url + "/graphql", data=multipart_fields(SUBMIT, variables, len(files)),
        files={str(i): f for i, f in enumerate(files)},
        headers={**user.headers, "Apollo-Require-Preflight": "true"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _refused(db: asyncpg.Connection, user: User, send: Callable[[], Awaitable[dict[str, Any]]]
                   ) -> list[tuple[str, dict[str, Any]]]:
    body = await send()
    assert body["data"] is None, body
    assert await stored_for(db, user) == NOTHING
    return errors_of(body)


def _bad(index: int, message: str, **extensions: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(f"image {index} {message}", {"code": "BAD_USER_INPUT", "field": f"images.{index}", **extensions})]


async def test_pe_executable_named_jpg_is_refused_by_content(api: Api, settings: Settings, db: asyncpg.Connection
                                                              ) -> None:
    user = new_user(settings)
    errors = await _refused(db, user, lambda: _upload(api, user, [("receipt.jpg", PE_EXECUTABLE, "image/jpeg")]))
    assert errors == _bad(0, "is not a JPEG, PNG, WebP or HEIC image")


async def test_truncated_jpeg_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    whole = jpeg_bytes()
    for cut in (whole[: len(whole) // 2], whole[:600]):
        errors = await _refused(db, user, lambda cut=cut: api.gql(SUBMIT, {"images": [{"base64": b64(cut)}]},
                                                                  user=user))
        assert errors == _bad(0, "is corrupt or truncated")


async def test_corrupt_png_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    good = png_bytes()
    flipped = good[:40] + bytes([good[40] ^ 0xFF]) + good[41:]  # inside IDAT: its CRC no longer matches
    for broken in (flipped, good[:30], good[:8] + b"\x00" * 40):
        errors = await _refused(db, user, lambda b=broken: _upload(api, user, [("x.png", b, "image/png")]))
        assert errors == _bad(0, "is corrupt or truncated")


async def test_png_decompression_bomb_is_refused_before_decoding(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    bomb = png_bomb(30_000, 30_000)
    assert len(bomb) < 200_000  # tiny on the wire
    user = new_user(settings)
    errors = await _refused(db, user, lambda: api.gql(SUBMIT, {"images": [{"base64": b64(bomb)}]}, user=user))
    limit = settings.max_image_pixels
    assert errors == _bad(0, f"has more than {limit} pixels", maxPixels=limit)
    # just over our own cap (below Pillow's), the same refusal with the dimensions
    over = png_bomb(10_000, limit // 10_000 + 1)
    errors = await _refused(db, user, lambda: _upload(api, user, [("o.png", over, "image/png")]))
    assert errors == _bad(0, f"has more than {limit} pixels (10000x{limit // 10_000 + 1})", maxPixels=limit)


async def test_11_mib_upload_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    assert settings.max_image_bytes == 10 * MIB
    user = new_user(settings)
    big = jpeg_bytes() + b"\x00" * (11 * MIB)
    errors = await _refused(db, user, lambda: _upload(api, user, [("big.jpg", big, "image/jpeg")]))
    assert errors == _bad(0, f"is larger than {10 * MIB} bytes", max=10 * MIB)


async def test_bad_second_image_refuses_the_whole_job(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    files = [("a.png", png_bytes(), "image/png"), ("b.jpg", jpeg_bytes()[:500], "image/jpeg")]
    assert await _refused(db, user, lambda: _upload(api, user, files)) == _bad(1, "is corrupt or truncated")


async def test_base64_garbage_is_refused(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    for garbage in ("%%%not base64%%%", "QUJD=", "////", b64(png_bytes())[:-3], "\u00e9t\u00e9"):
        errors = await _refused(db, user, lambda g=garbage: api.gql(SUBMIT, {"images": [{"base64": g}]}, user=user))
        assert errors in (_bad(0, "is not valid base64"), _bad(0, "is not a JPEG, PNG, WebP or HEIC image")), garbage


async def test_upload_variable_that_is_not_a_file_is_refused(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    errors = await _refused(db, user, lambda: api.gql(SUBMIT, {"images": [{"upload": "not a file"}]}, user=user))
    assert errors == _bad(0, "is not a multipart file upload")


@pytest.mark.parametrize(
    ("kind", "data", "mime"),
    [("jpeg", jpeg_bytes(), "image/jpeg"), ("png", png_bytes(), "image/png"), ("webp", webp_bytes(), "image/webp"),
     ("heic", HEIC_HEADER, "image/heic")],
)
async def test_accepted_types_are_stored_with_the_sniffed_type(
    api: Api, settings: Settings, db: asyncpg.Connection, kind: str, data: bytes, mime: str
) -> None:
    """HEIC is accepted by its signature alone (Pillow cannot decode it without a plugin)."""
    user = new_user(settings)
    body = await _upload(api, user, [(f"photo.{kind}", data, "application/octet-stream")])
    assert "errors" not in body, body
    rows = await db.fetch(
        "SELECT i.mime, i.size FROM product_recognition_job_images i JOIN product_recognition_jobs j"
        " ON j.id = i.job_id WHERE j.user_id = $1", user.id,
    )
    assert [(r["mime"], r["size"]) for r in rows] == [(mime, len(data))]
    meta = json.loads(await db.fetchval("SELECT images::text FROM product_recognition_jobs WHERE user_id = $1",
                                        user.id))
    assert [m["mime"] for m in meta] == [mime]
