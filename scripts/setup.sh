#!/usr/bin/env bash
# Idempotent set-up on a fresh machine (Python 3.11+ and Node 20+ present): a virtual environment with
# the project and its test tools, and the pinned npm toolchain (solc-js, OpenZeppelin, anvil).
# With --browser, also Debian's chromium and chromium-driver for the /verify page tests.
# With --geth, also geth (the second node implementation the tests run on), built from its Go module at
# the pinned version into a cache kept between runs (reused when present); prints the binary's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

GETH_VERSION=v1.17.10
GETH_CACHE=${JTL_GETH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jtl-geth}/$GETH_VERSION
if [ "${1:-}" = "--geth" ]; then
  if [ ! -x "$GETH_CACHE/bin/geth" ]; then
    command -v go >/dev/null 2>&1 || { echo "building geth needs Go (https://go.dev/dl/)" >&2; exit 1; }
    echo "building geth $GETH_VERSION into $GETH_CACHE (a few minutes the first time) ..." >&2
    mkdir -p "$GETH_CACHE"
    GOBIN="$GETH_CACHE/bin.partial" go install "github.com/ethereum/go-ethereum/cmd/geth@$GETH_VERSION" >&2
    rm -rf "$GETH_CACHE/bin" && mv "$GETH_CACHE/bin.partial" "$GETH_CACHE/bin"
  fi
  echo "$GETH_CACHE/bin/geth"
  exit 0
fi

if [ "${1:-}" = "--browser" ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }; then
  if [ "$(id -u)" != 0 ]; then
    echo "the browser tests need Debian's chromium and chromium-driver: run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

lockstamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f "$lockstamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$lockstamp"
fi
