#!/usr/bin/env bash
# Set up, then run the whole test suite in parallel (pytest-xdist, one worker per core).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
