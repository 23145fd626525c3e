"""Engine and session factories. Nothing is created at import: entrypoints call `create_engine`."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings

SessionFactory = async_sessionmaker[AsyncSession]


def sqlalchemy_url(database_url: str) -> str:
    """DATABASE_URL is a plain libpq URL (asyncpg and psql take it); SQLAlchemy wants its driver named."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def asyncpg_url(database_url: str) -> str:
    """The same URL in the form asyncpg.connect accepts."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_engine(settings: Settings, *, application_name: str = "foodai") -> AsyncEngine:
    """A pooled engine for this process; dispose it on shutdown."""
    return create_async_engine(
        sqlalchemy_url(settings.database_url),
        connect_args={"server_settings": {"application_name": application_name}},
        # 2 x DB_POOL_SIZE kept, no overflow: overflow connections are closed on return, so a busy
        # API opened 16 to 115 new PostgreSQL connections per 1,000 submits (scenario 1)
        pool_size=2 * settings.db_pool_size,
        max_overflow=0,
        # no pre-ping (a round trip per checkout): connections older than this are replaced, and a
        # connection that died with its server fails one statement, which callers retry or recover from
        pool_recycle=1800,
    )


async def create_pool(settings: Settings, *, application_name: str) -> asyncpg.Pool:
    """A plain asyncpg pool for hot paths that run a few fixed statements (the worker's
    transitions in app.repos.transitions): no ORM, no session, one round trip per statement.
    Connections open lazily and a broken one is replaced on its next checkout."""
    return await asyncpg.create_pool(
        asyncpg_url(settings.database_url), min_size=0, max_size=settings.db_pool_size,
        server_settings={"application_name": application_name}, max_inactive_connection_lifetime=1800,
        reset=_keep_session,
    )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (a round trip per checkout): the pool's users
    never LISTEN, lock, SET or leave cursors open, and asyncpg still rolls back an open transaction."""


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded rows usable after commit (no lazy reloads under asyncio)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def database_reachable(engine: AsyncEngine) -> bool:
    """True when a pooled connection answers SELECT 1 within two seconds (for /readyz)."""
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
    except (OSError, TimeoutError, SQLAlchemyError):
        return False
    return True


DB_ERRORS = (OSError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What a lost or refusing database raises, through the ORM or through a plain asyncpg pool."""
