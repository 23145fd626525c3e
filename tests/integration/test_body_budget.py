"""The body admission of issue 14, decided from the headers before a byte of the body is read.

Raw sockets send a request's head and hold its body back: the answer that comes then was
decided without the body. An API of its own runs with a small budget (8 MiB: 7 for uploads,
1 kept for small requests) and a quota of 3 submissions a minute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.integration.security_helpers import NOTHING, Stack, api_with, stored_for
from tests.support import User, b64, new_user, scripted_image

MIB = 1024 * 1024
SUBMIT = "mutation($images: [ImageInput!]!) { submitReceipt(images: $images) { id } }"


@pytest.fixture(scope="module")
async def small(database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[Stack]:
    async with api_with(database_url, kafka_bootstrap, tmp_path_factory.mktemp("budget"), "budget-api",
                        body_budget_bytes=8 * MIB, quota_free_per_minute=3) as stack:
        yield stack


@dataclass
class Held:
    """A request whose head is sent and whose body is held back."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    body: bytes

    async def answer(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Status, headers and JSON body of the response (read without sending any more)."""
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        pairs = (line.split(": ", 1) for line in head[1:] if line)
        headers = {name.lower(): value for name, value in pairs}
        body = await self.reader.readexactly(int(headers["content-length"]))
        is_json = headers.get("content-type", "").startswith("application/json")
        return int(head[0].split(" ")[1]), headers, json.loads(body) if is_json else {"text": body.decode()}

    async def finish(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Send the body, then read the answer."""
        self.writer.write(self.body)
        await self.writer.drain()
        return await self.answer()

    def close(self) -> None:
        self.writer.close()


async def _hold(stack: Stack, body: bytes, user: User | None, content_type: str = "application/json") -> Held:
    host, port = stack.api.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    auth = f"Authorization: Bearer {user.token}\r\n" if user else ""
    writer.write((f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
                  f"Content-Length: {len(body)}\r\n{auth}Apollo-Require-Preflight: 1\r\n\r\n").encode())
    await writer.drain()
    return Held(reader, writer, body)


def _submit_body(images: int, size: int = 0) -> bytes:
    """A JSON submit of `images` copies of a real receipt photo, padded with spaces to `size` bytes."""
    encoded = b64(scripted_image("MILK*1*l*1.19"))
    body = json.dumps({"query": SUBMIT, "variables": {"images": [{"base64": encoded}] * images}})
    return (body + " " * max(0, size - len(body))).encode()


async def _the_one_answered(helds: list[Held]) -> tuple[Held, tuple[int, dict[str, str], dict[str, Any]]]:
    """The one request of `helds` answered while every body is held back (the others wait for theirs)."""
    tasks = {asyncio.create_task(h.answer()): h for h in helds}
    async with asyncio.timeout(60):  # a guard against hanging, not a measure: the answer comes at once
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    [task] = done
    return tasks[task], task.result()


async def test_an_upload_without_a_valid_token_is_refused_before_its_body(
    small: Stack, db: asyncpg.Connection
) -> None:
    for user, message in ((None, "an Authorization: Bearer token is required to upload"),
                          (User(new_user(small.settings).id, "not-a-jwt", None), "the token is not valid")):
        held = await _hold(small, _submit_body(1, MIB), user)
        status, headers, body = await held.answer()
        held.close()
        assert (status, headers["www-authenticate"]) == (401, "Bearer")
        assert body == {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}


async def test_a_third_upload_of_one_user_is_refused_while_two_are_in_flight(
    small: Stack, db: asyncpg.Connection
) -> None:
    user, other = new_user(small.settings), new_user(small.settings)
    helds = [await _hold(small, _submit_body(1, 100 * 1024), user) for _ in range(3)]
    refused, (status, headers, body) = await _the_one_answered(helds)
    assert (status, headers["retry-after"]) == (429, "1")
    assert body == {"errors": [{"message": "at most 2 uploads at once per user; wait for one to finish",
                                "extensions": {"code": "TOO_MANY_UPLOADS", "max": 2}}]}
    first, second = (h for h in helds if h is not refused)
    other_upload = await _hold(small, _submit_body(1, 100 * 1024), other)  # another user's is not counted
    for held in (first, other_upload):
        status, _, body = await held.finish()
        assert status == 200 and "errors" not in body, body
    # the finished upload no longer counts: the user may start another beside the one still held
    fourth = await _hold(small, _submit_body(1, 100 * 1024), user)
    for held in (fourth, second):
        status, _, body = await held.finish()
        assert status == 200 and "errors" not in body, body
    for held in (*helds, other_upload, fourth):
        held.close()
    assert (await stored_for(db, user))["jobs"] == 3


async def test_an_upload_over_a_full_quota_is_refused_before_its_body(small: Stack, db: asyncpg.Connection) -> None:
    user = new_user(small.settings)
    for _ in range(3):  # small submits: the quota counts them in the submit itself
        assert "errors" not in await small.api.gql(SUBMIT, {"images": [{"base64": b64(
            scripted_image("TEA*1*pcs*2.50"))}]}, user=user)
    before = await stored_for(db, user)
    held = await _hold(small, _submit_body(1, MIB), user)
    status, headers, body = await held.answer()
    held.close()
    [error] = body["errors"]  # type: ignore[misc]
    retry = error["extensions"].pop("retryAfterSeconds")
    assert status == 429 and headers["retry-after"] == str(retry) and 1 <= retry <= 60
    assert error == {"message": f"the free plan allows 3 submissions per minute; try again in {retry} s",
                     "extensions": {"code": "QUOTA_EXCEEDED", "limit": 3, "window": "minute", "plan": "free"}}
    assert await stored_for(db, user) == before


async def test_an_upload_the_budget_cannot_hold_waits_briefly_then_gets_503_and_queries_still_run(
    small: Stack, db: asyncpg.Connection
) -> None:
    """8 MiB budget: a 1.2 MiB JSON upload costs 6.6 MiB (5.5 x), so a second one does not fit beside it."""
    users = [new_user(small.settings) for _ in range(2)]
    reader = new_user(small.settings)
    helds = [await _hold(small, _submit_body(1, 1200 * 1024), user) for user in users]
    refused, (status, headers, body) = await _the_one_answered(helds)
    assert (status, headers["retry-after"]) == (503, "1")
    assert body == {"errors": [{"message": "the server is handling as many uploads as its memory allows;"
                                " try again soon", "extensions": {"code": "SERVER_BUSY"}}]}
    # a small request takes the part of the budget kept for them
    assert await small.api.gql("{ me { id } }", user=reader) == {"data": {"me": {"id": str(reader.id)}}}
    refused_user = users[helds.index(refused)]
    assert await stored_for(db, refused_user) == NOTHING
    [admitted] = (h for h in helds if h is not refused)
    status, _, body = await admitted.finish()
    assert status == 200 and "errors" not in body, body
    # the budget is free again: the refused upload goes through when retried
    retried = await _hold(small, _submit_body(1, 1200 * 1024), refused_user)
    status, _, body = await retried.finish()
    assert status == 200 and "errors" not in body, body
    for held in (*helds, retried):
        held.close()


async def test_json_bodies_have_a_lower_limit_than_multipart(small: Stack) -> None:
    user = new_user(small.settings)
    limit = small.settings.json_request_bytes_limit
    assert (limit, small.settings.request_bytes_limit) == (32 * MIB, 64 * MIB)
    held = await _hold(small, b" " * (limit + 1), user)
    status, headers, body = await held.answer()
    held.close()
    assert (status, headers["connection"]) == (413, "close")
    assert body == {"errors": [{"message": f"the request body is larger than {limit} bytes",
                                "extensions": {"code": "PAYLOAD_TOO_LARGE", "max": limit}}]}
    # as multipart the same size is read (and refused as the malformed form it is, not for its size)
    held = await _hold(small, b"-" * (limit + 1), user, "multipart/form-data; boundary=x")
    status, _, body = await held.finish()
    held.close()
    assert status == 400 and "PAYLOAD_TOO_LARGE" not in json.dumps(body), body
