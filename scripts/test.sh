#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, clippy, and every unit and
# integration test against moto (installed into .venv on first use) and the
# simulated RDS.
set -euo pipefail
cd "$(dirname "$0")/.."

RDSLOGS_TEST_MOTO_URL=$(scripts/moto.sh start)
export RDSLOGS_TEST_MOTO_URL
trap 'scripts/moto.sh stop' EXIT

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
