#!/usr/bin/env bash
# The main job: set up, start the persistent local chain (state in .data/chain), deploy or reuse the
# contract suite, seed the demo stories once, start the service and print the /docs and /verify addresses.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python scripts/serve.py --demo "$@"
