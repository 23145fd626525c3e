"""graphql-transport-ws with two policies of ours: the socket lives no longer than its token,
and the per-connection operation limit answers with a coded error.

When the token that authenticated `connection_init` expires (its `exp` plus the leeway
HTTP requests get), the server closes the socket with 4403 "Token expired": clients of the
graphql-ws library treat 4403 as retryable, so they reconnect with a fresh token.

Both socket deadlines (connection_init within the timeout, else 4408; the token's expiry,
then 4403) are event-loop timer handles, not a sleeping task per socket: an idle socket
then costs a ~200-byte entry in the loop's timer heap instead of a ~2.5 KiB task, and a
task exists only for the moment a deadline fires and closes the socket.

BoundedWebSocketProtocol is the transport under it (uvicorn's websockets-sansio protocol,
which already reads no further while a message waits for the app): it also stops reading
while the client is not reading what it is sent. uvicorn answers a client's ping frames
itself; without this, a client that sends pings and never reads piles their pongs up in
the server's write buffer without end. With `ws_max_size` (WS_MAX_MESSAGE_BYTES; a larger
message, fragmented or not, closes the socket with 1009) nothing a client sends makes the
server hold more than about a message, a read buffer and a write buffer per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from graphql import GraphQLError
from starlette.types import Message
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, SubscribeMessage
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

TOKEN_EXPIRED = (4403, "Token expired")
INIT_TIMEOUT = (4408, "Connection initialisation timeout")  # strawberry's code and reason


class FoodaiTransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """Closes the socket when its token expires; refuses operations past the limit with BAD_USER_INPUT."""

    _deadline: asyncio.TimerHandle | None = None
    _closing: asyncio.Task[None] | None = None

    def on_request_accepted(self) -> None:
        """Arm the connection_init deadline (a timer handle, where strawberry would start a task)."""
        delay = self.connection_init_wait_timeout.total_seconds()
        self._deadline = asyncio.get_running_loop().call_later(delay, self._init_timed_out)

    def _init_timed_out(self) -> None:
        self._deadline = None
        if not self.connection_init_received:
            self.connection_timed_out = True
            self._close(*INIT_TIMEOUT)

    def _token_expired(self) -> None:
        self._deadline = None
        self._close(*TOKEN_EXPIRED)

    def _close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = asyncio.create_task(self.websocket.close(code, reason))

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if not self.connection_init_received and not self.connection_timed_out:
            self._cancel_deadline()  # the init deadline; a second init must not disarm the token's
        await super().handle_connection_init(message)
        identity = getattr(self.context, "_identity", None)
        if self.connection_acknowledged and identity is not None and self._deadline is None:
            leeway = float(getattr(self.view, "settings").jwt_leeway_s)  # noqa: B009 - FoodaiGraphQL's settings
            delay = max(0.0, identity.expires_at + leeway - time.time())
            self._deadline = asyncio.get_running_loop().call_later(delay, self._token_expired)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (self.connection_acknowledged and limit is not None and message.get("id") not in self.operations
                and len(self.operations) >= limit):
            error = GraphQLError(
                f"at most {limit} operations at once on one connection",
                extensions={"code": "BAD_USER_INPUT", "max": limit},
            )
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        self._cancel_deadline()
        if self._closing is not None:
            with contextlib.suppress(Exception):  # it may have closed a closed socket
                await self._closing
        await super().shutdown()


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol that reads nothing more while its writes are paused."""

    _writes_paused = False

    def pause_writing(self) -> None:
        super().pause_writing()
        self._writes_paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._writes_paused = False
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    async def receive(self) -> Message:  # type: ignore[override]
        message = await super().receive()  # resumes reading once the app has taken every message
        if self._writes_paused and not self.transport.is_closing():
            self.transport.pause_reading()
        return message  # type: ignore[return-value]


def websocket_server_options(max_message_bytes: int = 64 * 1024) -> dict[str, Any]:
    """uvicorn's websocket options for this API (`foodai serve`, `foodai dev` and in-process test servers).

    websockets-sansio (BoundedWebSocketProtocol): no task or buffer of its own per connection
    (pings are loop timers). No permessage-deflate: our frames are small JSON, and each
    connection's zlib compressor and decompressor cost ~50 KiB, half of an idle
    subscription's memory (and a compressed message could inflate far past its size).
    """
    return {"ws": BoundedWebSocketProtocol, "ws_per_message_deflate": False, "ws_max_size": max_message_bytes}
