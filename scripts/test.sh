#!/usr/bin/env bash
# Set up (the browser for the page tests included), then run the whole test suite in parallel (pytest-xdist, one worker per core).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
