"""The GraphQL schema: types, inputs and enums here; resolvers in app.resolvers."""

from __future__ import annotations

import strawberry

from app.resolvers.mutations import Mutation
from app.resolvers.queries import Query
from app.resolvers.subscriptions import Subscription
from app.schema.errors import ErrorCodes


def build_schema() -> strawberry.Schema:
    """The schema served by the API and exported to schema.graphql."""
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=[ErrorCodes]
    )


def export_sdl() -> str:
    """The SDL that schema.graphql holds (a test fails when they differ)."""
    return build_schema().as_str() + "\n"
