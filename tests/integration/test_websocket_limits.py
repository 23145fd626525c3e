"""Websockets under hostile clients (issue 14): a message size limit, and no memory without end.

A message over WS_MAX_MESSAGE_BYTES (64 KiB), whole or in fragments, closes the socket with
1009. A client that floods ping frames and never reads its socket stops being read: the pongs
the server owes it wait in the kernel's buffers, not in the API's memory.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import psutil
import pytest
import websockets

from app.settings import Settings
from tests.support import Api, ChildProcess, new_user

MIB = 1024 * 1024


def _url(api: Api) -> str:
    return api.base_url.replace("http://", "ws://") + "/graphql"


async def _closed_with(sock: Any) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosedError) as caught:
        async with asyncio.timeout(30):  # a guard against hanging: the close comes at once
            while True:
                await sock.recv()
    assert caught.value.rcvd is not None
    return caught.value.rcvd.code, caught.value.rcvd.reason


async def test_a_message_over_the_limit_closes_the_socket_1009(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    limit = settings.ws_max_message_bytes
    assert limit == 64 * 1024
    over = json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}",
                                                              "pad": "x" * limit}})
    async with websockets.connect(_url(api), subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  max_size=None) as sock:
        await sock.send(over)
        assert (await _closed_with(sock))[0] == 1009
    # the same bytes in 1 KiB fragments
    async with websockets.connect(_url(api), subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  max_size=None) as sock:
        await sock.send(iter([over[i:i + 1024] for i in range(0, len(over), 1024)]))
        assert (await _closed_with(sock))[0] == 1009
    # just under the limit is a message like any other
    async with api.ws(user=None, init_payload={"Authorization": f"Bearer {user.token}", "pad": "x" * (limit // 2)}
                      ) as client:
        assert (await client.recv())["type"] == "connection_ack"


def _ping_frames(count: int) -> bytes:
    """`count` masked ping frames with 125-byte payloads (the most a control frame may carry)."""
    return (b"\x89\xfd" + b"\x00" * 4 + b"p" * 125) * count


async def test_a_client_flooding_pings_without_reading_is_not_buffered(
    api: Api, api_process: tuple[ChildProcess, str], settings: Settings
) -> None:
    """uvicorn answers each ping frame itself; the API stops reading while the pongs back up."""
    user = new_user(settings)
    host, port = api.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /graphql HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101 ")
    init = json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {user.token}"}}).encode()
    writer.write(b"\x81\xfe" + len(init).to_bytes(2, "big") + b"\x00" * 4 + init)
    process = psutil.Process(api_process[0].proc.pid)
    before = peak = process.memory_info().rss
    batch, sent, total = _ping_frames(8192), 0, 64 * MIB
    try:
        while sent < total:  # the server stops reading: the client's buffers fill and its writes block
            writer.write(batch)
            sent += len(batch)
            async with asyncio.timeout(3):  # a write blocked this long: the server is not reading
                await writer.drain()
            peak = max(peak, process.memory_info().rss)
    except TimeoutError:
        pass
    peak = max(peak, process.memory_info().rss)
    writer.transport.abort()
    print(f"ping flood: {sent / MIB:.0f} MiB of pings sent before the writes blocked,"
          f" API RSS +{(peak - before) / MIB:.1f} MiB")
    assert peak - before < 16 * MIB
    assert sent < total  # the server stopped reading long before 64 MiB of pings
