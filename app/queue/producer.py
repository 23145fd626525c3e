"""Publishing job messages: one producer per process, topics chosen by the user's plan."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from app.queue.messages import JobMessage
from app.settings import Settings

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings) -> None:
    """Create the paid and free topics when missing (a no-op when they exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in settings.topics if t not in existing]
        if missing:
            topics = [NewTopic(t, settings.kafka_topic_partitions, 1) for t in missing]
            try:
                await admin.create_topics(topics)
            except TopicAlreadyExistsError:
                pass  # another process created them between our list and create
    finally:
        await admin.close()


class JobPublisher:
    """Sends job messages; a failed send is reported, never retried here (the sweeper re-publishes)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            enable_idempotence=settings.kafka_enable_idempotence,
            acks="all",
            linger_ms=0,
            request_timeout_ms=int(settings.kafka_send_timeout_s * 1000),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    def topic_for(self, plan: str) -> str:
        """Paid users' jobs go to the topic workers serve first."""
        return self._settings.kafka_topic_paid if plan == "paid" else self._settings.kafka_topic_free

    async def publish(self, message: JobMessage) -> bool:
        """True when the broker acknowledged the message within the send timeout."""
        try:
            async with asyncio.timeout(self._settings.kafka_send_timeout_s):
                await self._producer.send_and_wait(
                    self.topic_for(message.user_plan), message.encode(), key=str(message.job_id).encode()
                )
        except (KafkaError, TimeoutError) as exc:
            log.warning("kafka publish of job %s failed: %r; the sweeper will retry", message.job_id, exc)
            return False
        return True
