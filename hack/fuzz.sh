#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (func FuzzXxx in a _test.go
# file) for FUZZTIME each (default 10s). `go test -fuzz` takes one target
# per run, so they run one after another; the seeds alone run in `go test`.
# A failing input is saved under the package's testdata/fuzz/ by go test:
# commit it, it becomes a regression seed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime=${FUZZTIME:-10s}
n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name ($fuzztime)"
  # go's fuzzing engine sometimes fails a target with "context deadline
  # exceeded" when a worker overruns -fuzztime, without any failing input
  # (golang/go#48127-style). A real failure always writes the input under
  # testdata/fuzz/; only the other kind is retried, once.
  if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" 2>&1 | tee "$log"; then
    if grep -q 'context deadline exceeded' "$log" &&
      [ -z "$(git status --porcelain --untracked-files=all -- "$pkg/testdata/fuzz")" ]; then
      echo "fuzz: $name overran its deadline without a failing input; running it once more"
      go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime"
    else
      exit 1
    fi
  fi
  n=$((n + 1))
done < <(git ls-files '*_test.go' | xargs grep -Ho '^func Fuzz[A-Za-z0-9_]*' | sed 's/func //' | sort)
echo "fuzz: $n targets, $fuzztime each, no failure"
