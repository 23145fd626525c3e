"""Limits on what one GraphQL document may ask for: tokens, depth, aliases; introspection off in production.

Depth and aliases are counted through fragments with each fragment's total memoised, so
the count is linear in the document's size. (strawberry's QueryDepthLimiter and
MaxAliasesLimiter walk fragments again at every spread: a chain of twenty fragments each
spreading the next twice, a few hundred tokens, keeps them busy for seconds.) Fragment
cycles count as nothing here; graphql-core's NoFragmentCyclesRule refuses them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from app.settings import Settings


@dataclass(frozen=True, slots=True)
class Cost:
    depth: int
    aliases: int


class DocumentCost:
    """Depth and alias count of each operation, memoised per fragment."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self._memo: dict[str, Cost] = {}
        self._in_progress: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None) -> Cost:
        """The deepest field chain below (fields only, introspection excluded) and the aliases, spreads expanded."""
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                inner = self.of(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                aliases += inner.aliases + (1 if selection.alias else 0)
            elif isinstance(selection, InlineFragmentNode):
                inner = self.of(selection.selection_set)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self._fragment(selection.name.value)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        return Cost(depth, aliases)

    def _fragment(self, name: str) -> Cost:
        if name in self._memo:
            return self._memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._in_progress:
            return Cost(0, 0)
        self._in_progress.add(name)
        try:
            cost = self.of(fragment.selection_set)
        finally:
            self._in_progress.discard(name)
        self._memo[name] = cost
        return cost


def cost_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule refusing operations deeper than max_depth or with more than max_aliases aliases."""

    class CostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            cost = DocumentCost(context.document)
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                found = cost.of(definition.selection_set)
                name = definition.name.value if definition.name else "the operation"
                if found.depth > max_depth:
                    context.report_error(GraphQLError(
                        f"{name} is {found.depth} levels deep; at most {max_depth} are allowed", definition
                    ))
                if found.aliases > max_aliases:
                    context.report_error(GraphQLError(
                        f"{name} uses {found.aliases} aliases; at most {max_aliases} are allowed", definition
                    ))

    return CostRule


class GraphQLLimits(SchemaExtension):
    """The token limit (enforced while parsing) and our validation rules, in one operation hook.

    What strawberry's MaxTokensLimiter, AddValidationRules and DisableIntrospection do, as one
    extension: strawberry looks up, wraps and runs each extension's hooks at every stage of every
    operation and for every streamed result, so each extension fewer is cheaper per subscription event.
    """

    def __init__(self, max_tokens: int, rules: tuple[type[ValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield


def security_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions (as factories) that enforce these limits for the API process."""
    rules: tuple[type[ValidationRule], ...] = (cost_rule(settings.graphql_max_depth, settings.graphql_max_aliases),)
    if not settings.introspection_enabled:
        rules += (NoSchemaIntrospectionCustomRule,)

    def limits() -> SchemaExtension:
        return GraphQLLimits(settings.graphql_max_tokens, rules)

    return [limits]
