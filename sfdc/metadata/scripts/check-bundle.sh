#!/bin/sh
# Fails when the committed browser bundle (browser/dist, and the fixture
# bundle in browser/testdata/fixture) is not what `npm run build` makes from
# the sources now: rebuilds into a temporary directory and diffs. Run from
# sfdc/metadata after `npm ci` (CI: `(cd sfdc/metadata && npm run check:bundle)`).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node scripts/build-browser.js --out "$tmp/dist" --fixture-out "$tmp/fixture" >/dev/null
stale=0
diff -r -q browser/dist "$tmp/dist" || stale=1
diff -r -q browser/testdata/fixture "$tmp/fixture" || stale=1
if [ "$stale" -ne 0 ]; then
    echo "The committed browser bundle is stale: run 'npm run build' in sfdc/metadata and commit browser/dist and browser/testdata/fixture." >&2
    exit 1
fi
echo "browser bundle is current"
