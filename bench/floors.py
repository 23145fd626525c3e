"""The floors every scenario is divided by: the same work with nothing of foodai's stack around it.

- `serve`: a bare Starlette app under the same uvicorn settings as `foodai serve`, with
  POST /submit doing what submitReceipt does (verify the token, decode base64, sniff, hash,
  the very statement foodai's submit runs, foodai_submit_job with the same quota limits and
  announcement, then Kafka send_and_wait) on a plain asyncpg pool and one AIOKafkaProducer;
  and POST /noop (read the body, answer a constant) to show how fast the load generator can go.
- `transport_rtt`: a Kafka produce -> consume round trip and a NOTIFY -> LISTEN round trip.
- `sql`: the worker's SQL statements per job, the very strings of app.jobs.queries
  (claim, which also NOTIFYs and returns the images and aliases; finish, which NOTIFYs)
  in a bare asyncpg loop at a given concurrency.

`python -m bench.floors serve --port N` and `python -m bench.floors sql ...` run as their
own processes; settings come from the environment like foodai's own entrypoints.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from app.db import create_pool
from app.jobs import queries
from app.settings import Settings


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# ---------------------------------------------------------------- the bare submit route


def bare_app(settings: Settings) -> Any:
    """Starlette with POST /submit (the submit's work, bare) and POST /noop."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from app.auth import bearer_token, verify_token
    from app.jobs import JobStore, NewImage
    from app.queue.hints import announcement
    from app.services.images import sniff_mime
    from app.services.quotas import QuotaPolicy

    limits = QuotaPolicy.from_settings(settings).limits

    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # foodai's plain pool (no reset query per checkout, as SQLAlchemy's pool has none either),
        # as many connections as the API's engine may open (pool size + overflow)
        wide = settings.model_copy(update={"db_pool_size": settings.db_pool_size * 2})
        pool = await create_pool(wide, application_name="bench-bare-route")
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=0)
        await producer.start()
        state.update(pool=pool, producer=producer)
        try:
            yield
        finally:
            await producer.stop()
            await pool.close()

    async def submit(request: Request) -> Response:
        identity = verify_token(bearer_token(request.headers.get("authorization")) or "", settings)
        payload = json.loads(await request.body())
        data = base64.b64decode(payload["variables"]["images"][0]["base64"], validate=True)
        image = NewImage(0, sniff_mime(data) or "", hashlib.sha256(data).hexdigest(), len(data), data)
        pool: asyncpg.Pool = state["pool"]
        stored = await JobStore(pool).submit(user_id=identity.user_id, plan=identity.plan, job_type="receipt",
                                             lang="en", images=[image], idempotency_key=None, limits=limits,
                                             announce=announcement(settings.topics, ()))
        job = stored.job
        message = json.dumps({"job_id": str(job.id), "job_type": "receipt", "user_plan": job.user_plan},
                             separators=(",", ":")).encode()
        topic = settings.topic_for(job.user_plan)
        await state["producer"].send_and_wait(topic, message, key=str(job.id).encode())
        return JSONResponse({"data": {"submitReceipt": {"id": str(job.id), "status": "PENDING"}}})

    async def noop(request: Request) -> Response:
        await request.body()
        return JSONResponse({"data": {"noop": True}})

    return Starlette(routes=[Route("/submit", submit, methods=["POST"]), Route("/noop", noop, methods=["POST"])],
                     lifespan=lifespan)


def serve(port: int) -> None:
    """Same uvicorn settings as `foodai serve` (app.cli._serve)."""
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(bare_app(Settings()), host="127.0.0.1", port=port, log_level="info", ws="websockets-sansio")


# ---------------------------------------------------------------- transport round trips


async def kafka_rtt(settings: Settings, n: int) -> list[float]:
    """Produce (acks=all, linger 0) -> a consumer with the worker's fetch_max_wait_ms receives it; ms each."""
    topic = f"bench.rtt.{uuid.uuid4().hex[:8]}"
    from app.embedded import ensure_topics

    await ensure_topics(settings.kafka_bootstrap_servers, [topic], 1)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms, auto_offset_reset="earliest")
    await producer.start()
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    arrivals: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()

    async def consume() -> None:
        async for msg in consumer:
            arrivals.put_nowait((msg.value or b"", time.monotonic()))

    reader = asyncio.create_task(consume())
    rtts: list[float] = []
    try:
        await producer.send_and_wait(topic, b"warmup")
        await asyncio.wait_for(arrivals.get(), 30)
        for i in range(n):
            t0 = time.monotonic()
            await producer.send_and_wait(topic, str(i).encode())
            _, t1 = await asyncio.wait_for(arrivals.get(), 10)
            rtts.append((t1 - t0) * 1000)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
    return rtts


async def notify_rtt(database_url: str, n: int) -> list[float]:
    """NOTIFY from inside a committed transaction -> an asyncpg LISTEN callback; ms each."""
    listener = await asyncpg.connect(_dsn(database_url))
    sender = await asyncpg.connect(_dsn(database_url))
    arrived: asyncio.Queue[float] = asyncio.Queue()
    await listener.add_listener("bench_rtt", lambda *_: arrived.put_nowait(time.monotonic()))
    rtts: list[float] = []
    try:
        for i in range(n + 1):
            t0 = time.monotonic()
            async with sender.transaction():
                await sender.execute("SELECT pg_notify('bench_rtt', $1)", json.dumps({"id": str(uuid.uuid4())}))
            t1 = await asyncio.wait_for(arrived.get(), 10)
            if i:  # the first is a warm-up
                rtts.append((t1 - t0) * 1000)
    finally:
        await listener.close()
        await sender.close()
    return rtts


# ---------------------------------------------------------------- the worker's SQL, bare


async def bare_worker_sql(database_url: str, ids: list[uuid.UUID], concurrency: int) -> dict[str, Any]:
    """Run the worker's statements for every job id with `concurrency` jobs in flight; jobs/s."""
    pool = await create_pool(Settings(database_url=database_url, db_pool_size=20), application_name="bench-floor")
    worker_id = f"bare:{os.getpid()}"
    queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    for i in ids:
        queue.put_nowait(i)
    result_doc = json.dumps({"items": [{"name": "Milk", "raw_text": "MILK 1L", "quantity": 1.0, "unit": "l",
                                        "category": "dairy", "confidence": 0.9, "image_index": 0, "price": 1.19}],
                             "images": [{"index": 0, "status": "done", "item_count": 1, "duration_ms": 0,
                                         "error": None, "note": None}], "receipt": None})

    async def one(job_id: uuid.UUID) -> None:
        async with pool.acquire() as conn:
            job = await conn.fetchrow(queries.CLAIM, job_id, "receipt", worker_id, 60.0)
        json.loads(job["aliases"])
        hashlib.sha256(job["image_data"][0]).digest()  # what the zero-latency fake recognizer does with the bytes
        async with pool.acquire() as conn:
            await conn.fetchrow(queries.FINISH, job_id, worker_id, "done", result_doc, None, len(job["image_data"]))

    async def runner() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    t0 = time.monotonic()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    wall = time.monotonic() - t0
    await pool.close()
    return {"jobs": len(ids), "wall_s": wall, "jobs_per_s": len(ids) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.floors")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    q = sub.add_parser("sql")
    q.add_argument("--ids-file", required=True)
    q.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if args.cmd == "serve":
        serve(args.port)
    else:
        with open(args.ids_file) as f:
            ids = [uuid.UUID(line.strip()) for line in f if line.strip()]
        result = asyncio.run(bare_worker_sql(Settings().database_url, ids, args.concurrency))
        sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
