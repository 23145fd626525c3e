"""Fault scenarios around the worker (issue 4: 1, 3, 5, 7, 8). Real processes, real servers."""

from __future__ import annotations

import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from app.jobs import NewImage
from tests.stack import kill9, terminate, wait_statuses, worker_stats
from tests.support import CLEAN_EXIT, new_user, png_bytes, scripted_image, store_job


def gated(items: str, gate: Path) -> bytes:
    return scripted_image(items) + f"FOODAI-GATE:{gate}\n".encode()


async def test_1_worker_killed_mid_job_jobs_finish_exactly_once_after_the_lease(
    stack_factory, tmp_path: Path
) -> None:
    stack = stack_factory(worker_lease_s=3.0, worker_heartbeat_s=1.0)
    db = await stack.db()
    await stack.start_api()
    user = new_user(stack.settings)
    gate = tmp_path / "gate"
    jobs = [await stack.submit(user, gated(f"ITEM{i}*1*pcs*1.00", gate)) for i in range(3)]
    ids = [j["id"] for j in jobs]
    doomed = stack.start_worker()
    await wait_statuses(db, ids, {"processing"})
    kill9(doomed)
    survivor = stack.start_worker()
    gate.touch()
    assert await wait_statuses(db, ids, {"done", "failed"}) == dict.fromkeys(ids, "done")
    rows = await db.fetch(
        "SELECT attempts, jsonb_array_length(result->'items') AS n FROM product_recognition_jobs WHERE id = ANY($1)",
        [uuid.UUID(i) for i in ids])
    assert sorted((r["attempts"], r["n"]) for r in rows) == [(2, 1)] * 3
    assert terminate(survivor) == 0
    assert worker_stats(survivor)["finished"] == 3


async def test_3_crash_between_commit_and_kafka_send_still_finishes(
    stack_factory
) -> None:
    """A job committed but never published (the API died right after its commit)."""
    stack = stack_factory(worker_republish_after_s=1.0)
    db = await stack.db()
    image = scripted_image("BREAD*1*pcs*2.10")
    job_id = str(await store_job(db, [NewImage(0, "image/png", "0" * 64, len(image), image)]))
    worker = await stack.run_worker_until_idle()
    assert await wait_statuses(db, [job_id], {"done", "failed"}) == {job_id: "done"}
    assert await worker.stop() == 0


async def test_5_hanging_failing_and_garbage_recognizers_end_failed_while_others_flow(
    stack_factory
) -> None:
    stack = stack_factory(recognizer_timeout_s=0.5)
    db = await stack.db()
    await stack.start_api()
    user = new_user(stack.settings)
    bad = {kind: await stack.submit(user, png_bytes(f"FOODAI-{kind}")) for kind in ("HANG", "FLAKY", "GARBAGE")}
    good = [await stack.submit(user, scripted_image(f"OK{i}*1*pcs*1")) for i in range(5)]
    worker = await stack.run_worker_until_idle()
    all_ids = [j["id"] for j in (*bad.values(), *good)]
    await wait_statuses(db, all_ids, {"done", "failed"})
    rows = {str(r["id"]): r for r in await db.fetch(
        "SELECT id, status, error, attempts FROM product_recognition_jobs WHERE id = ANY($1)",
        [uuid.UUID(i) for i in all_ids])}
    assert [rows[j["id"]]["status"] for j in good] == ["done"] * 5
    assert {k: (rows[j["id"]]["status"], rows[j["id"]]["error"]) for k, j in bad.items()} == {
        "HANG": ("failed", "no image could be recognized: image 0: the recognizer timed out after 0.5 s"),
        "FLAKY": ("failed", "no image could be recognized: image 0: the recognizer is unavailable (scripted)"),
        "GARBAGE": ("failed", "no image could be recognized: image 0: the recognizer returned an invalid item: ''"),
    }
    assert await worker.stop() == 0


async def test_7_poison_messages_on_both_topics_are_skipped_and_counted(
    stack_factory
) -> None:
    stack = stack_factory()
    db = await stack.db()
    await stack.start_api()
    poison = [b"not json", b'{"job_id": "nope"}', b'{"job_id": "%s", "job_type": "x", "user_plan": "free"}'
              % str(uuid.uuid4()).encode(), b"\xff\xfe"]
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        for topic in stack.settings.topics:
            for value in poison:
                await producer.send_and_wait(topic, value, key=b"same-partition")
    finally:
        await producer.stop()
    paid, free = new_user(stack.settings, plan="paid"), new_user(stack.settings, plan="free")
    jobs = [await stack.submit(paid, scripted_image("A*1*pcs*1")),
            await stack.submit(free, scripted_image("B*1*pcs*1"))]
    worker = await stack.run_worker_until_idle()
    ids = [j["id"] for j in jobs]
    assert await wait_statuses(db, ids, {"done", "failed"}) == dict.fromkeys(ids, "done")
    assert await worker.stop() == 0
    stats = worker.stats.as_dict()
    assert (stats["poison"], stats["claimed"], stats["finished"]) == (8, 2, 2)


async def test_8_sigterm_mid_job_releases_it_and_another_worker_finishes_it_once(
    stack_factory, tmp_path: Path
) -> None:
    stack = stack_factory(worker_shutdown_grace_s=0.5)
    db = await stack.db()
    await stack.start_api()
    user = new_user(stack.settings)
    gate = tmp_path / "gate"
    job = await stack.submit(user, gated("MILK*1*l*1.19", gate))
    first = stack.start_worker()
    await wait_statuses(db, [job["id"]], {"processing"})
    assert terminate(first) in CLEAN_EXIT
    assert worker_stats(first) == {"claimed": 1, "duplicates": 0, "poison": 0, "finished": 0, "released": 1}
    assert await wait_statuses(db, [job["id"]], {"pending", "processing"}, deadline_s=5)
    gate.touch()
    second = stack.start_worker()
    assert await wait_statuses(db, [job["id"]], {"done", "failed"}) == {job["id"]: "done"}
    row = await db.fetchrow("SELECT attempts FROM product_recognition_jobs WHERE id = $1", uuid.UUID(job["id"]))
    assert row["attempts"] == 2
    assert terminate(second) == 0
    assert worker_stats(second)["finished"] == 1


async def test_8b_sigterm_lets_a_job_that_finishes_within_the_grace_period_finish(
    stack_factory
) -> None:
    stack = stack_factory(worker_shutdown_grace_s=30, fake_recognizer_latency_ms=1500)
    db = await stack.db()
    await stack.start_api()
    job = await stack.submit(new_user(stack.settings), scripted_image("MILK*1*l*1.19"))
    worker = stack.start_worker()
    await wait_statuses(db, [job["id"]], {"processing"})
    assert terminate(worker) == 0
    row = await db.fetchrow("SELECT status, attempts FROM product_recognition_jobs WHERE id = $1",
                                 uuid.UUID(job["id"]))
    assert (row["status"], row["attempts"]) == ("done", 1)
    assert worker_stats(worker) == {"claimed": 1, "duplicates": 0, "poison": 0, "finished": 1, "released": 0}


async def test_a_recognizer_slower_than_max_poll_interval_keeps_the_worker_in_its_group(
    stack_factory
) -> None:
    """aiokafka's max_poll_interval trap: polling runs apart from processing, so an 8 s
    recognizer under a 3 s poll interval causes no rebalance and no second delivery."""
    # no republishing during the test: a second delivery here could only come from a rebalance
    stack = stack_factory(kafka_max_poll_interval_ms=3000, fake_recognizer_latency_ms=8000,
                          worker_republish_after_s=600)
    db = await stack.db()
    await stack.start_api()
    user = new_user(stack.settings)
    jobs = [await stack.submit(user, scripted_image(f"SLOW{i}*1*pcs*1")) for i in range(2)]
    worker = stack.start_worker()
    ids = [j["id"] for j in jobs]
    assert await wait_statuses(db, ids, {"done", "failed"}) == dict.fromkeys(ids, "done")
    assert terminate(worker) == 0
    assert worker_stats(worker) == {"claimed": 2, "duplicates": 0, "poison": 0, "finished": 2, "released": 0}
    assert "rebalanc" not in worker.log().lower().replace("rebalancelistener", "")
