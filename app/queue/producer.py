"""Publishing job messages: one producer per process, topics chosen by the user's plan."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from app.backoff import Backoff, retry
from app.queue.admin import ensure_topics
from app.queue.messages import JobMessage
from app.settings import Settings

log = logging.getLogger(__name__)
CONNECT_BACKOFF = Backoff(first_s=0.5, cap_s=10.0)


async def ensure_job_topics(settings: Settings) -> None:
    """Create the paid and free topics when missing (a no-op when they exist)."""
    await ensure_topics(settings.kafka_bootstrap_servers, settings.topics, settings.kafka_topic_partitions)


class JobPublisher:
    """Sends job messages. Never blocks a caller on a broker that is down: until the producer
    has connected, `publish` answers False at once and the sweeper publishes the job later.

    `start()` returns even when the broker is unreachable; a background task keeps trying
    to connect (the API must accept jobs while Kafka is down: the job row is the outbox).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            enable_idempotence=self._settings.kafka_enable_idempotence,
            acks="all",
            linger_ms=0,
            request_timeout_ms=int(self._settings.kafka_send_timeout_s * 1000),
        )

    async def start(self) -> None:
        """Connect now if the broker answers, else keep trying in the background."""
        try:
            await self._connect()
        except (KafkaError, OSError) as exc:
            log.warning("kafka unreachable (%r); jobs are stored and will be published later", exc)
            self._connector = asyncio.create_task(self._connect_forever(), name="kafka-producer-connect")

    async def _connect(self) -> None:
        """Start a producer and make sure the topics exist; a broker failure stops the producer again and raises."""
        producer = self._new_producer()
        try:
            await producer.start()
            await ensure_job_topics(self._settings)
        except (KafkaError, OSError):
            await producer.stop()
            raise
        self._producer = producer
        self.connected.set()

    async def _connect_forever(self) -> None:
        await retry(self._connect, errors=(KafkaError, OSError), backoff=CONNECT_BACKOFF,
                    what="kafka producer connect", log=log)
        log.info("kafka producer connected")

    async def stop(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            await asyncio.gather(self._connector, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, message: JobMessage) -> bool:
        """True when the broker acknowledged the message within the send timeout."""
        if self._producer is None:
            return False
        try:
            async with asyncio.timeout(self._settings.kafka_send_timeout_s):
                await self._producer.send_and_wait(
                    self._settings.topic_for(message.user_plan), message.encode(), key=str(message.job_id).encode(),
                    headers=list(message.headers) or None,
                )
        except (KafkaError, TimeoutError) as exc:
            log.warning("kafka publish of job %s failed: %r; the sweeper will retry", message.job_id, exc)
            return False
        return True
