#!/usr/bin/env bash
# Creates .venv with Python 3.11+ and installs foodai with its dev tools, once;
# re-installs when pyproject.toml changes; fetches GraphiQL's browser assets when npm is
# there (GraphiQL then works offline), and the GraphQL over HTTP audit suite (tests/audit).
# Sourced by ./dev.sh and ./test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FOODAI_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "foodai needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
stamp="$VENV/.foodai-installed"
if [ ! -f "$stamp" ]; then
  echo "foodai: first run: creating $VENV and installing foodai and its dev tools from the package index (a minute or two)..." >&2
elif [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  echo "foodai: pyproject.toml changed: updating $VENV..." >&2
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]"
  touch "$stamp"
  echo "foodai: installed." >&2
fi
# Tesseract's language data and the Thai fonts (Debian packages): installed when missing and we are root
# with apt-get; otherwise the script says what to install and the recognizer falls back (docs/recognition.md)
bash "$ROOT/scripts/install-ocr.sh"
if [ ! -s "$ROOT/.foodai/graphiql/graphiql.min.js" ] && command -v npm >/dev/null; then
  timeout 120 "$ROOT/scripts/fetch-graphiql.sh" >/dev/null 2>&1 \
    || echo "foodai: could not fetch GraphiQL's assets with npm (offline?); GraphiQL will use the CDN" >&2
fi
if [ ! -f "$ROOT/tests/audit/node_modules/graphql-http/package.json" ] && command -v npm >/dev/null; then
  timeout 120 "$ROOT/scripts/fetch-audit.sh" >/dev/null 2>&1 \
    || echo "foodai: could not install the GraphQL over HTTP audit suite with npm (offline?): its test fails until scripts/fetch-audit.sh runs" >&2
fi
