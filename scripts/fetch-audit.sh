#!/usr/bin/env bash
# Install the GraphQL over HTTP audit suite (graphql-http, pinned with its lock file in tests/audit)
# into tests/audit/node_modules (git-ignored), for tests/e2e/test_graphql_http_audit.py.
# The bootstrap runs it when npm is there; .ci/run runs it always. npm ci checks each tarball
# against the lock file's integrity hash. Running it again is a no-op.
set -euo pipefail
cd "$(dirname "$0")/../tests/audit"
if [[ node_modules/.package-lock.json -nt package-lock.json && -f node_modules/graphql-http/package.json ]]; then
  echo "graphql-http audit suite already in tests/audit/node_modules"; exit 0
fi
command -v npm >/dev/null || { echo "fetch-audit: npm is needed (apt-get install npm)" >&2; exit 1; }
npm ci --silent --no-audit --no-fund
echo "graphql-http audit suite in tests/audit/node_modules"
