#!/usr/bin/env bash
# Release-mode fleet benchmark: lister cycles over 1,000 simulated instances
# with 100 log files each (20 ms RDS latency per call): a first cycle, then a
# steady one where nothing changed. Prints wall time and the calls to RDS,
# DynamoDB and SQS of each. Extra arguments go to the benchmark, e.g.
#   scripts/bench-fleet.sh --rds-account-limit
#   scripts/bench-fleet.sh --coverage   (10,000 instances at RDS's account
#       limit, 300 s Lambda timeout per cycle, on a simulated clock: per cycle
#       instances listed, versions enqueued, oldest listing age, time left)
#   scripts/bench-fleet.sh --backend moto --instances 100   (starts moto)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bench --bin fleet-bench
if [[ " $* " == *" moto "* ]]; then
  RDSLOGS_TEST_MOTO_URL=$(scripts/moto.sh start)
  export RDSLOGS_TEST_MOTO_URL
  trap 'scripts/moto.sh stop' EXIT
fi
"${CARGO_TARGET_DIR:-target}/release/fleet-bench" "$@"
