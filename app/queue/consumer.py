"""The worker's Kafka consumer: both topics in one group, paid served before free.

A background task keeps polling (so a slow recognizer never pushes this member out of
its group: processing happens elsewhere and polling never waits for it) and fills a
small FIFO buffer per topic. `get()` hands out the oldest paid record first, else the
oldest free one. A topic whose buffer is full has its partitions paused, so the
broker, not this process, holds the backlog; paid partitions are never paused by a
free backlog. Offsets are committed by the caller per record, in partition order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from app.settings import Settings

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord[bytes, bytes]  # noqa: UP040 - aiokafka's generic is not a PEP 695 target


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: PriorityConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._owner.drop_partitions(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned partitions: %s", sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))


class PriorityConsumer:
    """Consumer group member with per-topic buffers and paid-first hand-out."""

    def __init__(self, settings: Settings, *, client_id: str) -> None:
        self._topics = settings.topics  # paid first
        self._limit = settings.worker_buffer
        self._buffers: dict[str, deque[Record]] = {t: deque() for t in self._topics}
        self._available = asyncio.Event()
        self._fetcher: asyncio.Task[None] | None = None
        self.last_poll_ok: float = 0.0
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.kafka_group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            isolation_level="read_committed",
        )

    async def start(self) -> None:
        """Join the group and start polling."""
        self._consumer.subscribe(list(self._topics), listener=_Rebalance(self))
        await self._consumer.start()
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="kafka-fetch")

    @property
    def fetcher(self) -> asyncio.Task[None] | None:
        """The polling task, for the worker's monitor: if it dies the worker must stop."""
        return self._fetcher

    async def stop(self) -> None:
        """Stop polling and leave the group (uncommitted records go to other members)."""
        if self._fetcher is not None:
            self._fetcher.cancel()
            await asyncio.gather(self._fetcher, return_exceptions=True)
        await self._consumer.stop()

    def buffered(self) -> int:
        return sum(len(b) for b in self._buffers.values())

    async def _fetch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._consumer.getmany(timeout_ms=1000)
            self.last_poll_ok = loop.time()
            for tp, records in batch.items():
                self._buffers[tp.topic].extend(records)
            if any(self._buffers.values()):
                self._available.set()
            self._apply_backpressure()

    def _apply_backpressure(self) -> None:
        assigned = self._consumer.assignment()
        paused = self._consumer.paused()
        for topic, buffer in self._buffers.items():
            parts = {tp for tp in assigned if tp.topic == topic}
            if len(buffer) >= self._limit:
                self._consumer.pause(*(parts - paused))
            elif len(buffer) <= self._limit // 2 and parts & paused:
                self._consumer.resume(*(parts & paused))

    def drop_partitions(self, revoked: set[TopicPartition]) -> None:
        """Forget buffered records of partitions this member lost; their new owner reads them."""
        for topic, buffer in self._buffers.items():
            kept = [r for r in buffer if TopicPartition(topic, r.partition) not in revoked]
            buffer.clear()
            buffer.extend(kept)

    async def get(self) -> Record:
        """The next record to process: the oldest paid one, else the oldest free one."""
        while True:
            for topic in self._topics:
                if self._buffers[topic]:
                    record = self._buffers[topic].popleft()
                    self._apply_backpressure()
                    return record
            self._available.clear()
            await self._available.wait()

    async def commit(self, record: Record) -> None:
        """Mark the record consumed. A failure (rebalance) only means a harmless redelivery."""
        tp = TopicPartition(record.topic, record.partition)
        try:
            await self._consumer.commit({tp: record.offset + 1})
        except KafkaError as exc:
            log.warning("commit of %s@%d failed: %r; a redelivery will be skipped", tp, record.offset, exc)
