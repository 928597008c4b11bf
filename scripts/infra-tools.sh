#!/usr/bin/env bash
# Installs the pinned deployment tools into git-ignored, project-local places
# and prints nothing else on success:
#   .venv-infra/        SAM CLI, the SAM translator, cfn-lint, cargo-lambda and
#                       the zig it links with (versions in infra/requirements.txt)
#   infra/cdk/node_modules/  aws-cdk-lib, the CDK CLI and TypeScript
#                       (versions in infra/cdk/package-lock.json)
# Source it to get PATH set up for them:  . scripts/infra-tools.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_VENV="$ROOT/.venv-infra"

infra_python_tools() {
  local stamp="$INFRA_VENV/.requirements"
  if [ -x "$INFRA_VENV/bin/sam" ] && cmp -s "$ROOT/infra/requirements.txt" "$stamp"; then
    return 0
  fi
  echo "installing infra/requirements.txt into .venv-infra" >&2
  python3 -m venv "$INFRA_VENV"
  "$INFRA_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt" >&2
  cp "$ROOT/infra/requirements.txt" "$stamp"
}

infra_node_tools() {
  local cdk="$ROOT/infra/cdk"
  # The CDK app's `engines` is the one place the Node.js version is set; an
  # older Node would fail later and less clearly (npm only warns).
  node -e '
    const want = require(process.argv[1]).engines.node.match(/\d+/)[0];
    if (Number(process.versions.node.split(".")[0]) < Number(want)) {
      console.error(`Node.js ${want} or later is needed for infra/cdk; this is ${process.version}`);
      process.exit(1);
    }' "$cdk/package.json"
  if [ -d "$cdk/node_modules" ] && cmp -s "$cdk/package-lock.json" "$cdk/node_modules/.package-lock.json.installed"; then
    return 0
  fi
  echo "installing infra/cdk/package-lock.json into infra/cdk/node_modules" >&2
  (cd "$cdk" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$cdk/package-lock.json" "$cdk/node_modules/.package-lock.json.installed"
}

infra_python_tools
infra_node_tools
# The zig that ships inside the ziglang wheel is the linker cargo-lambda uses
# to cross-compile; the CDK CLI and tsc come from node_modules.
ZIG_DIR=$("$INFRA_VENV/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')
export PATH="$INFRA_VENV/bin:$ZIG_DIR:$ROOT/infra/cdk/node_modules/.bin:$PATH"
