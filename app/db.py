"""The process's PostgreSQL pool (plain asyncpg). Nothing is created at import: entrypoints call `create_pool`.

Every statement of the API and the worker goes through this pool: the job store (app.jobs),
users and aliases, quota windows and barcodes (app.repos). SQLModel only describes the tables
(app.models); it opens no connection (docs/architecture.md, "Reaching PostgreSQL").
"""

from __future__ import annotations

import asyncio

import asyncpg

from app.settings import Settings


def asyncpg_url(database_url: str) -> str:
    """DATABASE_URL is a plain libpq URL; an SQLAlchemy-style one (postgresql+asyncpg://) is accepted too."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_pool(settings: Settings, *, application_name: str) -> asyncpg.Pool:
    """The process's pool, up to DB_POOL_SIZE connections: fixed statements, one round trip each, prepared
    once per connection. Connections open lazily and a broken one is replaced on its next checkout."""
    return await asyncpg.create_pool(
        asyncpg_url(settings.database_url), min_size=0, max_size=settings.db_pool_size,
        server_settings={"application_name": application_name}, max_inactive_connection_lifetime=1800,
        reset=_keep_session,
    )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (a round trip per checkout): the pool's users
    never LISTEN, SET or leave cursors open, and asyncpg still rolls back an open transaction."""


async def database_reachable(pool: asyncpg.Pool) -> bool:
    """True when a pooled connection answers SELECT 1 within two seconds (for /readyz)."""
    try:
        async with asyncio.timeout(2):
            await pool.fetchval("SELECT 1")
    except (TimeoutError, *DB_ERRORS):
        return False
    return True


DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
"""What a lost or refusing database raises: every connect, reconnect and re-read loop retries these.

InternalClientError belongs here: a connection that opens while the server is shutting down
receives an unsolicited FATAL, and its next statement raises "cannot switch to state N; another
operation is in progress" instead of ConnectionDoesNotExistError. Hammering connect, LISTEN and
SELECT 1 through 15 restarts of the embedded server raised it on 10 of 2,500 attempts; before it
was listed, one such error ended the API's LISTEN supervisor or a worker's sweep for good."""
