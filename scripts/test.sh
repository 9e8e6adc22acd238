#!/usr/bin/env bash
# Set up (the browser for the page tests included), then run the whole test suite in parallel (pytest-xdist, one worker per core).
#
# scripts/test.sh --node anvil|geth [pytest args]: the contract and service tests once more, on a node with
# 2-second blocks (JTL_BLOCK_SECONDS) started for the run (anvil with zero gas price and base fee; geth
# --dev --dev.period 2, built by scripts/setup.sh --geth), with NODE_WORKERS xdist workers (default 6: they
# wait for blocks more than for the CPU), a test file to a worker (its module fixtures are built once).
# Only the tests that use the node run (tests/conftest.py). To point the suite at a
# node of your own instead: JTL_TEST_RPC=http://... [JTL_TEST_KEYS=0xkey] [LEDGER_GAS_PRICE=0] scripts/test.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--node" ]; then
  node=${2:?usage: scripts/test.sh --node anvil|geth [pytest args]}
  shift 2
  ./scripts/setup.sh
  geth=()
  if [ "$node" = geth ]; then
    geth=(--geth "$(./scripts/setup.sh --geth)")
  fi
  exec .venv/bin/python scripts/devchain.py run-on "$node" "${geth[@]}" -- \
    .venv/bin/python -m pytest -n "${NODE_WORKERS:-6}" --dist loadfile tests/contracts tests/api "$@"
fi
./scripts/setup.sh --browser
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
