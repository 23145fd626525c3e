"""Confirm: store the user's reviewed item list, and learn their corrections as aliases."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence

import asyncpg

from app.auth import Identity
from app.domain import JobStatus, ReviewedItem
from app.errors import BadUserInput, NotFound
from app.jobs import Job, JobStore
from app.recognition.enrich import CATEGORIES, UNITS, Alias, alias_key
from app.repos import users as users_repo

MAX_CONFIRMED_ITEMS = 500


def check_item(item: ReviewedItem, index: int) -> ReviewedItem:
    """Refuse an item a pantry cannot hold; trims the name."""
    field = f"items.{index}"
    name = item.name.strip()
    if not 1 <= len(name) <= 200:
        raise BadUserInput("name must be 1 to 200 characters", field=f"{field}.name")
    if not name.isprintable() or (item.raw_text is not None and "\x00" in item.raw_text):
        raise BadUserInput("name and rawText must be printable text", field=f"{field}.name")
    if not (math.isfinite(item.quantity) and 0 < item.quantity <= 1_000_000):
        raise BadUserInput("quantity must be a positive number", field=f"{field}.quantity")
    if item.unit not in UNITS:
        raise BadUserInput(f"unit must be one of {', '.join(UNITS)}", field=f"{field}.unit")
    if item.category not in CATEGORIES:
        raise BadUserInput(f"category must be one of {', '.join(CATEGORIES)}", field=f"{field}.category")
    if item.raw_text is not None and len(item.raw_text) > 500:
        raise BadUserInput("rawText must be at most 500 characters", field=f"{field}.rawText")
    if item.price is not None and not (math.isfinite(item.price) and 0 <= item.price <= 1_000_000):
        raise BadUserInput("price must be a non-negative number", field=f"{field}.price")
    return ReviewedItem(name, item.quantity, item.unit, item.category, item.raw_text, item.price)


async def confirm_job(
    pool: asyncpg.Pool, identity: Identity, job_id: uuid.UUID, items: Sequence[ReviewedItem]
) -> Job:
    """Store the reviewed list on a DONE job of the caller's and upsert their aliases, atomically."""
    if len(items) > MAX_CONFIRMED_ITEMS:
        raise BadUserInput(f"at most {MAX_CONFIRMED_ITEMS} items", field="items")
    checked = [check_item(item, i) for i, item in enumerate(items)]
    async with pool.acquire() as conn, conn.transaction():
        jobs = JobStore(conn)
        job = await jobs.get_job(job_id=job_id, user_id=identity.user_id)
        if job is None:
            raise NotFound("no such job")
        if job.status != JobStatus.DONE.value:
            raise BadUserInput("only a DONE job can be confirmed", field="id", status=job.status)
        await users_repo.upsert_user(conn, user_id=identity.user_id, plan=identity.plan)
        aliases = {
            alias_key(i.raw_text): Alias(name=i.name, category=i.category, unit=i.unit)
            for i in checked if i.raw_text and alias_key(i.raw_text)
        }
        await users_repo.upsert_aliases(conn, user_id=identity.user_id, aliases=aliases.items())
        confirmed = await jobs.set_confirmed(job_id=job_id, items=ReviewedItem.list_to_json(checked))
    assert confirmed is not None  # the job was read above, in this transaction, and jobs are not deleted
    return confirmed
