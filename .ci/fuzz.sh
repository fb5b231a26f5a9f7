#!/usr/bin/env bash
# Runs every Go fuzz test of the module (func FuzzXxx, found with go test -list) for a short bounded
# time each, one at a time: -fuzz accepts one target per package run. The seed corpus of each already
# ran as a normal test in go test ./...; this explores beyond it. A failure leaves the input that broke
# the target under the package's testdata/fuzz/, and go test prints it.
set -euo pipefail

FUZZTIME="${FUZZTIME:-10s}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
cd "$(dirname "$0")/.."

list="$(go test -list '^Fuzz' ./...)"
targets=()
names=()
while read -r first second _; do
  case "$first" in
    Fuzz*) names+=("$first") ;;
    ok)
      for n in ${names[@]+"${names[@]}"}; do targets+=("$second $n"); done
      names=()
      ;;
  esac
done <<<"$list"
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz tests found" >&2
  exit 1
fi

status=0
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "== fuzz $pkg $name ($FUZZTIME)"
  # New coverage is minimised for at most a second, so the budget goes to exploring.
  go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 1s || status=1
done
exit "$status"
