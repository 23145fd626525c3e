"""GraphiQL's assets: local copies in DATA_DIR/graphiql are used by themselves, else the CDN."""

from __future__ import annotations

from pathlib import Path

from app.pages import CDN, graphiql_assets_dir, graphiql_html
from app.settings import Settings


def test_local_assets_are_used_when_every_file_is_there(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    (tmp_path / "graphiql").mkdir()
    *present, missing = CDN  # every asset file but the last
    for name in present:
        (tmp_path / "graphiql" / name).write_text("x")
    assert graphiql_assets_dir(settings) is None  # one missing: the CDN
    assert "https://unpkg.com/graphiql" in graphiql_html(settings) and '"assets": "cdn"' in graphiql_html(settings)
    (tmp_path / "graphiql" / missing).write_text("x")
    assert graphiql_assets_dir(settings) == tmp_path / "graphiql"
    html = graphiql_html(settings)
    assert "unpkg.com/graphiql" not in html and "/graphiql-assets/graphiql.min.js" in html


def test_the_page_carries_how_to_get_the_assets() -> None:
    html = graphiql_html(Settings(data_dir=Path("/nonexistent")))
    assert 'id="graphiql-offline"' in html and "scripts/fetch-graphiql.sh" in html
