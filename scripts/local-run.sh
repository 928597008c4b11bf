#!/usr/bin/env bash
# Runs the pipeline end to end on the local stack: moto for S3, SQS and
# DynamoDB, the simulated RDS serving a generated fleet, then one lister
# cycle, the workers draining the queue, a second cycle that ships nothing,
# the operator's view: status and the dead-letter queue, and last
# `rdslogs doctor`, the deployment checked against the (local) account.
set -euo pipefail
cd "$(dirname "$0")/.."

LARGE_MIB="${LARGE_MIB:-12}"
echo "== building rdslogs and the simulated RDS (the first build takes several minutes)"
cargo build -p rdslogs -p rds-sim
BIN="${CARGO_TARGET_DIR:-target}/debug"

MOTO=$(scripts/moto.sh start)
SIM_PID=""
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
  scripts/moto.sh stop
}
trap cleanup EXIT

# One identity for everything; the simulated RDS checks its SigV4 signatures,
# session token included, as RDS does for a Lambda role.
export AWS_ACCESS_KEY_ID=AKIDLOCALRUN AWS_SECRET_ACCESS_KEY=local-run-secret AWS_SESSION_TOKEN=local-run-token
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export RDS_SIM_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RDS_SIM_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY RDS_SIM_SESSION_TOKEN=$AWS_SESSION_TOKEN

FLEET=.local/fleet
rm -rf "$FLEET"
$BIN/rds-sim generate --out "$FLEET" --large-mib "$LARGE_MIB"
$BIN/rds-sim serve --root "$FLEET" --listen 127.0.0.1:0 --page-size 5 >.local/rds-sim.out 2>.local/rds-sim.log &
SIM_PID=$!
for _ in $(seq 1 50); do
  grep -q "listening on" .local/rds-sim.out 2>/dev/null && break
  sleep 0.1
done
SIM=$(sed -n 's/^listening on //p' .local/rds-sim.out)
[ -n "$SIM" ] || { echo "simulated RDS did not start; see .local/rds-sim.log" >&2; exit 1; }

export AWS_ENDPOINT_URL=$MOTO AWS_ENDPOINT_URL_RDS=$SIM
export RDSLOGS_INSTANCES=pg-orders,mysql-billing
export RDSLOGS_BUCKET=rds-logs-local RDSLOGS_PREFIX=rds-logs RDSLOGS_STATE_TABLE=rdslogs-state
export RDSLOGS_QUEUE_URL=$MOTO/123456789012/rdslogs-work RDSLOGS_DLQ_URL=$MOTO/123456789012/rdslogs-dlq

echo "moto: $MOTO   simulated RDS: $SIM"
echo "== setup"
$BIN/rdslogs setup
echo "== cycle 1: list and ship"
$BIN/rdslogs list-once
$BIN/rdslogs work --until-empty
echo "== cycle 2: nothing changed, nothing shipped"
$BIN/rdslogs list-once
$BIN/rdslogs work --until-empty
echo "== status and dead letters"
$BIN/rdslogs status
$BIN/rdslogs dlq list
echo "== doctor: the deployment checked against the account"
$BIN/rdslogs doctor
