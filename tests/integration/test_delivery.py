"""Exactly-once processing: duplicate Kafka deliveries and racing claims leave one result."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from app.domain import JobStatus
from app.jobs import JobStore, NewImage
from app.queue.messages import JobMessage
from app.settings import Settings
from tests.stack import committed_all
from tests.support import SUBMIT_RECEIPT, WATCH_JOB, Api, b64, new_user, scripted_image, store_job


async def test_a_message_delivered_three_times_is_processed_once(
    api: Api, settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    user = new_user(settings)
    gate = tmp_path / "gate"
    image = scripted_image("BREAD*1*pcs*2.10") + f"FOODAI-GATE:{gate}\n".encode()
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}]}, user=user))["data"]["submitReceipt"]
    async with api.ws(user=user) as ws:
        assert (await ws.recv())["type"] == "connection_ack"
        op = await ws.subscribe(WATCH_JOB, {"id": job["id"]})
        states = [(await ws.recv())["payload"]["data"]["productJob"]["status"]]
        if states[0] == "PENDING":
            states.append((await ws.recv())["payload"]["data"]["productJob"]["status"])
        assert states[-1] == "PROCESSING"
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False)
        await producer.start()
        try:
            message = JobMessage(uuid.UUID(job["id"]), "receipt", "free").encode()
            for _ in range(2):
                await producer.send_and_wait(settings.kafka_topic_free, message, key=job["id"].encode())
        finally:
            await producer.stop()
        await committed_all(settings)  # both duplicates were consumed while the job was processing
        gate.touch()
        final = await ws.collect(op)
    assert [p["data"]["productJob"]["status"] for p in final] == ["DONE"]
    row = await db.fetchrow("SELECT status, attempts, result FROM product_recognition_jobs WHERE id = $1",
                            uuid.UUID(job["id"]))
    assert (row["status"], row["attempts"]) == ("done", 1)


async def test_two_workers_racing_for_one_job_claim_it_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        job_id = await store_job(conn, [NewImage(0, "image/png", "0" * 64, 3, b"png")])

    async def claim(worker: str) -> str | None:
        claimed = await JobStore(pool).claim(job_id=job_id, job_type="receipt", worker_id=worker, lease_s=30)
        return worker if claimed else None

    winners = [w for w in await asyncio.gather(*(claim(f"w{i}") for i in range(8))) if w]
    assert len(winners) == 1

    jobs = JobStore(pool)
    loser = await jobs.finish(job_id=job_id, worker_id="not-the-owner", status=JobStatus.DONE, result={}, error=None,
                              images_done=1)
    winner = await jobs.finish(job_id=job_id, worker_id=winners[0], status=JobStatus.FAILED, result=None, error="x",
                               images_done=1)
    again = await jobs.finish(job_id=job_id, worker_id=winners[0], status=JobStatus.DONE, result={}, error=None,
                              images_done=1)
    assert loser is None and again is None
    assert winner is not None and winner.status == "failed"
