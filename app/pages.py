"""Pages the API serves for people: the scan page (/scan) and our GraphiQL template.

The scan page is static HTML, CSS and JavaScript from app/static (no build step); the
server only injects a small JSON config (the GraphQL path, and in development the dev
token). GraphiQL loads React and GraphiQL from local copies when there are any (GRAPHIQL_ASSETS_DIR,
else DATA_DIR/graphiql, which scripts/fetch-graphiql.sh fills and the bootstrap runs when npm is
there), or else from the CDN; when neither loads, the page says how to get them.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.settings import AppEnv, Settings

STATIC = Path(__file__).resolve().parent / "static"
GRAPHIQL_ASSETS = "/graphiql-assets"
# The versions strawberry's own GraphiQL page loads, with its subresource-integrity hashes.
CDN = {
    "react.production.min.js": ("https://unpkg.com/react@18.2.0/umd/react.production.min.js",
                                "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"),
    "react-dom.production.min.js": ("https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js",
                                    "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"),
    "graphiql.min.js": ("https://unpkg.com/graphiql@3.8.3/graphiql.min.js",
                        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
    "graphiql.min.css": ("https://unpkg.com/graphiql@3.8.3/graphiql.min.css",
                         "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
}
DEFAULT_QUERY = """# foodai: submit photos, watch the job, read the items.
# The Authorization header is in the Headers tab below.

query Me { me { id plan } }

query History {
  productJobHistory(first: 5) {
    edges { node { id jobType status imagesDone imageCount createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}

# Paste a job id, then run Watch: GraphiQL speaks graphql-transport-ws.
subscription Watch($id: ID! = "") {
  productJob(id: $id) {
    status imagesDone imageCount
    result { items { name quantity unit category price confidence } }
  }
}
"""


def scan_page_enabled(settings: Settings) -> bool:
    """SCAN_PAGE, else on outside production."""
    return settings.scan_page if settings.scan_page is not None else settings.app_env is not AppEnv.PRODUCTION


def dev_token(settings: Settings) -> str | None:
    """DEV_TOKEN, honoured only when APP_ENV=development (never echoed by a test or production server)."""
    if settings.app_env is not AppEnv.DEVELOPMENT or settings.dev_token is None:
        return None
    return settings.dev_token.get_secret_value()


def _json_for_html(value: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _template(name: str) -> str:  # read per request: small, and edits show without a restart
    return (STATIC / name).read_text(encoding="utf-8")


def graphiql_assets_dir(settings: Settings) -> Path | None:
    """GRAPHIQL_ASSETS_DIR when set; else DATA_DIR/graphiql when it holds every file; else None (the CDN)."""
    if settings.graphiql_assets_dir is not None:
        return settings.graphiql_assets_dir
    found = settings.data_dir / "graphiql"
    return found if all((found / name).is_file() for name in CDN) else None


def _asset_tags(settings: Settings, local: bool) -> tuple[str, str]:
    def src(name: str) -> tuple[str, str]:
        url, integrity = CDN[name]  # the local copies are the same files: the same hashes hold
        if local:
            return f"{GRAPHIQL_ASSETS}/{name}", f' integrity="{integrity}"'
        return url, f' integrity="{integrity}" crossorigin="anonymous"'

    css, css_attrs = src("graphiql.min.css")
    head = f'<link rel="stylesheet" href="{css}"{css_attrs}>'
    scripts = [src(n) for n in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")]
    body = "\n  ".join(f'<script src="{url}"{attrs}></script>' for url, attrs in scripts)
    return head, body


def graphiql_html(settings: Settings) -> str:
    """Our GraphiQL page: CDN or local assets, the dev token prefilled in development."""
    local = graphiql_assets_dir(settings) is not None
    head, body = _asset_tags(settings, local)
    config = {"devToken": dev_token(settings), "defaultQuery": DEFAULT_QUERY, "assets": "local" if local else "cdn"}
    return (_template("graphiql.html").replace("<!--ASSETS_HEAD-->", head).replace("<!--ASSETS_BODY-->", body)
            .replace("<!--CONFIG-->", _json_for_html(config)))


def scan_html(settings: Settings) -> str:
    """The scan page with its config (GraphQL path, dev token in development)."""
    config = {"graphqlPath": "/graphql", "devToken": dev_token(settings), "graphiql": settings.graphiql_enabled}
    return _template("scan.html").replace("<!--CONFIG-->", _json_for_html(config))


def page_routes(settings: Settings) -> list[BaseRoute]:
    """/scan and its assets when the scan page is on; /graphiql-assets when there are local GraphiQL assets."""
    routes: list[BaseRoute] = []
    if scan_page_enabled(settings):
        async def scan(_: Request) -> Response:
            return HTMLResponse(scan_html(settings), headers={"Cache-Control": "no-store"})

        async def scan_slash(_: Request) -> Response:
            return RedirectResponse("/scan")

        routes += [Route("/scan", scan), Route("/scan/", scan_slash),
                   Mount("/static", StaticFiles(directory=STATIC), name="static")]
    assets = graphiql_assets_dir(settings)
    if settings.graphiql_enabled and assets is not None:
        routes.append(Mount(GRAPHIQL_ASSETS, StaticFiles(directory=assets, check_dir=False)))
    return routes
