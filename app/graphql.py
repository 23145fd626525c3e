"""The GraphQL schema, assembled at the top: the resolvers of app.resolvers (which map to the
types of app.schema), the error codes of app.schema.errors and the security limits.

Nothing below imports this module: app.main serves the schema and `foodai export-schema`
writes it to schema.graphql.
"""

from __future__ import annotations

import strawberry
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig

from app.resolvers.mutations import Mutation
from app.resolvers.queries import Query
from app.resolvers.subscriptions import Subscription
from app.schema.errors import CodedParserCache, ErrorCodes, FoodaiSchema
from app.security.graphql_limits import security_extensions
from app.settings import AppEnv, Settings


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema served by the API (limits from `settings`) and exported to schema.graphql (no settings)."""
    if settings is None:
        return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=[ErrorCodes])
    production = settings.app_env is AppEnv.PRODUCTION

    def error_codes() -> SchemaExtension:
        return ErrorCodes(hide_suggestions=production)

    return FoodaiSchema(
        query=Query, mutation=Mutation, subscription=Subscription,
        # parsing and validating the same operation again costs ~5 ms (measured in bench/): cache both
        extensions=[lambda: CodedParserCache(maxsize=512), lambda: ValidationCache(maxsize=512),
                    *security_extensions(settings), error_codes],
        config=StrawberryConfig(disable_field_suggestions=production, batching_config=None),
    )


def export_sdl() -> str:
    """The SDL that schema.graphql holds (a test fails when they differ)."""
    return build_schema().as_str() + "\n"
