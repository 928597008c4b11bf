#!/usr/bin/env bash
# Release-mode benchmark: ships single files of 100 MiB, 1 GiB and 2 GiB from
# the simulated RDS to an S3-compatible server (s3s-fs) in a separate worker
# process, and prints wall time, MiB/s and peak RSS next to a plain download
# of the same file. Needs about 7 GiB of free disk under target/bench-data.
# Extra arguments go to the benchmark, e.g. --sizes-mib 100,200, or
# --first-sync: 300 files of 4 KiB shipped in SQS batches with 1, 4, 5 and 10
# records at once, RDS answering in 100 ms (files per second, peak RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bench
exec "${CARGO_TARGET_DIR:-target}/release/ship-bench" "$@"
