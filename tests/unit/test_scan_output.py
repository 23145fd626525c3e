"""`foodai scan`'s output for a finished job: notes, errors and a printed total the items miss."""

from __future__ import annotations

import io

from rich.console import Console

from app.scan import print_table, problems


def job(**receipt: object) -> dict[str, object]:
    return {
        "id": "0196-job", "jobType": "RECEIPT", "status": "DONE", "error": None,
        "result": {
            "items": [{"name": "Milk", "rawText": "MILK", "quantity": 1.0, "unit": "l", "category": "dairy",
                       "price": 1.19, "confidence": 0.9, "imageIndex": 0},
                      {"name": "Bread", "rawText": "BREAD", "quantity": 1.0, "unit": "pcs", "category": "bakery",
                       "price": 2.10, "confidence": 0.9, "imageIndex": 0}],
            "images": [{"index": 0, "status": "done", "itemCount": 2, "durationMs": 10, "error": None, "note": None}],
            "receipt": {"merchant": "FRESH", "purchasedAt": None, "currency": "EUR", **receipt},
        },
    }


def rendered(state: dict[str, object]) -> str:
    out = io.StringIO()
    print_table(state, Console(file=out, width=160))
    return out.getvalue()


def test_a_total_the_items_do_not_add_up_to_is_flagged() -> None:
    mismatch = job(total=9.99, totalMatches=False)
    assert problems(mismatch) == ["the printed total 9.99 does not match the items (2 priced, adding up to 3.29): "
                                  "check for missing or misread lines"]
    text = rendered(mismatch)
    assert "does NOT match the items" in text and "! the printed total 9.99 does not match" in text


def test_a_matching_total_is_no_problem() -> None:
    matching = job(total=3.29, totalMatches=True)
    assert problems(matching) == []
    assert "(matches the items)" in rendered(matching)
