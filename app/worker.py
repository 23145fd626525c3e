"""The worker process: Kafka consumer loop -> claim -> recognize -> store -> NOTIFY.

Offsets: a record's offset is committed right after its job is claimed in PostgreSQL,
and the job row is the lease from then on (heartbeat while processing; the sweeper
requeues jobs whose lease expired). We chose this over "commit after the terminal
state" because a job can take minutes (a slow model, many images): holding offsets
that long would stall every later job of the partition behind it after a crash, and
keeping ordering per partition across concurrent jobs would need contiguous-offset
bookkeeping. With the lease, a killed worker loses nothing: either the record was not
committed (it is redelivered, and the claim makes a duplicate a no-op) or the job was
claimed (its lease expires and the sweeper publishes it again). Polling runs in its own
task, never waiting for processing, so a 60 s recognizer cannot push this member out
of its group.

Run it with `python -m app.worker` or `foodai worker`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from aiokafka.errors import KafkaError

from app.backoff import Backoff, retry
from app.db import DB_ERRORS, asyncpg_url, create_pool, database_reachable
from app.domain import JobType
from app.jobs import ClaimedJob, Job, JobStore
from app.observability import metrics
from app.observability.logs import bind_ids, bind_record, configure_logging
from app.observability.server import ops_server
from app.observability.tracing import configure_tracing, job_span, shutdown_tracing
from app.queue.consumer import Hint, PriorityConsumer, Record
from app.queue.hints import SubmitListener
from app.queue.messages import JobMessage, PoisonMessage
from app.queue.producer import JobPublisher, ensure_job_topics
from app.recognition.base import Recognizer
from app.recognition.catalog import load_catalog
from app.recognition.enrich import Enricher
from app.recognition.products.off import BarcodeResolver, OpenFoodFacts, blocking_lookup
from app.recognition.registry import build_recognizers, use_barcode_lookup
from app.services.processing import ProcessingDeps, RetryPolicy, process_job
from app.services.sweep import sweep_once
from app.settings import Settings
from app.startup import broker_problem, check_database, load_settings, reported

log = logging.getLogger("foodai.worker")
JOIN_BACKOFF = Backoff(first_s=0.5, cap_s=10.0)


@dataclass(slots=True)
class WorkerStats:
    """What this worker did: attributes (`run_until_idle` returns them), logged when it stops."""

    claimed: int = 0
    duplicates: int = 0
    poison: int = 0
    finished: int = 0
    released: int = 0

    def __str__(self) -> str:
        return " ".join(f"{name}={getattr(self, name)}" for name in self.__slots__)

    def as_dict(self) -> dict[str, int]:
        """Every counter by name, in the order of the logged line."""
        return {name: getattr(self, name) for name in self.__slots__}


class Worker:
    """One worker process's loop; `run()` returns after a clean shutdown."""

    def __init__(self, settings: Settings, *, recognizers: Mapping[JobType, Recognizer] | None = None) -> None:
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = WorkerStats()
        self._recognizers = recognizers
        self._stop = asyncio.Event()
        self._inflight: dict[uuid.UUID, asyncio.Task[Any]] = {}  # claimed jobs, for heartbeats
        self._handlers: set[asyncio.Task[None]] = set()  # every record being claimed or processed
        self._slots = asyncio.Semaphore(settings.worker_concurrency)
        # free jobs may fill all slots but WORKER_PAID_RESERVED, so a paid job never waits for one to end
        self._free_limit = max(1, settings.worker_concurrency - settings.worker_paid_reserved)
        self._free_running = 0
        self._released: list[Job] = []
        # jobs handed out by their hint (the newest 10,000): their records are settled without a claim
        self._hinted: OrderedDict[uuid.UUID, None] = OrderedDict()
        self._pool: asyncpg.Pool | None = None
        self._consumer: PriorityConsumer | None = None

    def request_stop(self) -> None:
        """Stop taking work; in-flight jobs get the grace period to finish."""
        self._stop.set()

    async def run_until_idle(self, *, poll_s: float = 0.1) -> WorkerStats:
        """Run as `run()` does until nothing is left to do, then stop cleanly (arq's burst mode).

        Idle means: partitions assigned and read to their end, every record settled and
        committed, no job being claimed or processed, and no job pending or processing in the
        database (a job not yet published is waited for: the outbox or the sweeper sends it).
        Returns the stats, read as attributes.
        """
        watcher = asyncio.create_task(self._stop_when_idle(poll_s), name="idle-watch")
        try:
            await self.run()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        return self.stats

    async def _stop_when_idle(self, poll_s: float) -> None:
        conn = await asyncpg.connect(asyncpg_url(self.settings.database_url))
        try:
            while not self._stop.is_set():
                await asyncio.sleep(poll_s)
                if self._caught_up() and not await JobStore(conn).any_unfinished() and self._caught_up():
                    self.request_stop()
        finally:
            await conn.close()

    def _caught_up(self) -> bool:
        """Nothing in hand and every assigned partition read and committed to its end."""
        return self._consumer is not None and not self._handlers and self._consumer.caught_up()

    async def readiness(self) -> dict[str, bool]:
        """What the worker's /readyz reports: the database answers and the consumer can work."""
        if self._pool is None or self._consumer is None:
            return {"started": False}
        return {
            "database": await database_reachable(self._pool),
            "broker": await self._consumer.probe(),
        }

    async def run(self) -> None:
        """Open every resource, serve until stopped or a background task dies, then drain."""
        self._pool = pool = await create_pool(self.settings, application_name="foodai-worker")
        publisher = JobPublisher(self.settings)
        self._consumer = consumer = PriorityConsumer(self.settings, client_id=self.worker_id)
        metrics.watch_consumer_lag(consumer.lag)
        recognizers = dict(self._recognizers or build_recognizers(self.settings))
        hints = http = None
        if self.settings.submit_hints:
            hints = SubmitListener(asyncpg_url(self.settings.database_url), self.settings.topics, consumer.offer)
        try:
            await publisher.start()
            if not await self._start_consumer(consumer):
                return
            if hints is not None:
                hints.start()
            enricher = Enricher(load_catalog())  # now, not on the first job: its parse takes a few hundred ms
            http = self._use_barcodes(pool, recognizers)
            deps = ProcessingDeps(
                jobs=JobStore(pool), recognizers=recognizers, enricher=enricher,
                retry=RetryPolicy(timeout_s=self.settings.recognizer_timeout_s), worker_id=self.worker_id,
            )
            await self._serve(deps, consumer, publisher)
        finally:
            if http is not None:
                await http.aclose()
            if hints is not None:
                await hints.stop()
            await consumer.stop()
            await publisher.stop()
            for recognizer in {id(r): r for r in recognizers.values()}.values():
                await recognizer.aclose()
            await pool.close()
        log.info("worker %s stopped; stats: %s", self.worker_id, self.stats)

    def _use_barcodes(self, pool: asyncpg.Pool, recognizers: Mapping[JobType, Recognizer]) -> httpx.AsyncClient | None:
        """Give the recognizers the barcode cache (and Open Food Facts when BARCODE_LOOKUP is on); returns
        the HTTP client to close at the end, if one was opened."""
        timeout = self.settings.barcode_lookup_timeout_s
        http = httpx.AsyncClient(timeout=timeout) if self.settings.barcode_lookup else None
        resolver = BarcodeResolver(pool, load_catalog(), client=OpenFoodFacts(http) if http is not None else None)
        use_barcode_lookup(recognizers, blocking_lookup(resolver, asyncio.get_running_loop(), timeout=timeout))
        return http

    async def _start_consumer(self, consumer: PriorityConsumer) -> bool:
        """Join the group, retrying while the broker is unreachable; False when stopped first."""

        async def join() -> bool:
            await ensure_job_topics(self.settings)
            await consumer.start()
            return True

        joined = await retry(join, errors=(KafkaError, OSError), backoff=JOIN_BACKOFF, what="kafka consumer join",
                             log=log, stop=self._stop)
        return joined is not None

    async def _serve(self, deps: ProcessingDeps, consumer: PriorityConsumer, publisher: JobPublisher) -> None:
        assert consumer.fetcher is not None and consumer.committer is not None
        background = [
            asyncio.create_task(self._dispatch(deps, consumer), name="dispatch"),
            asyncio.create_task(self._heartbeat(deps), name="heartbeat"),
            asyncio.create_task(self._sweep(deps.jobs, publisher), name="sweep"),
            consumer.fetcher,
            consumer.committer,
        ]
        stop = asyncio.create_task(self._stop.wait(), name="stop")
        log.info("worker %s serving %s", self.worker_id, ", ".join(self.settings.topics))
        done, _ = await asyncio.wait([stop, *background], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop}:  # a background task ended on its own: that is a failure
            log.error("worker task %s stopped: %r; shutting down", task.get_name(), task.exception())
        stop.cancel()
        for task in background[:3]:
            task.cancel()
        await asyncio.gather(*background[:3], return_exceptions=True)
        await self._drain(deps, publisher)
        failed = [t for t in done - {stop} if not t.cancelled() and t.exception() is not None]
        if failed:
            raise RuntimeError(f"worker task {failed[0].get_name()} failed") from failed[0].exception()

    async def _dispatch(self, deps: ProcessingDeps, consumer: PriorityConsumer) -> None:
        """Hand each record (or hint) to a task of its own (claim, then process), WORKER_CONCURRENCY
        at once, paid ones first and free ones only while a free slot is open."""
        while True:
            await self._slots.acquire()
            try:
                item = await consumer.get(free_ok=lambda: self._free_running < self._free_limit)
            except BaseException:
                self._slots.release()
                raise
            free = item.topic != self.settings.kafka_topic_paid
            self._free_running += free
            if isinstance(item, Hint):  # from now on its record is only settled
                self._hinted[item.message.job_id] = None
                if len(self._hinted) > 10_000:
                    self._hinted.popitem(last=False)
            task = asyncio.create_task(self._handle(deps, consumer, item, free=free))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _handle(self, deps: ProcessingDeps, consumer: PriorityConsumer, item: Record | Hint, *,
                      free: bool) -> None:
        """Claim, then process; the slot is given back however this ends."""
        try:
            headers = item.message.headers if isinstance(item, Hint) else item.headers
            with job_span(headers) as span:  # continues the submitting request's trace (when tracing is on)
                if isinstance(item, Hint):
                    claimed = await self._claim_hinted(deps, item.message)
                else:
                    try:
                        claimed = await self._claim_or_skip(deps, item)
                    finally:
                        consumer.settle(item)  # claimed or skipped: either way its offset may be committed
                if claimed is not None:
                    span.annotate(claimed.job)
                    await self._process(deps, claimed)
        finally:
            self._slots.release()
            if free:
                self._free_running -= 1
                consumer.wake()  # a free record may be waiting for this slot

    async def _claim_or_skip(self, deps: ProcessingDeps, record: Record) -> ClaimedJob | None:
        """The claimed job, or None; a database error skips the record (the sweeper republishes the job)."""
        bind_record(record.headers)  # this record's request id in every log line until the next record
        try:
            message = JobMessage.decode(record.value)
        except PoisonMessage as exc:
            self.stats.poison += 1
            log.warning("skipping poison message %s/%d@%d: %s", record.topic, record.partition, record.offset, exc)
            return None
        if message.job_id in self._hinted:  # its hint claimed it (or found it taken): nothing to do
            del self._hinted[message.job_id]
            return None
        try:
            return await self._claim(deps, message, via="record")
        except DB_ERRORS as exc:
            log.error("claim of %s/%d@%d failed: %r", record.topic, record.partition, record.offset, exc)
            return None

    async def _claim_hinted(self, deps: ProcessingDeps, message: JobMessage) -> ClaimedJob | None:
        """Claim a job announced by its submit; on a database error its record claims it instead."""
        bind_record(message.headers)  # the submitting request's id in every log line until the next one
        try:
            return await self._claim(deps, message, via="hint")
        except DB_ERRORS as exc:
            self._hinted.pop(message.job_id, None)
            log.warning("claim of hinted job %s failed (%r); its record will claim it", message.job_id, exc)
            return None

    async def _claim(self, deps: ProcessingDeps, message: JobMessage, *, via: str) -> ClaimedJob | None:
        claimed = await deps.jobs.claim(
            job_id=message.job_id, job_type=message.job_type, worker_id=self.worker_id,
            lease_s=self.settings.worker_lease_s,
        )
        if claimed is None:
            if via == "record":
                self.stats.duplicates += 1
            log.info("job %s: already claimed, finished or unknown; skipping", message.job_id)
            return None
        self.stats.claimed += 1
        bind_ids(job_id=claimed.job.id, user_id=claimed.job.user_id)  # the job's task, created next, inherits them
        metrics.job_claimed(claimed.job, via=via)
        return claimed

    async def _process(self, deps: ProcessingDeps, claimed: ClaimedJob) -> None:
        """Run a claimed job to its end; on an unexpected error or cancellation, hand it back."""
        job_id = claimed.job.id
        task = asyncio.current_task()
        assert task is not None
        self._inflight[job_id] = task
        try:
            if await process_job(deps, claimed) is not None:
                self.stats.finished += 1
        except asyncio.CancelledError:
            await self._release(deps, job_id)
            raise
        except Exception:
            log.exception("job %s: processing failed unexpectedly; releasing it for another attempt", job_id)
            await self._release(deps, job_id)
        finally:
            self._inflight.pop(job_id, None)

    async def _release(self, deps: ProcessingDeps, job_id: uuid.UUID) -> None:
        """Hand the job back (pending, unpublished): the sweeper publishes it again at once."""
        try:
            job = await deps.jobs.release(job_id=job_id, worker_id=self.worker_id)
            if job is not None:
                self.stats.released += 1
                self._released.append(job)
        except DB_ERRORS as exc:  # the lease expiry recovers the job instead
            log.error("job %s: release failed (%r); its lease will expire", job_id, exc)

    async def _drain(self, deps: ProcessingDeps, publisher: JobPublisher) -> None:
        tasks = list(self._handlers)
        if tasks:
            log.info("waiting up to %.0f s for %d jobs", self.settings.worker_shutdown_grace_s, len(tasks))
            _, pending = await asyncio.wait(tasks, timeout=self.settings.worker_shutdown_grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        # publish released jobs now, not after the sweep threshold; a failed send is left to sweepers
        for job in self._released:
            await publisher.publish(JobMessage(job.id, job.job_type, job.user_plan))

    async def _heartbeat(self, deps: ProcessingDeps) -> None:
        while True:
            await asyncio.sleep(self.settings.worker_heartbeat_s)
            if not self._inflight:
                continue
            try:
                await deps.jobs.extend_leases(
                    job_ids=list(self._inflight), worker_id=self.worker_id, lease_s=self.settings.worker_lease_s,
                )
            except DB_ERRORS as exc:  # the next beat tries again; a lease outliving the outage is kept
                log.warning("heartbeat failed: %r", exc)

    async def _sweep(self, jobs: JobStore, publisher: JobPublisher) -> None:
        while True:
            try:
                metrics.sweep_report(await sweep_once(
                    jobs=jobs, publisher=publisher, max_attempts=self.settings.worker_max_attempts,
                    republish_after_s=self.settings.worker_republish_after_s,
                ))
            except DB_ERRORS as exc:  # a pooled connection that died with a restarted server: the next sweep retries
                log.warning("sweep failed: %r", exc)
            await asyncio.sleep(self.settings.worker_sweep_interval_s)


async def run_worker(settings: Settings) -> None:
    """Run a worker until SIGTERM or SIGINT."""
    worker = Worker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    async with ops_server(settings.worker_metrics_host, settings.worker_metrics_port, worker.readiness):
        await worker.run()


def warn_if_broker_unreachable(settings: Settings, consequence: str) -> None:
    """One warning line, before start-up, when no bootstrap server answers (the processes retry)."""
    problem = broker_problem(settings.kafka_bootstrap_servers)
    if problem:
        log.warning("%s: %s; start it or set KAFKA_BOOTSTRAP_SERVERS (`foodai dev` starts its own)",
                    problem, consequence)


def main() -> None:
    """`python -m app.worker`: settings and the database checked, then the worker until SIGTERM."""
    with reported("worker"):
        settings = load_settings()
        asyncio.run(check_database(settings.database_url))
    configure_logging(settings)
    warn_if_broker_unreachable(settings, "the worker retries until it answers")
    configure_tracing(settings, role="worker")  # a no-op unless OTEL_ENABLED
    try:
        _run(run_worker(settings))
    finally:
        shutdown_tracing()  # exports the spans still buffered


def _run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop when it is installed (it comes with uvicorn[standard]), as the API runs."""
    try:
        import uvloop  # optional: installed with uvicorn[standard]
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


if __name__ == "__main__":
    main()
