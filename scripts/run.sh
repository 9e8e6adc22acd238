#!/usr/bin/env bash
# The main job: set up, start the persistent local chain (state in .data/chain), deploy or reuse the
# contract suite, seed the demo stories once, start the service (127.0.0.1:8000 unless --port/--host) and
# print its address, health paths, /docs, /verify, a demo certificate, its document and the command verifying them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python scripts/serve.py --demo "$@"
