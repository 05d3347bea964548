#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup (packages, build), then every test file.
# Unit, property and simulation tests run anywhere; lab tests (test/lab) need root and
# skip with a stated reason otherwise.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --enable-source-maps --test --test-concurrency="${FLOATD_TEST_CONCURRENCY:-2}" --test-reporter=spec "${files[@]}"
