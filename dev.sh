#!/usr/bin/env bash
# ./dev.sh [--port 8000]: bootstrap .venv, then `foodai dev` (embedded PostgreSQL and broker, API, worker).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec "$VENV/bin/foodai" dev "$@"
