#!/usr/bin/env bash
# `make test` with TEST_DATABASE_URL set: the suite on SQLite and on PostgreSQL + Redis side by side.
# The two runs share nothing (the SQLite run has no TEST_DATABASE_URL or REDIS_URL; each test makes
# its own files, ports and databases), and most of a run's time is spent waiting on servers,
# subprocesses and the browser, so together they take little more than the longer one alone.
# Each run's lines are printed as they come, prefixed with its name; the exit status is non-zero
# when either run failed, and a summary of both ends the output.
set -uo pipefail
cd "$(dirname "$0")/.."
make="${MAKE:-make}"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

run() {  # name target
  local name=$1 target=$2 started=$SECONDS
  "$make" --no-print-directory "$target" 2>&1 | tee "$logs/$name.log" | sed -u "s/^/[$name] /"
  local rc=${PIPESTATUS[0]}
  echo "$rc $((SECONDS - started))" > "$logs/$name.rc"
}

run sqlite test-sqlite &
run postgres test-postgres &
wait

status=0
for name in sqlite postgres; do
  read -r rc seconds < "$logs/$name.rc" || { rc=1; seconds=?; }
  summary="$(grep -E ' in [0-9.]+s( \(|=*$|$)' "$logs/$name.log" | tail -1)"
  echo "$name: exit $rc after ${seconds} s: ${summary:-no pytest summary}"
  [ "$rc" = 0 ] || status=1
done
exit $status
