"""The OpenAI-compatible recognizer against a local HTTP server speaking chat completions."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from app.domain import JobType
from app.recognition.base import JobImage, RecognitionError
from app.recognition.openai_compat import OpenAIRecognizer
from app.settings import Settings

IMAGE = JobImage(0, b"\xff\xd8\xffFAKEJPEG", "image/jpeg")
GOOD_REPLY = {
    "items": [
        {"text": "VOLLMILCH 3,5% 1L", "name": "Vollmilch", "quantity": 2, "unit": "pcs", "price": 2.38,
         "unit_price": 1.19, "category": "dairy", "confidence": 0.93},
        {"text": "BANANEN", "name": "Bananen", "quantity": 1.235, "unit": "kg", "price": 2.46,
         "unit_price": 1.99, "category": "produce", "confidence": 0.88},
    ],
    "merchant": "REWE", "purchased_at": "2024-03-12", "currency": "EUR", "total": 4.84, "note": None,
}


@dataclass
class Scripted:
    """Responses to give, in order (status, headers, body), and the requests received."""

    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


def completion(content: str) -> bytes:
    return json.dumps({"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
                      ).encode()


@pytest.fixture
def server() -> Iterator[tuple[str, Scripted]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append((self.path, dict(self.headers), body))
            status, headers, payload = script.responses.pop(0)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
async def recognizer(server: tuple[str, Scripted]) -> AsyncIterator[tuple[OpenAIRecognizer, Scripted, list[float]]]:
    url, script = server
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    settings = Settings(recognizer_base_url=url, recognizer_model="vision-1",
                        recognizer_api_key=SecretStr("sk-test"), recognizer_timeout_s=5)
    openai = OpenAIRecognizer(settings, sleep=record, backoff_base_s=0.5)
    yield openai, script, waits
    await openai.aclose()


async def test_success_sends_image_and_strict_schema_and_maps_the_reply(
    recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
) -> None:
    openai, script, waits = recognizer
    script.responses.append((200, {}, completion(json.dumps(GOOD_REPLY))))
    result = await openai.recognize(IMAGE, job_type=JobType.RECEIPT, lang="de")
    assert [(i.raw_text, i.name_hint, i.quantity, i.unit, i.price, i.unit_price, i.category_hint, i.confidence)
            for i in result.items] == [
        ("VOLLMILCH 3,5% 1L", "Vollmilch", 2.0, "pcs", 2.38, 1.19, "dairy", 0.93),
        ("BANANEN", "Bananen", 1.235, "kg", 2.46, 1.99, "produce", 0.88),
    ]
    assert result.header is not None
    assert (result.header.merchant, result.header.purchased_at, result.header.currency, result.header.total) == (
        "REWE", "2024-03-12", "EUR", 4.84)
    [(path, headers, body)] = script.requests
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "vision-1"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["messages"][1]["content"][1]["image_url"]["url"] == "data:image/jpeg;base64,/9j/RkFLRUpQRUc="
    assert waits == []


async def test_429_then_success_honours_retry_after(recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
                                                    ) -> None:
    openai, script, waits = recognizer
    script.responses += [(429, {"Retry-After": "3"}, b'{"error": "slow down"}'),
                         (200, {}, completion(json.dumps(GOOD_REPLY)))]
    result = await openai.recognize(IMAGE, job_type=JobType.RECEIPT, lang="de")
    assert len(result.items) == 2
    assert len(script.requests) == 2
    assert waits == [3.0]


async def test_500s_exhausted_raise_a_retryable_error(recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
                                                      ) -> None:
    openai, script, waits = recognizer
    script.responses += [(500, {}, b"oops"), (502, {}, b"oops"), (503, {}, b"oops")]
    with pytest.raises(RecognitionError, match="failed 3 times") as caught:
        await openai.recognize(IMAGE, job_type=JobType.RECEIPT, lang="en")
    assert caught.value.retryable is True
    assert len(script.requests) == 3
    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0  # exponential backoff with jitter


async def test_garbage_json_is_a_non_retryable_error(recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
                                                     ) -> None:
    openai, script, _ = recognizer
    script.responses.append((200, {}, completion("{\"items\": [{\"nonsense\": true}]")))
    with pytest.raises(RecognitionError, match="schema") as caught:
        await openai.recognize(IMAGE, job_type=JobType.RECEIPT, lang="en")
    assert caught.value.retryable is False


async def test_a_body_that_is_not_json_is_an_error(recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
                                                   ) -> None:
    openai, script, _ = recognizer
    script.responses.append((200, {}, b"<html>proxy error</html>"))
    with pytest.raises(RecognitionError, match="did not return JSON"):
        await openai.recognize(IMAGE, job_type=JobType.RECEIPT, lang="en")


async def test_other_4xx_fail_at_once_without_retry(recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
                                                    ) -> None:
    openai, script, waits = recognizer
    script.responses.append((400, {}, b'{"error": {"message": "image too large"}}'))
    with pytest.raises(RecognitionError, match="HTTP 400") as caught:
        await openai.recognize(IMAGE, job_type=JobType.PRODUCTS, lang="en")
    assert caught.value.retryable is False
    assert (len(script.requests), waits) == (1, [])


async def test_empty_reply_gives_the_models_note(recognizer: tuple[OpenAIRecognizer, Scripted, list[float]],
                                                 ) -> None:
    openai, script, _ = recognizer
    empty = {**GOOD_REPLY, "items": [], "note": "this is a photo of a cat"}
    script.responses.append((200, {}, completion(json.dumps(empty))))
    result = await openai.recognize(IMAGE, job_type=JobType.PRODUCTS, lang="en")
    assert (result.items, result.header, result.note) == ([], None, "this is a photo of a cat")


async def test_connection_errors_are_retried_then_retryable() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    settings = Settings(recognizer_base_url="http://127.0.0.1:9/v1", recognizer_model="m", recognizer_timeout_s=2)
    openai = OpenAIRecognizer(settings, sleep=record)
    try:
        with pytest.raises(RecognitionError, match="ConnectError") as caught:
            await openai.recognize(IMAGE, job_type=JobType.RECEIPT, lang="en")
    finally:
        await openai.aclose()
    assert caught.value.retryable is True
    assert len(waits) == 2


def test_missing_configuration_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="RECOGNIZER_BASE_URL"):
        OpenAIRecognizer(Settings(recognizer_base_url=None, recognizer_model="m"))
