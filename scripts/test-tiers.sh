#!/usr/bin/env bash
# npm test: the three test tiers (jest.config.js), one after another: unit, integration, e2e.
# Each tier runs even when an earlier one failed, so one run shows every failure; the exit
# status is non-zero when any tier failed.
cd "$(dirname "$0")/.."
status=0
for tier in unit integration e2e; do
  npm run "test:$tier" || status=1
done
exit "$status"
