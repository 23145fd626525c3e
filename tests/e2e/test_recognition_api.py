"""What users come for, through the API: the default local recognizer turns a receipt photo into
the right items, a product photo's barcode into the product it names, and a user's corrections
come back in their later jobs (and only theirs)."""

from __future__ import annotations

import io
from typing import Any

from app.recognition.catalog import load_catalog
from app.repos.barcodes import BarcodeProduct, put_barcode
from bench.corpus import generate
from tests.stack import Stack, terminate
from tests.support import (
    EAN,
    GET_JOB,
    SUBMIT_PRODUCTS,
    WATCH_JOB,
    Api,
    User,
    b64,
    new_user,
    package_with_barcode,
    png_bytes,
    scripted_image,
)

CONFIRM = """mutation($id: ID!, $items: [ConfirmedItemInput!]!) {
  confirmProductJob(id: $id, items: $items) { id confirmedItems { name rawText category unit quantity } }
}"""


async def _run_to_end(api: Api, stack: Stack, user: User, image: bytes, lang: str = "en", *,
                      products: bool = False) -> dict[str, Any]:
    if products:
        body = await api.gql(SUBMIT_PRODUCTS, {"images": [{"base64": b64(image)}], "lang": lang}, user=user)
        job = body["data"]["submitProducts"]
    else:
        job = await stack.submit(user, image, lang)
    async with api.ws(user=user) as ws:
        assert (await ws.recv())["type"] == "connection_ack"
        op = await ws.subscribe(WATCH_JOB, {"id": job["id"]})
        assert (await ws.collect(op, timeout=120))[-1]["data"]["productJob"]["status"] == "DONE"
    read: dict[str, Any] = (await api.gql(GET_JOB, {"id": job["id"]}, user=user))["data"]["productJob"]
    return read


async def test_a_receipt_photo_becomes_the_right_items_with_the_default_local_recognizer(stack_factory) -> None:
    stack = stack_factory(recognizer_receipt="local", recognizer_products="local", recognizer_timeout_s=60)
    api = await stack.start_api()
    worker = stack.start_worker()
    user = new_user(stack.settings)
    data, _mime, receipt = generate(2)  # a German receipt: quantity lines below items, pack sizes
    job = await _run_to_end(api, stack, user, data, lang=receipt.lang)
    catalog = load_catalog()
    expected = sorted(
        (catalog.get(t.key).display_name(receipt.lang), round(t.quantity, 3), t.unit, t.price)  # type: ignore[union-attr]
        for t in receipt.items
    )
    items = job["result"]["items"]
    assert sorted((i["name"], round(i["quantity"], 3), i["unit"], i["price"]) for i in items) == expected
    assert all(i["category"] != "other" and i["storageDays"] for i in items)
    summary = job["result"]["receipt"]
    assert (summary["currency"], summary["total"], summary["totalMatches"]) == (receipt.currency, receipt.total, True)

    blank = await _run_to_end(api, stack, user, png_bytes(size=(640, 480)))
    assert blank["result"]["items"] == []
    assert [(i["status"], i["note"]) for i in blank["result"]["images"]] == [("done", "no text found in this image")]
    assert terminate(worker) == 0


async def test_a_product_photo_is_named_by_its_barcode_from_the_workers_barcode_cache(stack_factory) -> None:
    stack = stack_factory(recognizer_receipt="local", recognizer_products="local", recognizer_timeout_s=60)
    await put_barcode(await stack.db(), BarcodeProduct(EAN, "user", True, "Vollmilch 3,5%", None, "milk"))
    api = await stack.start_api()
    worker = stack.start_worker()
    photo = io.BytesIO()
    package_with_barcode(EAN).save(photo, "PNG")
    job = await _run_to_end(api, stack, new_user(stack.settings), photo.getvalue(), lang="de", products=True)
    assert [(i["name"], i["category"], i["quantity"], i["unit"]) for i in job["result"]["items"]] == [
        (load_catalog().get("milk").display_name("de"), "dairy", 1.0, "pcs")  # type: ignore[union-attr]
    ]
    assert terminate(worker) == 0


async def test_a_correction_is_applied_to_that_users_later_jobs_only(stack_factory) -> None:
    stack = stack_factory()
    api = await stack.start_api()
    worker = stack.start_worker()
    alice, bob = new_user(stack.settings), new_user(stack.settings)
    receipt = scripted_image("QWZX HAFERDR 1L*1*l*1.99")
    first = await _run_to_end(api, stack, alice, receipt)
    [item] = first["result"]["items"]
    assert (item["rawText"], item["category"]) == ("QWZX HAFERDR 1L", "other")

    confirmed = await api.gql(CONFIRM, {"id": first["id"], "items": [
        {"name": "Oat drink", "quantity": 1, "unit": "l", "category": "beverages", "rawText": "QWZX HAFERDR 1L"}
    ]}, user=alice)
    assert "errors" not in confirmed, confirmed

    again = await _run_to_end(api, stack, alice, receipt)
    assert [(i["name"], i["category"], i["unit"], i["rawText"]) for i in again["result"]["items"]] == [
        ("Oat drink", "beverages", "l", "QWZX HAFERDR 1L")
    ]
    other = await _run_to_end(api, stack, bob, receipt)
    assert [i["category"] for i in other["result"]["items"]] == ["other"]
    assert terminate(worker) == 0
