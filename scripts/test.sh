#!/usr/bin/env bash
# The whole suite: system packages, build, type-check, lint, unit and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
npm run --silent build
npm run --silent typecheck
npm run --silent lint

# Node 20's --test does not expand globs itself; the shell does it here.
shopt -s nullglob
files=(test/unit/*.test.ts test/contract/*.test.ts test/e2e/*.test.ts test/fault/*.test.ts)
node --import tsx --test --test-reporter=spec --test-timeout=300000 "${files[@]}"
