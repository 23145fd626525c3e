"""The migration runner against a real PostgreSQL: applies once, in order, refuses edited history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from app.migrate import MigrationError, load_migrations, migrate


@pytest.fixture
async def empty_database(pg_server_url: str) -> AsyncIterator[str]:
    name = f"foodai_migrate_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server_url.rsplit("/", 1)[0] + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrate_applies_once_and_is_idempotent(empty_database: str) -> None:
    assert await migrate(empty_database) == [m.name for m in load_migrations()]
    assert await migrate(empty_database) == []
    conn = await asyncpg.connect(empty_database)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        indexes = {r["indexname"] for r in await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'product_recognition_jobs'")}
        ids = [await conn.fetchval("SELECT foodai_uuid_v7()") for _ in range(50)]
    finally:
        await conn.close()
    assert {"users", "product_recognition_jobs", "product_recognition_job_images", "user_item_aliases",
            "schema_migrations"} <= tables
    assert {"idx_product_recognition_jobs_user", "idx_product_recognition_jobs_status"} <= indexes
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids, key=lambda u: u.bytes[:6]) and len(set(ids)) == 50


async def test_concurrent_migrators_apply_each_file_once(empty_database: str) -> None:
    import asyncio

    results = await asyncio.gather(*(migrate(empty_database) for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, len(load_migrations())]


async def test_an_edited_migration_is_refused(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE t (id int);")
    assert await migrate(empty_database, tmp_path) == ["0001_first.sql"]
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE t (id bigint);")
    with pytest.raises(MigrationError, match=r"0001_first\.sql was changed after it was applied"):
        await migrate(empty_database, tmp_path)


async def test_a_failing_migration_leaves_nothing_behind(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "0001_bad.sql").write_text("CREATE TABLE half (id int); SELECT * FROM missing_table;")
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(empty_database, tmp_path)
    conn = await asyncpg.connect(empty_database)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 0
    finally:
        await conn.close()


async def test_image_bytes_are_stored_without_compression(empty_database: str) -> None:
    """0003: JPEG, PNG and WebP do not compress; EXTERNAL storage skips pglz's attempt (still out of line)."""
    await migrate(empty_database)
    conn = await asyncpg.connect(empty_database)
    try:
        storage = await conn.fetchval(
            "SELECT attstorage FROM pg_attribute"
            " WHERE attrelid = 'product_recognition_job_images'::regclass AND attname = 'data'"
        )
        user_id = uuid.uuid4()
        await conn.execute("INSERT INTO users (id) VALUES ($1)", user_id)
        job_id = await conn.fetchval(
            "INSERT INTO product_recognition_jobs (user_id, user_plan, job_type, images)"
            " VALUES ($1, 'free', 'receipt', '[]') RETURNING id", user_id,
        )
        compressible = b"\x00" * 100_000
        await conn.execute(
            "INSERT INTO product_recognition_job_images (job_id, index, mime, sha256, size, data)"
            " VALUES ($1, 0, 'image/png', 'x', $2, $3)", job_id, len(compressible), compressible,
        )
        stored = await conn.fetchrow(
            "SELECT pg_column_compression(data) AS method, pg_column_size(data) AS size"
            " FROM product_recognition_job_images WHERE job_id = $1", job_id,
        )
    finally:
        await conn.close()
    assert storage == b"e"  # "char" comes back as bytes
    assert stored["method"] is None
    assert stored["size"] == len(compressible)
