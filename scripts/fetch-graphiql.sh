#!/usr/bin/env bash
# Fill a folder with GraphiQL's browser assets from the npm registry, for machines that
# cannot reach the CDN. foodai serves .foodai/graphiql by itself when all four files are there
# (the bootstrap runs this script when npm is available); for another folder set GRAPHIQL_ASSETS_DIR.
#
#   scripts/fetch-graphiql.sh [DIR]        # default DIR: .foodai/graphiql (git-ignored)
#
# The versions are the ones strawberry's own GraphiQL page loads from the CDN. npm checks
# each tarball against the registry's integrity hash. Running it again is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-.foodai/graphiql}"
FILES=(react.production.min.js react-dom.production.min.js graphiql.min.js graphiql.min.css)
have_all() { for f in "${FILES[@]}"; do [[ -s "$DIR/$f" ]] || return 1; done; }
if have_all; then echo "GraphiQL assets already in $DIR"; exit 0; fi
command -v npm >/dev/null || { echo "fetch-graphiql: npm is needed (apt-get install npm), or copy ${FILES[*]} into $DIR from a machine that has it" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent graphiql@3.8.3 react@18.2.0 react-dom@18.2.0 >/dev/null)
for pkg in graphiql-3.8.3 react-18.2.0 react-dom-18.2.0; do
  mkdir -p "$work/$pkg" && tar -xzf "$work/$pkg.tgz" -C "$work/$pkg"
done
mkdir -p "$DIR"
cp "$work/react-18.2.0/package/umd/react.production.min.js" \
   "$work/react-dom-18.2.0/package/umd/react-dom.production.min.js" \
   "$work/graphiql-3.8.3/package/graphiql.min.js" \
   "$work/graphiql-3.8.3/package/graphiql.min.css" "$DIR/"
if [[ "$DIR" == .foodai/graphiql ]]; then echo "GraphiQL assets in $DIR: foodai (with the default DATA_DIR=.foodai) serves them from now on"
else echo "GraphiQL assets in $DIR: run the API with GRAPHIQL_ASSETS_DIR=$(cd "$DIR" && pwd)"; fi
