#!/usr/bin/env bash
# Checks UMM for known vulnerabilities that its code reaches, and fails when there is one.
#
# CI reaches only the Go module proxy, not vuln.go.dev, so the vulnerability database is built offline
# from the golang.org/x/vulndb module: the module is copied, made a git repository with one commit (gendb
# dates each entry from the repository's history), converted by its own gendb command, and govulncheck
# reads the result through -db file://. Raising a version below is a deliberate change: a newer database
# may report new vulnerabilities that must then be fixed in the same change.
set -euo pipefail

VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018 # golang.org/x/vulndb: the database's contents
VULNDB_DATE=2026-11-05T23:49:57Z                  # the commit time in that version, used as entry dates
GOVULNCHECK_VERSION=v1.9.0                        # golang.org/x/vuln

export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

echo "== vulnerability database: golang.org/x/vulndb@$VULNDB_VERSION"
dir="$(cd "$work" && go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -d "$dir" ] || { echo "go mod download did not return the module directory" >&2; exit 1; }
cp -R "$dir" "$work/vulndb"
chmod -R u+w "$work/vulndb" # the module cache is read-only
(
  cd "$work/vulndb"
  git init -q
  git add -A
  GIT_AUTHOR_NAME=vulndb GIT_AUTHOR_EMAIL=vulndb@localhost GIT_AUTHOR_DATE="$VULNDB_DATE" \
    GIT_COMMITTER_NAME=vulndb GIT_COMMITTER_EMAIL=vulndb@localhost GIT_COMMITTER_DATE="$VULNDB_DATE" \
    git -c commit.gpgsign=false commit -q -m "golang.org/x/vulndb $VULNDB_VERSION"
  go run ./cmd/gendb -repo . -out "$work/db"
)
echo "   $(find "$work/db/ID" -name '*.json' | wc -l) entries"

echo "== govulncheck $GOVULNCHECK_VERSION ./..."
cd "$root"
# Exits non-zero when the code reaches a vulnerable symbol (imported but unreached ones are only listed).
go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "file://$work/db" ./...
