"""schema.graphql is the exported SDL, checked in for clients; it must match the code."""

from __future__ import annotations

from pathlib import Path

from app.graphql import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is out of date: run `foodai export-schema > schema.graphql`"
    )
