"""Submit hints: a job announced at its commit is claimed by the idle worker owning its partition,
before and without its Kafka record, and the record that follows is settled without a second claim."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from app.jobs import NewImage
from app.queue.consumer import Hint, PriorityConsumer, partition_of
from app.queue.hints import CHANNEL, announcement, parse_hint
from app.queue.messages import JobMessage
from app.queue.producer import ensure_job_topics
from app.settings import Settings
from tests.stack import committed_all, terminate, wait_logged, wait_statuses, worker_stats
from tests.support import scripted_image, store_job


def _image(items: str) -> list[NewImage]:
    data = scripted_image(items)
    return [NewImage(0, "image/png", "0" * 64, len(data), data)]


def _own_topics(settings: Settings) -> Settings:
    run = uuid.uuid4().hex[:8]
    return settings.model_copy(update={"kafka_topic_paid": f"test.hints.{run}.paid",
                                       "kafka_topic_free": f"test.hints.{run}.free",
                                       "kafka_group_id": f"test-hints-{run}"})


async def test_an_announced_job_is_claimed_without_its_record_and_the_record_is_only_settled(stack_factory) -> None:
    stack = stack_factory(worker_republish_after_s=3600)  # the sweeper must not publish it: only the hint may
    db = await stack.db()
    worker = stack.start_worker()
    await wait_logged(worker, "assigned partitions")
    await wait_logged(worker, f"submit hints: listening on {CHANNEL}")

    job_id = await store_job(db, _image("BREAD*1*pcs*2.10"), announce_to=stack.settings.topics)
    assert await wait_statuses(db, [str(job_id)], {"done", "failed"}) == {str(job_id): "done"}
    assert await db.fetchval("SELECT published_at FROM product_recognition_jobs WHERE id = $1", job_id) is None

    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await producer.start()
    try:  # the record the outbox relay would have sent, late
        await producer.send_and_wait(stack.settings.kafka_topic_free, JobMessage(job_id, "receipt", "free").encode(),
                                     key=str(job_id).encode())
    finally:
        await producer.stop()
    await committed_all(stack.settings)
    assert terminate(worker) == 0
    assert worker_stats(worker) == {"claimed": 1, "duplicates": 0, "poison": 0, "finished": 1, "released": 0}


async def test_after_its_listener_connection_is_killed_the_worker_listens_again(stack_factory) -> None:
    stack = stack_factory(worker_republish_after_s=3600)
    db = await stack.db()
    worker = stack.start_worker()
    await wait_logged(worker, "assigned partitions")
    await wait_logged(worker, f"submit hints: listening on {CHANNEL}")
    killed = await db.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = 'foodai-worker-hints' AND datname = current_database()")
    assert killed == 1
    await wait_logged(worker, f"submit hints: listening on {CHANNEL}", count=2)

    job_id = await store_job(db, _image("MILK 1L*1*l*1.19"), announce_to=stack.settings.topics)
    assert await wait_statuses(db, [str(job_id)], {"done", "failed"}) == {str(job_id): "done"}
    assert terminate(worker) == 0


def test_an_announcement_for_our_topics_parses_into_the_message_with_its_headers_and_nothing_else_does() -> None:
    job_id, ours = uuid.uuid4(), ("t.paid", "t.free")

    def payload(**changes: object) -> str:
        data = {**announcement(ours, (("request_id", b"r-1"),)), "job_id": str(job_id), "job_type": "receipt",
                "user_plan": "paid", **changes}
        return json.dumps({k: v for k, v in data.items() if v is not None})

    message = parse_hint(payload(), ours)
    assert message == JobMessage(job_id, "receipt", "paid")
    assert message is not None and message.headers == (("request_id", b"r-1"),)
    for bad in (payload(topics=["other.paid", "other.free"]), payload(user_plan="gold"), payload(job_type="x"),
                payload(job_id="x"), payload(headers=None), payload(topics=None), "", "not json", "[]"):
        assert parse_hint(bad, ours) is None, bad


async def test_partition_of_is_where_the_producer_puts_the_record(settings: Settings) -> None:
    settings = _own_topics(settings)
    await ensure_job_topics(settings)
    topic = settings.kafka_topic_free
    ids = [uuid.uuid4() for _ in range(30)]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        sent = {job_id: (await producer.send_and_wait(topic, b"x", key=str(job_id).encode())).partition
                for job_id in ids}
        partitions = producer.client.cluster.partitions_for_topic(topic)
    finally:
        await producer.stop()
    assert partitions == set(range(settings.kafka_topic_partitions)) and len(set(sent.values())) > 1
    assert {job_id: partition_of(job_id, partitions) for job_id in ids} == sent


@pytest.fixture
async def consumer(settings: Settings) -> AsyncIterator[tuple[PriorityConsumer, Settings]]:
    settings = _own_topics(settings)
    await ensure_job_topics(settings)
    member = PriorityConsumer(settings, client_id="test-hints")
    await member.start()
    try:
        async with asyncio.timeout(30):
            while not await member.probe():  # joined, with every partition of both topics
                await asyncio.sleep(0.05)
        yield member, settings
    finally:
        await member.stop()


async def test_offer_serves_only_a_waiting_get_that_may_take_the_job(
    consumer: tuple[PriorityConsumer, Settings]
) -> None:
    member, settings = consumer
    paid, free = (JobMessage(uuid.uuid4(), "receipt", plan, headers=()) for plan in ("paid", "free"))
    assert member.offer(paid) is False  # nobody waits: its record will serve it

    waiting = asyncio.create_task(member.get(free_ok=lambda: False))
    await asyncio.sleep(0)  # let get() start waiting
    assert member.offer(free) is False  # free work may not take this slot
    assert member.offer(paid) is True
    assert member.offer(JobMessage(uuid.uuid4(), "receipt", "paid", headers=())) is False  # one per waiting get
    hint = await waiting
    assert isinstance(hint, Hint) and (hint.message, hint.topic) == (paid, settings.kafka_topic_paid)

    waiting = asyncio.create_task(member.get())
    await asyncio.sleep(0)
    assert member.offer(free) is True
    hint = await waiting
    assert isinstance(hint, Hint) and (hint.message, hint.topic) == (free, settings.kafka_topic_free)

