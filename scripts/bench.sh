#!/usr/bin/env bash
# Set up (venv, pinned npm toolchain incl. the EAS peer and its compiler), then run the benchmarks.
#   ./scripts/bench.sh            full run (~25 min on 2 cores), figures in benchmarks/results/latest.json
#   ./scripts/bench.sh --quick    small sizes (~3 min), the CI smoke test
# Any other arguments go to `python -m benchmarks.run` (--only NAME,..., --out PATH, --update-doc docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m benchmarks.run "$@"
