"""Helpers of the security tests: API processes with settings of their own, hostile files, stored counts."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from PIL import Image

from app.settings import Settings
from tests.conftest import make_settings
from tests.support import Api, ChildProcess, User, serving

SUBMIT = (
    "mutation($images: [ImageInput!]!, $lang: String! = \"en\") { submitReceipt(images: $images, lang: $lang) { id } }"
)
PE_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"This program cannot be run"


@dataclass
class Stack:
    """An API process of its own settings (no worker: submitted jobs stay pending)."""

    api: Api
    settings: Settings
    child: ChildProcess


@asynccontextmanager
async def api_with(database_url: str, kafka_bootstrap: str, log_dir: Path, name: str = "sec-api",
                   settings: Settings | None = None, **overrides: object) -> AsyncIterator[Stack]:
    """Start `foodai serve` with make_settings(**overrides) (or `settings`); stop it cleanly afterwards."""
    settings = settings or make_settings(database_url, kafka_bootstrap, **overrides)
    async with serving(settings, log_dir, name) as served:
        yield Stack(served.api, settings, served.api_child)


async def stored(db: asyncpg.Connection) -> dict[str, int]:
    """Rows in every table a request could write to."""
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM product_recognition_jobs) AS jobs,"
        " (SELECT count(*) FROM product_recognition_job_images) AS images,"
        " (SELECT count(*) FROM user_item_aliases) AS aliases,"
        " (SELECT coalesce(sum(count), 0) FROM quota_counters) AS quota"
    )
    assert row is not None
    return dict(row)


async def stored_for(db: asyncpg.Connection, user: User) -> dict[str, int]:
    """One user's rows (safe to compare while other tests run against the same database)."""
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM users WHERE id = $1) AS users,"
        " (SELECT count(*) FROM product_recognition_jobs WHERE user_id = $1) AS jobs,"
        " (SELECT count(*) FROM product_recognition_job_images i JOIN product_recognition_jobs j ON j.id = i.job_id"
        "   WHERE j.user_id = $1) AS images,"
        " (SELECT coalesce(sum(count), 0) FROM quota_counters WHERE user_id = $1) AS quota",
        user.id,
    )
    assert row is not None
    return dict(row)


NOTHING = {"users": 0, "jobs": 0, "images": 0, "quota": 0}


def errors_of(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(e["message"], e.get("extensions", {})) for e in body.get("errors", [])]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid 1-bit greyscale PNG of width x height zero pixels: ~100 KiB on the wire, 900 MP decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_bytes(size: tuple[int, int] = (320, 240)) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def webp_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "green").save(buf, format="WEBP")
    return buf.getvalue()


HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def multipart_fields(query: str, variables: dict[str, Any], count: int) -> dict[str, str]:
    return {
        "operations": json.dumps({"query": query, "variables": variables}),
        "map": json.dumps({str(i): [f"variables.images.{i}.upload"] for i in range(count)}),
    }
