"""The whole path through real clients over real sockets: submit, watch, read, page."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from app.settings import Settings
from tests.support import (
    CLEAN_EXIT,
    GET_JOB,
    SUBMIT_PRODUCTS,
    SUBMIT_RECEIPT,
    WATCH_JOB,
    Api,
    b64,
    new_user,
    png_bytes,
    scripted_image,
)


async def test_receipt_goes_pending_processing_done_on_the_subscription(stack_factory, tmp_path: Path) -> None:
    stack = stack_factory()  # its own topics, and no worker until the test starts one
    api = await stack.start_api()
    settings = stack.settings
    user = new_user(settings, plan="paid")
    gate_a, gate_b = tmp_path / "gate-a", tmp_path / "gate-b"
    images = [
        scripted_image("MILK 1L*1*l*1.19;BREAD*1*pcs*2.10") + f"FOODAI-GATE:{gate_a}\n".encode(),
        scripted_image("BANANAS*1.2*kg*1.79") + f"FOODAI-GATE:{gate_b}\n".encode(),
    ]
    submitted = await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(i)} for i in images], "lang": "en"},
                              user=user)
    assert "errors" not in submitted, submitted
    job = submitted["data"]["submitReceipt"]
    assert (job["status"], job["jobType"], job["userPlan"], job["imageCount"]) == ("PENDING", "RECEIPT", "PAID", 2)
    assert job["result"] is None and job["startedAt"] is None

    async with api.ws(user=user) as ws:
        assert (await ws.recv())["type"] == "connection_ack"
        op = await ws.subscribe(WATCH_JOB, {"id": job["id"]})
        first = await ws.recv()
        assert first["payload"]["data"]["productJob"]["status"] == "PENDING"

        worker = stack.start_worker()
        try:
            second = await ws.recv()
            assert (second["payload"]["data"]["productJob"]["status"],
                    second["payload"]["data"]["productJob"]["imagesDone"]) == ("PROCESSING", 0)
            gate_a.touch()
            third = await ws.recv()
            assert (third["payload"]["data"]["productJob"]["status"],
                    third["payload"]["data"]["productJob"]["imagesDone"]) == ("PROCESSING", 1)
            gate_b.touch()
            rest = await ws.collect(op)
        finally:
            assert worker.stop() in CLEAN_EXIT, worker.log()[-3000:]
    assert [(p["data"]["productJob"]["status"], p["data"]["productJob"]["imagesDone"]) for p in rest] == [
        ("DONE", 2)
    ]

    read = (await api.gql(GET_JOB, {"id": job["id"]}, user=user))["data"]["productJob"]
    assert read["status"] == "DONE" and read["error"] is None
    assert read["startedAt"] is not None and read["completedAt"] is not None
    items = [(i["rawText"], i["quantity"], i["unit"], i["price"], i["imageIndex"]) for i in read["result"]["items"]]
    assert sorted(items) == sorted([
        ("MILK 1L", 1.0, "l", 1.19, 0), ("BREAD", 1.0, "pcs", 2.10, 0), ("BANANAS", 1.2, "kg", 1.79, 1)
    ])
    assert [(i["index"], i["status"], i["itemCount"]) for i in read["result"]["images"]] == [
        (0, "done", 2), (1, "done", 1)
    ]


async def _wait_terminal(api: Api, user: object, job_id: str) -> list[dict[str, object]]:
    async with api.ws(user=user) as ws:  # type: ignore[arg-type]
        assert (await ws.recv())["type"] == "connection_ack"
        op = await ws.subscribe(WATCH_JOB, {"id": job_id})
        return [p["data"]["productJob"] for p in await ws.collect(op)]


async def test_multipart_upload_runs_to_done(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    image = scripted_image("EGGS 10*10*pcs*2.99")
    body = await api.multipart(
        SUBMIT_PRODUCTS.replace("$lang: String! = \"en\"", "$lang: String!"),
        {"images": [{"upload": None}], "lang": "de"},
        files={"0": ("eggs.png", image, "image/png")},
        mapping={"0": ["variables.images.0.upload"]},
        user=user,
    )
    assert "errors" not in body, body
    job = body["data"]["submitProducts"]
    assert (job["jobType"], job["lang"], job["userPlan"]) == ("PRODUCTS", "de", "FREE")
    events = await _wait_terminal(api, user, job["id"])
    assert events[-1]["status"] == "DONE"
    read = (await api.gql(GET_JOB, {"id": job["id"]}, user=user))["data"]["productJob"]
    assert [(i["rawText"], i["quantity"], i["unit"], i["price"]) for i in read["result"]["items"]] == [
        ("EGGS 10", 10.0, "pcs", 2.99)
    ]


async def test_unreadable_images_end_failed_with_the_error(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    body = await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(png_bytes("FOODAI-FAIL"))}]}, user=user)
    job = body["data"]["submitReceipt"]
    events = await _wait_terminal(api, user, job["id"])
    assert events[-1]["status"] == "FAILED"
    assert events[-1]["error"] == (
        "no image could be recognized: image 0: the image could not be read (scripted failure)"
    )
    read = (await api.gql(GET_JOB, {"id": job["id"]}, user=user))["data"]["productJob"]
    assert read["status"] == "FAILED" and read["completedAt"] is not None
    assert [(i["status"], i["error"]) for i in read["result"]["images"]] == [
        ("failed", "the image could not be read (scripted failure)")
    ]


async def test_job_with_one_failed_image_ends_done_listing_it(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    images = [scripted_image("BREAD*1*pcs*2.10"), png_bytes("FOODAI-FAIL")]
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(i)} for i in images]}, user=user))[
        "data"]["submitReceipt"]
    assert (await _wait_terminal(api, user, job["id"]))[-1]["status"] == "DONE"
    read = (await api.gql(GET_JOB, {"id": job["id"]}, user=user))["data"]["productJob"]
    assert [(i["index"], i["status"]) for i in read["result"]["images"]] == [(0, "done"), (1, "failed")]
    assert [i["rawText"] for i in read["result"]["items"]] == ["BREAD"]


async def test_subscribing_to_a_finished_job_sends_its_final_state_and_completes(
    api: Api, settings: Settings
) -> None:
    user = new_user(settings)
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(scripted_image("BREAD*1*pcs*1"))}]},
                         user=user))["data"]["submitReceipt"]
    await _wait_terminal(api, user, job["id"])
    assert [e["status"] for e in await _wait_terminal(api, user, job["id"])] == ["DONE"]


async def test_submit_stores_image_bytes_apart_from_the_job_row(api: Api, settings: Settings,
                                                                db: asyncpg.Connection) -> None:
    user = new_user(settings)
    image = scripted_image("BREAD*1*pcs*1")
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}]}, user=user))["data"]["submitReceipt"]
    row = await db.fetchrow("SELECT images::text AS images FROM product_recognition_jobs WHERE id = $1",
                            uuid.UUID(job["id"]))
    assert b64(image) not in row["images"]
    stored = await db.fetchrow("SELECT mime, size, data FROM product_recognition_job_images WHERE job_id = $1",
                               uuid.UUID(job["id"]))
    assert (stored["mime"], stored["size"], bytes(stored["data"])) == ("image/png", len(image), image)
