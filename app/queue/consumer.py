"""The worker's Kafka consumer: both topics in one group, paid served before free.

A background task keeps polling (so a slow recognizer never pushes this member out of
its group: processing happens elsewhere and polling never waits for it) and fills a
small FIFO buffer per topic. `get()` hands out the oldest paid record first, else the
oldest free one (the worker may hold free ones back to keep slots open for paid ones).
A job announced by its submit (app.queue.hints) is handed out as a `Hint` before its
record arrives, but only to a waiting get(), for a partition this member owns, and when no
older record of its topic is buffered, so hints never jump the queue.
A topic whose buffer is full has its partitions paused, so the broker, not this process,
holds the backlog; paid partitions are never paused by a free backlog. Offsets are
committed by the caller per record, in partition order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from app.queue.messages import JobMessage
from app.settings import Settings

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Hint:
    """A job to claim by its id before its record arrives (no offset: nothing to settle)."""

    message: JobMessage
    topic: str


def partition_of(job_id: object, partitions: set[int]) -> int:
    """The partition the API's producer sends this job's record to (its key is the job id)."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(str(job_id).encode(), ordered, ordered))


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
        self._hints: dict[str, deque[Hint]] = {t: deque() for t in self._topics}
        self._waiting_free_ok: Callable[[], bool] | None = None  # set while a get() waits
        self._available = asyncio.Event()
        self._fetcher: asyncio.Task[None] | None = None
        self._next: dict[TopicPartition, int] = {}  # first offset not yet committed (the lag metric)
        self._unsettled: dict[TopicPartition, set[int]] = {}  # handed out by get(), not yet settled
        self._settled: dict[TopicPartition, int] = {}  # one past the highest settled offset
        self._to_commit = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._settings = settings
        self._client_id = client_id
        self._consumer = self._new_consumer()

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self._settings.kafka_group_id,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
            isolation_level="read_committed",
            metadata_max_age_ms=10_000,  # notice re-created topics soon (a broker restarted empty)
            max_poll_interval_ms=self._settings.kafka_max_poll_interval_ms,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            # aiokafka's 3 s beat under its 10 s default session; a third of any shorter session
            heartbeat_interval_ms=min(3000, self._settings.kafka_session_timeout_ms // 3),
        )

    async def start(self) -> None:
        """Join the group and start polling; on failure the consumer is reset and may be started again."""
        self._consumer.subscribe(list(self._topics), listener=_Rebalance(self))
        try:
            await self._consumer.start()
        except BaseException:
            await self._consumer.stop()
            self._consumer = self._new_consumer()
            raise
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="kafka-fetch")
        self._committer = asyncio.create_task(self._commit_loop(), name="kafka-commit")

    async def probe(self, timeout_s: float = 2.0) -> bool:
        """Ready to work: polling, holding partitions, and the broker answering a metadata request.

        A member left without partitions after a broker restart (or one of more members
        than partitions) shows as not ready: it does no work.
        """
        if self._fetcher is None or self._fetcher.done() or not self._consumer.assignment():
            return False
        try:
            async with asyncio.timeout(timeout_s):
                await self._consumer.topics()
        except (KafkaError, OSError, TimeoutError):
            return False
        return True

    @property
    def fetcher(self) -> asyncio.Task[None] | None:
        """The polling task, for the worker's monitor: if it dies the worker must stop."""
        return self._fetcher

    @property
    def committer(self) -> asyncio.Task[None] | None:
        """The committing task, watched by the worker's monitor like the fetcher."""
        return self._committer

    async def stop(self) -> None:
        """Commit what is settled, stop polling and leave the group (the rest goes to other members)."""
        for task in (self._fetcher, self._committer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._fetcher is not None:
            await self._commit_settled()
        await self._consumer.stop()

    async def _fetch_loop(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                self._buffers[tp.topic].extend(records)
                self._next.setdefault(tp, records[0].offset)
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
        for tp in revoked:
            self._unsettled.pop(tp, None)
            self._settled.pop(tp, None)
        for topic, buffer in self._buffers.items():
            kept = [r for r in buffer if TopicPartition(topic, r.partition) not in revoked]
            buffer.clear()
            buffer.extend(kept)

    async def get(self, *, free_ok: Callable[[], bool] = lambda: True) -> Record | Hint:
        """The next record to process: the oldest paid one, else the oldest free one when `free_ok()`;
        a hint of a topic when none of its records is buffered.

        While `free_ok()` is false only paid work is handed out; call `wake()` when it
        may have turned true.
        """
        while True:
            for topic in self._topics:
                if topic != self._topics[0] and not free_ok():
                    continue
                if self._buffers[topic]:
                    record = self._buffers[topic].popleft()
                    tp = TopicPartition(record.topic, record.partition)
                    self._unsettled.setdefault(tp, set()).add(record.offset)
                    self._apply_backpressure()
                    return record
                if self._hints[topic]:
                    return self._hints[topic].popleft()
            self._available.clear()
            self._waiting_free_ok = free_ok
            try:
                await self._available.wait()
            finally:
                self._waiting_free_ok = None

    def offer(self, message: JobMessage) -> bool:
        """Take a just-submitted job for the waiting get(); False (the record will serve it) unless
        a get() waits and would take it, this member owns its partition, and no older record of
        its topic is buffered. One hint per waiting get(): the next must find the next idle slot."""
        free_ok = self._waiting_free_ok
        topic = self._settings.topic_for(message.user_plan)
        if free_ok is None or self._buffers[topic] or (topic != self._topics[0] and not free_ok()):
            return False
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions or TopicPartition(topic, partition_of(message.job_id, partitions)) not in (
                self._consumer.assignment()):
            return False
        self._hints[topic].append(Hint(message, topic))
        self._waiting_free_ok = None
        self._available.set()
        return True

    def wake(self) -> None:
        """Make a waiting `get()` look at its buffers again."""
        self._available.set()

    def settle(self, record: Record) -> None:
        """The record is dealt with (its job claimed, or skipped): its offset may be committed.

        Records are settled out of order (claims run concurrently); what is committed per
        partition is the lowest offset still unsettled, so no unsettled record is ever
        committed past. A crash replays only unsettled records, and their claims are no-ops.
        """
        tp = TopicPartition(record.topic, record.partition)
        unsettled = self._unsettled.get(tp)
        if unsettled is None or record.offset not in unsettled:
            return  # the partition was revoked meanwhile
        unsettled.discard(record.offset)
        self._settled[tp] = max(self._settled.get(tp, 0), record.offset + 1)
        self._to_commit.set()

    def _committable(self) -> dict[TopicPartition, int]:
        offsets: dict[TopicPartition, int] = {}
        for tp, high in self._settled.items():
            unsettled = self._unsettled.get(tp)
            target = min(unsettled) if unsettled else high
            if target > self._next.get(tp, 0):
                offsets[tp] = target
        return offsets

    async def _commit_settled(self) -> None:
        offsets = self._committable()
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
            self._next.update(offsets)
        except KafkaError as exc:
            log.warning("commit of %s failed: %r; redeliveries will be skipped", offsets, exc)

    async def _commit_loop(self) -> None:
        """One commit for whatever settled meanwhile: under load, many records per round trip."""
        while True:
            await self._to_commit.wait()
            self._to_commit.clear()
            await self._commit_settled()

    def caught_up(self) -> bool:
        """Polling, holding partitions, each read to its high watermark and committed, nothing buffered."""
        assigned = self._consumer.assignment()
        if self._fetcher is None or self._fetcher.done() or not assigned or any(self._buffers.values()):
            return False
        lags = self.lag()
        return set(lags) == assigned and not any(lags.values())

    def lag(self) -> dict[TopicPartition, int]:
        """Per assigned partition: records between our last commit and the high watermark (for /metrics)."""
        lags: dict[TopicPartition, int] = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None:
                lags[tp] = max(0, high - self._next.get(tp, high))
        return lags
