"""graphql-transport-ws with two policies of ours: the socket lives no longer than its token,
and the per-connection operation limit answers with a coded error.

When the token that authenticated `connection_init` expires (its `exp` plus the leeway
HTTP requests get), the server closes the socket with 4403 "Token expired": clients of the
graphql-ws library treat 4403 as retryable, so they reconnect with a fresh token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, SubscribeMessage

TOKEN_EXPIRED = (4403, "Token expired")


class FoodaiTransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """Closes the socket when its token expires; refuses operations past the limit with BAD_USER_INPUT."""

    expiry_task: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        identity = getattr(self.context, "_identity", None)
        if self.connection_acknowledged and identity is not None and self.expiry_task is None:
            leeway = float(getattr(self.view, "settings").jwt_leeway_s)  # noqa: B009 - FoodaiGraphQL's settings
            self.expiry_task = asyncio.create_task(self._close_at(identity.expires_at + leeway))

    async def _close_at(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.time()))
        await self.websocket.close(*TOKEN_EXPIRED)

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
        if self.expiry_task is not None:
            self.expiry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # it may have closed a closed socket
                await self.expiry_task
        await super().shutdown()
