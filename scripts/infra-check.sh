#!/usr/bin/env bash
# Checks the deployment offline, without an AWS account (scripts/test.sh runs
# it; it also runs alone):
#   1. sam validate --lint on infra/template.yaml
#   2. the SAM template translated to plain CloudFormation, and cfn-lint on it
#      (current cfn-lint does not expand the transform by itself)
#   3. the CDK app: tsc, cdk synth --strict, cfn-lint on its template,
#      node --test
#   4. infra/tests: both templates deployed into moto and read back, the same
#      stack from both tools, the roles against the AWS calls in the code, the
#      debug lister and worker binaries under cargo lambda's runtime API, and
#      the same binaries under the deployed roles in a moto enforcing IAM
# A warning fails the check as an error does, so a passing run stays quiet:
# cfn-lint exits non-zero on warnings (4) as on errors (2); `sam validate
# --lint` reports errors only, which is why step 2 runs cfn-lint itself; and
# `cdk synth --strict` fails on a warning of the CDK's own validation. A
# warning that is wrong is acknowledged where it arises, with the reason
# (infra/cdk/lib/stack.ts, `Validations.of(...).acknowledge`).
# Tools are installed by scripts/infra-tools.sh. Ends with one line:
# "infra tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/infra-tools.sh

# Offline: no telemetry, notices or version checks from SAM and the CDK CLI.
export SAM_CLI_TELEMETRY=0 CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=true
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
OUT=.local/infra
# Where cargo puts the debug binaries (infra/tests reads the same variable).
export RDSLOGS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug"
BIN=$RDSLOGS_BIN
mkdir -p "$OUT"

log=$(mktemp)
started_moto=""
cleanup() {
  rm -f "$log"
  [ -z "$started_moto" ] || scripts/moto.sh stop
}
trap cleanup EXIT
if [ -z "${RDSLOGS_TEST_MOTO_URL:-}" ]; then
  RDSLOGS_TEST_MOTO_URL=$(scripts/moto.sh start)
  started_moto=1
fi
export RDSLOGS_TEST_MOTO_URL

echo "== sam validate --lint"
sam validate --lint --template infra/template.yaml
echo "== SAM template translated, cfn-lint"
python infra/tools/sam_translate.py infra/template.yaml "$OUT/sam.json"
cfn-lint "$OUT/sam.json"

echo "== lister, worker, rds-sim and rdslogs (debug)"
# The binaries with the features `cargo test` resolved (scripts/test.sh has
# just run it, so only the binaries are compiled and linked here): a build
# of these packages alone resolves features without the dev-dependencies
# and compiles the SDK a second time. (`cargo test` itself builds only the
# binaries its tests run, not the lister's or the worker's.)
cargo build --workspace --locked --quiet --bins --tests
# The CDK app packages each function's folder holding a `bootstrap`.
for fn in lister worker; do
  mkdir -p "$OUT/lambda/$fn"
  ln -f "$BIN/$fn" "$OUT/lambda/$fn/bootstrap" 2>/dev/null || cp "$BIN/$fn" "$OUT/lambda/$fn/bootstrap"
done

echo "== CDK: tsc, cdk synth, cfn-lint, node --test"
(
  cd infra/cdk
  tsc
  rm -rf cdk.out # a synth copies each asset; old ones would pile up
  # --strict: a warning of the CDK's validation fails the synth like an
  # error; the log is shown only then.
  cdk synth --quiet --no-notices --strict -c lambdaDir="$PWD/../../$OUT/lambda" >"$OLDPWD/$OUT/cdk-synth.log" 2>&1 ||
    { cat "$OLDPWD/$OUT/cdk-synth.log"; exit 1; }
)
cfn-lint infra/cdk/cdk.out/RdsLogShipper.template.json
status=0
(cd infra/cdk && node --test dist/test/) 2>&1 | tee "$log" || status=$?

echo "== infra/tests"
(cd infra/tests && python -m unittest discover -v) 2>&1 | tee -a "$log" || status=$?

awk '
  /^# pass /  { passed += $3 }
  /^# fail /  { failed += $3 }
  /^Ran [0-9]+ tests? in/ { ran += $2 }
  /^FAILED \(/ { while (match($0, /(failures|errors)=[0-9]+/)) { n = substr($0, RSTART, RLENGTH); sub(/.*=/, "", n); bad += n; $0 = substr($0, RSTART + RLENGTH) } }
  END { printf "infra tests: %d passed, %d failed\n", passed + ran - bad, failed + bad }
' "$log"
exit "$status"
