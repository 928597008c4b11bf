#!/usr/bin/env bash
# Builds the lister and worker for AWS Lambda (release, provided.al2023) with
# cargo-lambda and the zig from .venv-infra (scripts/infra-tools.sh installs
# both), for arm64 unless told otherwise:
#   scripts/build-lambdas.sh            arm64, or x86_64 when the Rust target
#                                       aarch64-unknown-linux-gnu cannot be had
#   scripts/build-lambdas.sh --x86-64   x86_64
# Then `sam build` prepares .aws-sam/build for `sam deploy`, and
# target/lambda/{lister,worker}/bootstrap is what the CDK app packages.
# target/lambda/ARCHITECTURE holds the architecture built for, which the
# README's deploy commands pass on as the Architecture parameter; the last
# line says it too.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/infra-tools.sh
export SAM_CLI_TELEMETRY=0
# The CDK app and the deploy commands read ./target/lambda, so build there
# even when CARGO_TARGET_DIR points elsewhere (cargo lambda would follow it).
unset CARGO_TARGET_DIR

arch=arm64
[ "${1:-}" = "--x86-64" ] && arch=x86_64
if [ "$arch" = arm64 ] && ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  if ! rustup target add aarch64-unknown-linux-gnu >&2; then
    echo "build-lambdas: cannot install the Rust target aarch64-unknown-linux-gnu;" \
      "building for x86_64 instead. Deploy with Architecture=x86_64." >&2
    arch=x86_64
  fi
fi

flag=--arm64
[ "$arch" = x86_64 ] && flag=--x86-64
cargo lambda build --release --locked "$flag" --bin lister --bin worker
echo "$arch" >target/lambda/ARCHITECTURE

# sam build runs the same cargo lambda build (already up to date) for the
# architecture the parameter names, and stages the result for sam deploy.
sam build --template-file infra/template.yaml --parameter-overrides "Architecture=$arch"

echo "built for $arch (target/lambda/ARCHITECTURE): deploy with Architecture=$arch," \
  "sam deploy --guided --parameter-overrides Architecture=$arch ..." \
  "or (cd infra/cdk && npx cdk deploy --parameters Architecture=$arch ...)"
