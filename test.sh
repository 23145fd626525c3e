#!/usr/bin/env bash
# ./test.sh [pytest args]: bootstrap .venv, then the whole test suite against real servers:
# embedded PostgreSQL and Tansu by default, or the ones DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS name.
# Tests run in FOODAI_TEST_PROCESSES pytest-xdist processes (default 3: most scenarios wait on
# process start-up and consumer-group joins, not on CPU), each with its own servers; pass -n 0
# (or -n N) to choose. `--dist worksteal` lets an idle process take tests queued for a busy one;
# tests/conftest.py orders the collection so that every process starts with its share of the heavy
# scenarios. The browser tests need Debian's chromium (apt-get install chromium
# chromium-driver) and GraphiQL's assets (scripts/fetch-graphiql.sh); when they are skipped, the
# run says so in red at its end (tests/browser_notice.py).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
parallel=(-n "${FOODAI_TEST_PROCESSES:-3}" --dist worksteal)
for arg in "$@"; do
  case "$arg" in -n|-n*|--numprocesses*) parallel=() ;; esac
done
exec "$VENV/bin/python" -m pytest -p tests.browser_notice "${parallel[@]}" "$@"
