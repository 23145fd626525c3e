"""The `foodai` command: dev, serve, worker, migrate, token, export-schema, scan.

Each command imports what it runs inside its function: `foodai --help` stays fast,
without loading the API, the worker or the recognizers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import uuid

from app.domain import Plan
from app.settings import AppEnv
from app.startup import EXIT_DATABASE, StartupError, check_database, check_port_free, load_settings, reported

SERVERS_ENV = ("environment: DATABASE_URL (PostgreSQL), KAFKA_BOOTSTRAP_SERVERS (broker), JWT_SECRET, "
               "APP_ENV, and every other setting in README's Configuration table.")
EXIT_CODES = "exit codes: 0 stopped cleanly, 1 failed while running, 2 bad option or setting, 3 database, " \
             "4 broker, 5 port or data folder taken by another process."


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.main import create_app, websocket_server_options
    from app.observability.logs import configure_logging

    with reported("serve"):
        settings = load_settings()
        asyncio.run(check_database(settings.database_url))
        check_port_free(args.host, args.port)
    configure_logging(settings)
    from app.worker import warn_if_broker_unreachable

    warn_if_broker_unreachable(settings, "the API starts anyway; jobs wait in its outbox until the broker answers")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", log_config=None,
                access_log=settings.log_access, timeout_graceful_shutdown=10, **websocket_server_options(settings))


def _worker(_: argparse.Namespace) -> None:
    from app.worker import main

    main()


def _migrate(_: argparse.Namespace) -> None:
    from app.migrate import MigrationError, migrate

    with reported("migrate"):
        settings = load_settings()
        asyncio.run(check_database(settings.database_url))
        try:
            applied = asyncio.run(migrate(settings.database_url))
        except MigrationError as exc:
            raise StartupError(f"{exc}: restore the file as it was applied, or add a new migration",
                               EXIT_DATABASE) from None
    print("applied: " + ", ".join(applied) if applied else "database is up to date")


def _token(args: argparse.Namespace) -> None:
    from app.auth import issue_token
    from app.scan import with_dev_secret

    with reported("token"):
        settings = load_settings()
    if settings.app_env is AppEnv.PRODUCTION:
        sys.exit("foodai token: refusing to mint tokens when APP_ENV=production")
    if settings.jwt_asymmetric:
        sys.exit("foodai token: tokens are verified with a public key here; mint them with your identity provider")
    print(issue_token(with_dev_secret(settings), user_id=args.user or uuid.uuid4(), plan=args.plan, ttl_s=args.ttl))


def _export_schema(_: argparse.Namespace) -> None:
    from app.graphql import export_sdl

    sys.stdout.write(export_sdl())


def _scan(args: argparse.Namespace) -> None:
    from app.scan import run

    sys.exit(run(args))


def _dev(args: argparse.Namespace) -> None:
    from app.dev import run_dev

    run_dev(host=args.host, port=args.port)


def _env_port(default: int) -> int:
    raw = os.environ.get("FOODAI_PORT", "")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        print(f"foodai: FOODAI_PORT must be a port number (1-65535), not {raw!r}", file=sys.stderr)
        sys.exit(2)
    return int(raw)


def _listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=os.environ.get("FOODAI_HOST", "127.0.0.1"),
                        help="address to listen on (env FOODAI_HOST; default 127.0.0.1, this machine only; "
                             "0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=_env_port(8000),
                        help="port to listen on (env FOODAI_PORT; default 8000)")


def _add(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_: str, description: str,
         epilog: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    """The command line, one subcommand per entrypoint."""
    parser = argparse.ArgumentParser(prog="foodai", description=__doc__, epilog=EXIT_CODES)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dev = _add(sub, "dev", "everything on this machine: embedded PostgreSQL and broker, migrations, API, worker",
               "Run foodai for development until Ctrl-C. Without DATABASE_URL an embedded PostgreSQL keeps its "
               "data in DATA_DIR/pg;\nwithout KAFKA_BOOTSTRAP_SERVERS an embedded Tansu broker runs in memory. "
               "Its URL and dev token go to\nDATA_DIR/dev.json, where `foodai scan` finds them; one `foodai dev` "
               "per DATA_DIR.",
               "environment: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS (use these servers instead of embedded ones), "
               "DATA_DIR (default .foodai),\nJWT_SECRET (default: a random secret kept in DATA_DIR/jwt-secret), "
               "and every setting in README's Configuration table.\n" + EXIT_CODES)
    _listen_arguments(dev)
    dev.set_defaults(func=_dev)
    serve = _add(sub, "serve", "the API (uvicorn): /graphql, /scan, /healthz, /readyz, /metrics",
                 "Serve the API. Settings and the database are checked first; an unreachable broker is a "
                 "warning\n(jobs wait in the outbox).", SERVERS_ENV + "\n" + EXIT_CODES)
    _listen_arguments(serve)
    serve.set_defaults(func=_serve)
    _add(sub, "worker", "a worker process: takes jobs from the broker, recognizes, stores, notifies",
         "Run a worker until SIGTERM or Ctrl-C. Settings and the database are checked first; while the broker "
         "is\nunreachable it warns and retries.",
         SERVERS_ENV + " WORKER_CONCURRENCY, WORKER_METRICS_PORT, RECOGNIZER_RECEIPT, RECOGNIZER_PRODUCTS tune it.\n"
         + EXIT_CODES).set_defaults(func=_worker)
    _add(sub, "migrate", "apply pending migrations (migrations/*.sql) to DATABASE_URL",
         "Apply the pending migrations once each, in order, under an advisory lock.",
         "environment: DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/foodai).\n" + EXIT_CODES
         ).set_defaults(func=_migrate)
    token = _add(sub, "token", "mint a development token (not in production)",
                 "Print a signed HS256 token for development and tests.",
                 "environment: JWT_SECRET signs it (default: the secret `foodai dev` keeps in DATA_DIR/jwt-secret);"
                 " APP_ENV=production refuses.")
    token.add_argument("--user", type=uuid.UUID, help="user id (UUID); random when omitted")
    token.add_argument("--plan", choices=list(Plan), default=None, help="the plan claim (default: none, free)")
    token.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="seconds until it expires (default 30 days)")
    token.set_defaults(func=_token)
    _add(sub, "export-schema", "print the GraphQL SDL (schema.graphql holds it)",
         "Print the GraphQL schema as SDL.", "environment: none.").set_defaults(func=_export_schema)
    scan = _add(sub, "scan", "submit photos to a running foodai, watch the job, print the items",
                "Submit photos as one job, show live progress on stderr, print the items (or JSON) on stdout.",
                "environment: FOODAI_URL, FOODAI_TOKEN (defaults of --url, --token); DATA_DIR (where `foodai dev`"
                " left dev.json).\nexit codes: 0 the job is DONE, 1 it FAILED, 2 it could not be submitted or "
                "watched.")
    from app.scan import add_arguments

    add_arguments(scan)
    scan.set_defaults(func=_scan)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `foodai` script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
