"""The `foodai` command: dev, serve, worker, migrate, token, export-schema, scan."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid

from app.settings import AppEnv, Settings


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.main import create_app, websocket_server_options
    from app.observability.logs import configure_logging

    settings = Settings()
    configure_logging(settings)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", log_config=None,
                access_log=settings.log_access, timeout_graceful_shutdown=10, **websocket_server_options())


def _worker(_: argparse.Namespace) -> None:
    from app.worker import main

    main()


def _migrate(_: argparse.Namespace) -> None:
    from app.migrate import migrate

    applied = asyncio.run(migrate(Settings().database_url))
    print("applied: " + ", ".join(applied) if applied else "database is up to date")


def _token(args: argparse.Namespace) -> None:
    from app.auth import issue_token

    settings = Settings()
    if settings.app_env is AppEnv.PRODUCTION:
        sys.exit("foodai token: refusing to mint tokens when APP_ENV=production")
    if settings.jwt_asymmetric:
        sys.exit("foodai token: tokens are verified with a public key here; mint them with your identity provider")
    print(issue_token(settings, user_id=args.user or uuid.uuid4(), plan=args.plan, ttl_s=args.ttl))


def _export_schema(_: argparse.Namespace) -> None:
    from app.schema import export_sdl

    sys.stdout.write(export_sdl())


def _scan(args: argparse.Namespace) -> None:
    from app.scan import run

    sys.exit(run(args))


def _dev(args: argparse.Namespace) -> None:
    from app.dev import run_dev

    run_dev(host=args.host, port=args.port)


def _scan_arguments(parser: argparse.ArgumentParser) -> None:
    from app.scan import add_arguments

    add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    """The command line, one subcommand per entrypoint."""
    parser = argparse.ArgumentParser(prog="foodai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_ in (
        ("dev", _dev, "embedded PostgreSQL and broker, migrations, API and a worker: one command"),
        ("serve", _serve, "the API (uvicorn)"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.set_defaults(func=func)
    sub.add_parser("worker", help="a worker process").set_defaults(func=_worker)
    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=_migrate)
    token = sub.add_parser("token", help="mint a development token")
    token.add_argument("--user", type=uuid.UUID, help="user id (UUID); random when omitted")
    token.add_argument("--plan", choices=["free", "paid"], default=None)
    token.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="seconds until it expires")
    token.set_defaults(func=_token)
    sub.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(func=_export_schema)
    scan = sub.add_parser("scan", help="submit photos to a running foodai, watch the job, print the items")
    _scan_arguments(scan)
    scan.set_defaults(func=_scan)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `foodai` script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
