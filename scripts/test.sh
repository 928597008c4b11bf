#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, clippy, every unit and
# integration test against moto (installed into .venv on first use) and the
# simulated RDS, then the deployment checks (scripts/infra-check.sh: SAM and
# CDK templates, deployed into the same moto). Ends with one line:
# "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

RDSLOGS_TEST_MOTO_URL=$(scripts/moto.sh start)
export RDSLOGS_TEST_MOTO_URL
trap 'scripts/moto.sh stop' EXIT

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

log=$(mktemp)
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
scripts/infra-check.sh 2>&1 | tee -a "$log" || status=$?
awk '
  /^test result:/ { passed += $4; failed += $6 }
  /^infra tests:/ { passed += $3; failed += $5 }
  END { printf "tests: %d passed, %d failed\n", passed, failed }
' "$log"
rm -f "$log"
exit "$status"
