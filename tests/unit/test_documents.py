"""The typed documents of app.domain: the JSON they store, and the older shapes they still read."""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from pathlib import Path

from app.domain import (
    ImageResult,
    ImageStatus,
    JobResult,
    JobStatus,
    JobType,
    Plan,
    ReceiptFields,
    ResultItem,
    ReviewedItem,
)
from app.recognition.base import ImageRecognition, RawItem, ReceiptHeader
from app.schema.mapping import job_result_to_type
from app.services.processing import ImageRead, build_result

APP = Path(__file__).resolve().parents[2] / "app"

# A result exactly as the worker stored it before the document was typed (its dict, json.dumps'ed)
STORED = (
    '{"items":[{"name":"Milk","raw_text":"MILCH 1L","quantity":1.0,"unit":"l","category":"dairy",'
    '"confidence":0.9,"image_index":0,"price":1.29,"unit_price":null,"storage_days":7,'
    '"box":[[1.0,2.0],[3.5,2.0],[3.5,4.0],[1.0,4.0]],"catalog_key":"milk"},'
    '{"name":"BREAD","raw_text":"BREAD","quantity":1.0,"unit":"pcs","category":"other","confidence":0.5,'
    '"image_index":1,"price":null,"unit_price":null,"storage_days":null,"box":null,"catalog_key":null}],'
    '"images":[{"index":0,"status":"done","item_count":1,"duration_ms":12,"error":null,"note":null},'
    '{"index":1,"status":"done","item_count":1,"duration_ms":30,"error":null,"note":"blurry"},'
    '{"index":2,"status":"failed","item_count":0,"duration_ms":5,"error":"bad image","note":null}],'
    '"receipt":{"merchant":"REWE","purchased_at":null,"currency":"EUR","total":1.29,"subtotal":null,'
    '"tax":0.2,"address":"Main St 1","total_matches":true}}'
)
# The first version's shape: no storage_days or catalog_key, no subtotal/tax/address
FIRST_VERSION = {
    "items": [{"name": "Eggs", "raw_text": "EIER 10ER", "quantity": 10, "unit": "pcs", "category": "dairy",
               "confidence": 0.8, "image_index": 0, "price": 2.5, "unit_price": None, "box": None}],
    "images": [{"index": 0, "status": "done", "item_count": 1, "duration_ms": 40, "error": None, "note": None}],
    "receipt": {"merchant": "ALDI", "purchased_at": "2026-11-28", "currency": "EUR", "total": 2.5,
                "total_matches": True},
}


def _dumps(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"))


def test_a_stored_document_reads_and_writes_back_byte_for_byte() -> None:
    result = JobResult.from_json(json.loads(STORED))
    assert result.items[0].box == ((1.0, 2.0), (3.5, 2.0), (3.5, 4.0), (1.0, 4.0))
    assert [i.status for i in result.images] == [ImageStatus.DONE, ImageStatus.DONE, ImageStatus.FAILED]
    assert result.receipt == ReceiptFields(merchant="REWE", currency="EUR", total=1.29, tax=0.2,
                                           address="Main St 1", total_matches=True)
    assert _dumps(result.to_json()) == STORED


def test_the_worker_builds_the_same_document_as_before() -> None:
    items = [
        ResultItem("Milk", "MILCH 1L", 1.0, "l", "dairy", 0.9, 0, price=1.29, storage_days=7,
                   box=((1.0, 2.0), (3.5, 2.0), (3.5, 4.0), (1.0, 4.0)), catalog_key="milk"),
        ResultItem("BREAD", "BREAD", 1.0, "pcs", "other", 0.5, 1),
    ]
    first = ImageRecognition([RawItem("MILCH 1L", 0.9)], ReceiptHeader(merchant="REWE", total=1.29, currency="EUR"))
    second = ImageRecognition([RawItem("BREAD", 0.5)], ReceiptHeader(merchant="X", tax=0.2, address="Main St 1"),
                              note="blurry")
    reads = [
        ImageRead(ImageResult(0, ImageStatus.DONE, 1, 12), first),
        ImageRead(ImageResult(1, ImageStatus.DONE, 1, 30, note="blurry"), second),
        ImageRead(ImageResult(2, ImageStatus.FAILED, 0, 5, error="bad image")),
    ]
    assert _dumps(build_result(reads, items).to_json()) == STORED


def test_first_version_documents_read_with_defaults() -> None:
    result = JobResult.from_json(FIRST_VERSION)
    assert result.items == (ResultItem("Eggs", "EIER 10ER", 10, "pcs", "dairy", 0.8, 0, price=2.5),)
    assert result.receipt is not None
    assert (result.receipt.subtotal, result.receipt.tax, result.receipt.address) == (None, None, None)
    assert result.to_json()["items"][0]["catalog_key"] is None


def test_empty_and_partial_documents_read_as_empty() -> None:
    for doc in ({}, {"items": None, "images": [], "receipt": None}):
        assert JobResult.from_json(doc) == JobResult()
    assert JobResult().to_json() == {"items": [], "images": [], "receipt": None}
    assert ImageResult.from_json({"index": 3, "status": "failed"}) == ImageResult(3, ImageStatus.FAILED)
    assert ReceiptFields.from_json({}).total_matches is False


def test_an_empty_box_round_trips_and_shows_as_null() -> None:
    doc = json.loads(STORED)
    doc["items"][0]["box"] = []
    result = JobResult.from_json(doc)
    assert result.to_json() == doc
    assert job_result_to_type(result).items[0].box is None


def test_the_mapping_reads_the_document_by_attribute() -> None:
    typed = job_result_to_type(JobResult.from_json(json.loads(STORED)))
    assert [(i.name, i.price, i.storage_days) for i in typed.items] == [("Milk", 1.29, 7), ("BREAD", None, None)]
    assert typed.items[0].box is not None and (typed.items[0].box[1].x, typed.items[0].box[1].y) == (3.5, 2.0)
    assert [(i.index, i.status, i.error, i.note) for i in typed.images] == [
        (0, "done", None, None), (1, "done", None, "blurry"), (2, "failed", "bad image", None),
    ]
    assert typed.receipt is not None and (typed.receipt.merchant, typed.receipt.total_matches) == ("REWE", True)


def test_reviewed_items_round_trip_and_read_without_the_optional_fields() -> None:
    stored = [{"name": "Milk", "quantity": 1.0, "unit": "l", "category": "dairy", "raw_text": "MILCH 1L",
               "price": 1.29}]
    assert ReviewedItem.list_to_json(ReviewedItem.list_from_json(stored)) == stored
    assert ReviewedItem.from_json({"name": "milk", "quantity": 1, "unit": "pcs", "category": "dairy"}) == (
        ReviewedItem("milk", 1, "pcs", "dairy")
    )


def test_enum_values_parse_only_from_their_strings() -> None:
    assert (Plan.parse("paid"), JobType.parse("receipt"), JobStatus.parse("done")) == (
        Plan.PAID, JobType.RECEIPT, JobStatus.DONE,
    )
    assert [Plan.parse(v) for v in ("PAID", "", None, ["paid"], 1)] == [None] * 5
    assert [s for s in JobStatus if s.terminal] == [JobStatus.DONE, JobStatus.FAILED]


def test_the_domain_module_imports_only_the_standard_library() -> None:
    tree = ast.parse((APP / "domain.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m.split(".")[0] for m in imported} <= sys.stdlib_module_names | {"__future__"}


def test_each_public_class_name_is_defined_once_in_the_app() -> None:
    names = Counter(
        node.name
        for path in APP.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_")
    )
    assert [name for name, count in names.items() if count > 1] == []
