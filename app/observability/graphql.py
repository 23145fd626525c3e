"""A schema extension counting open subscriptions (foodai_subscriptions_open)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.observability import metrics


class CountSubscriptions(SchemaExtension):
    """+1 when a subscription starts executing, -1 when its operation ends (complete, error or disconnect)."""

    _counted = False

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            if self._counted:
                metrics.SUBSCRIPTIONS_OPEN.dec()

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION and not self._counted:
            self._counted = True
            metrics.SUBSCRIPTIONS_OPEN.inc()
        yield


def count_subscriptions(schema: Schema) -> Schema:
    """The schema, with CountSubscriptions added to its extensions."""
    schema.extensions = (*schema.extensions, CountSubscriptions)
    return schema
