"""A recognizer backed by any OpenAI-compatible chat-completions endpoint with image input.

The image goes in as a base64 `data:` URL; the model must answer with JSON that
follows `REPLY_SCHEMA` (requested through `response_format: json_schema`, strict),
which `Reply` validates. Configured by RECOGNIZER_BASE_URL (e.g.
`https://api.openai.com/v1`), RECOGNIZER_API_KEY and RECOGNIZER_MODEL.

Failures: 429 (honouring Retry-After), 5xx, timeouts and connection errors are retried
with exponential backoff and jitter, up to `max_attempts` calls; if all fail the
RecognitionError is retryable. Other 4xx answers, refusals and replies that do not
match the schema raise a non-retryable RecognitionError.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.domain import JobType
from app.recognition.base import (
    ImageRecognition,
    JobImage,
    RawItem,
    ReceiptHeader,
    RecognitionError,
)
from app.recognition.enrich import CATEGORIES, UNITS

if TYPE_CHECKING:
    from app.settings import Settings

Sleep = Callable[[float], Awaitable[None]]
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_STRING = {"type": ["string", "null"]}
_ITEM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["text", "name", "quantity", "unit", "price", "unit_price", "category", "confidence"],
    "properties": {
        "text": {"type": "string", "description": "the line or label exactly as printed"},
        "name": {"type": "string", "description": "plain product name in the requested language"},
        "quantity": _NULLABLE_NUMBER,
        "unit": {"type": ["string", "null"], "enum": [*UNITS, None]},
        "price": _NULLABLE_NUMBER,
        "unit_price": _NULLABLE_NUMBER,
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "confidence": {"type": "number"},
    },
}
REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["items", "merchant", "purchased_at", "currency", "total", "note"],
    "properties": {
        "items": {"type": "array", "items": _ITEM_SCHEMA},
        "merchant": _NULLABLE_STRING,
        "purchased_at": {**_NULLABLE_STRING, "description": "ISO 8601 date"},
        "currency": {**_NULLABLE_STRING, "description": "ISO 4217 code"},
        "total": _NULLABLE_NUMBER,
        "note": {**_NULLABLE_STRING, "description": "why there are no items, if so"},
    },
}
_PROMPTS = {
    JobType.RECEIPT: "The image is a shop receipt. List every purchased item line (not totals, tax, "
    "payment, deposits or discounts) with quantity, unit, line price and unit price as printed, and "
    "the receipt's merchant, date, currency and total.",
    JobType.PRODUCTS: "The image shows groceries or household products. List each distinct product "
    "you can see with its quantity (count, or the package size) and no prices.",
}


class ReplyItem(BaseModel):
    """One item as the model reports it."""

    model_config = ConfigDict(extra="ignore")

    text: str
    name: str
    quantity: float | None = None
    unit: Literal["pcs", "g", "kg", "ml", "l"] | None = None
    price: float | None = None
    unit_price: float | None = None
    category: Literal[
        "produce", "dairy", "meat", "fish", "bakery", "frozen",
        "pantry", "beverages", "snacks", "household", "other",
    ] = "other"
    confidence: float = Field(0.8, ge=0.0, le=1.0)


class Reply(BaseModel):
    """The whole structured answer (REPLY_SCHEMA)."""

    model_config = ConfigDict(extra="ignore")

    items: list[ReplyItem]
    merchant: str | None = None
    purchased_at: str | None = None
    currency: str | None = None
    total: float | None = None
    note: str | None = None


def build_request(model: str, image: JobImage, job_type: JobType, lang: str) -> dict[str, Any]:
    """The chat-completions body for one image."""
    data_url = f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"
    system = (f"You read photos for a pantry app. {_PROMPTS[job_type]} Give names in the language "
              f"'{lang}'. Use only units pcs, g, kg, ml, l. Answer with JSON only.")
    return {
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": [
                {"type": "text", "text": "Read this image."},
                {"type": "image_url", "image_url": {"url": data_url}},
            ]},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "pantry_items", "schema": REPLY_SCHEMA, "strict": True},
        },
    }


def parse_reply(body: Any) -> Reply:
    """The validated structured answer from a chat-completions response body; RecognitionError if malformed."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise RecognitionError("the model's response has no message") from exc
    if message.get("refusal"):
        raise RecognitionError(f"the model refused: {message['refusal']}")
    content = message.get("content")
    if not isinstance(content, str):
        raise RecognitionError("the model's message has no text content")
    try:
        return Reply.model_validate_json(content)
    except ValidationError as exc:
        raise RecognitionError(f"the model's answer does not match the schema: {exc.error_count()} errors") from exc


def to_recognition(reply: Reply, job_type: JobType) -> ImageRecognition:
    """Raw items (and the header, for receipts) from a validated reply."""
    items = [
        RawItem(raw_text=i.text or i.name, confidence=i.confidence, quantity=i.quantity, unit=i.unit,
                price=i.price, unit_price=i.unit_price, name_hint=i.name, category_hint=i.category)
        for i in reply.items
    ]
    header = None
    if job_type is JobType.RECEIPT:
        header = ReceiptHeader(reply.merchant, reply.purchased_at, reply.currency, reply.total)
    note = None if items else (reply.note or "no items found in this image")
    return ImageRecognition(items=items, header=header, note=note)


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or an HTTP date), if it did."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class OpenAIRecognizer:
    """Sends each image to an OpenAI-compatible vision model; see the module docstring."""

    name = "openai"

    def __init__(self, settings: Settings, *, client: httpx.AsyncClient | None = None, max_attempts: int = 3,
                 backoff_base_s: float = 0.5, backoff_max_s: float = 20.0, sleep: Sleep = asyncio.sleep) -> None:
        if not settings.recognizer_base_url or not settings.recognizer_model:
            raise ValueError("RECOGNIZER_BASE_URL and RECOGNIZER_MODEL must be set for the openai recognizer")
        self._url = settings.recognizer_base_url.rstrip("/") + "/chat/completions"
        self._model = settings.recognizer_model
        key = settings.recognizer_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        timeout = httpx.Timeout(settings.recognizer_timeout_s, connect=min(10.0, settings.recognizer_timeout_s))
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._headers = headers
        self._max_attempts = max_attempts
        self._backoff = (backoff_base_s, backoff_max_s)
        self._sleep = sleep

    async def recognize(self, image: JobImage, *, job_type: JobType, lang: str) -> ImageRecognition:
        """Ask the model about one image; RecognitionError (retryable or not) when that fails."""
        body = build_request(self._model, image, job_type, lang)
        response = await self._post_with_retries(body)
        try:
            payload = response.json()
        except ValueError as exc:
            raise RecognitionError("the model endpoint did not return JSON") from exc
        return to_recognition(parse_reply(payload), job_type)

    async def _post_with_retries(self, body: dict[str, Any]) -> httpx.Response:
        last_error = "no attempt made"
        for attempt in range(1, self._max_attempts + 1):
            wait: float | None = None
            try:
                response = await self._client.post(self._url, json=body, headers=self._headers)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                _raise_if_final(response)
                last_error = f"HTTP {response.status_code}"
                wait = retry_after_s(response)
            if attempt < self._max_attempts:
                await self._sleep(self._delay(attempt, wait))
        raise RecognitionError(f"the model endpoint failed {self._max_attempts} times ({last_error})",
                               retryable=True)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        base, cap = self._backoff
        if retry_after is not None:
            return min(retry_after, cap)
        return min(cap, base * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # jitter, not crypto

    async def aclose(self) -> None:
        """Close the HTTP client if this recognizer created it."""
        if self._owns_client:
            await self._client.aclose()


def _raise_if_final(response: httpx.Response) -> None:
    """Raise a non-retryable error for 4xx answers other than 408 and 429."""
    if response.status_code in (408, 429) or response.status_code >= 500:
        return
    detail = response.text[:200]
    raise RecognitionError(f"the model endpoint refused the request: HTTP {response.status_code} {detail}")
