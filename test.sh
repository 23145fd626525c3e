#!/usr/bin/env bash
# ./test.sh [pytest args]: bootstrap .venv, then the whole test suite against real servers:
# embedded PostgreSQL and Tansu by default, or the ones DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS name.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec "$VENV/bin/python" -m pytest "$@"
