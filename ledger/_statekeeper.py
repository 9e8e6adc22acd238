"""Keeper of the local node's state file: runs anvil as its child and never lets ``state.json`` be torn.

anvil rewrites its dump in place (open with O_TRUNC, then write), so a ``kill -9`` during a write leaves a
truncated file that it refuses to load. Here anvil dumps to ``anvil-dump.json`` (``--dump-state`` every
second, and at exit); this process copies each complete, consistent dump that is not behind the last one into
``state.json`` by writing a new file, syncing it and renaming it over the old one, so ``state.json`` is
always a whole dump, at most about a second behind the node. :func:`recover` runs before every start: it
promotes a complete dump that is ahead of ``state.json`` (the node, or this keeper, was killed after its
last copy) and drops the dump. No RPC is used: only files and processes.

Run by :mod:`ledger._node` as ``python _statekeeper.py --state FILE --dump FILE -- ANVIL ARGV...``. SIGTERM
is passed on to anvil (which dumps and exits), the last dump is copied and the keeper exits; when anvil
dies the keeper exits too, and anvil gets SIGTERM from the kernel if the keeper dies (Linux).
Standard library only, so it starts fast and runs from its path.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1


def read_dump(path: Path) -> tuple[int, bytes] | None:
    """``(best block, bytes)`` of a complete, consistent dump; None if it is missing, torn, not a dump, or
    holds account state ahead of its blocks (:func:`_consistent`)."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
        best: Any = data["best_block_number"]
        if not _consistent(data):
            return None
        return (int(best, 0) if isinstance(best, str) else int(best)), raw
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _consistent(data: dict[str, Any]) -> bool:
    """Every sender's account nonce follows its last mined transaction in the dump.

    anvil takes the accounts and the blocks of a dump at slightly different moments: while it mines, a dump
    can hold the effects of a transaction (nonce, storage) without the block, receipt and logs that carry
    it. Loaded, such a chain says a record exists that no log shows. Seen as an account nonce beyond the
    sender's last transaction in the dump; such a dump is skipped like a torn one (the next is taken).
    """
    last: dict[str, int] = {}
    for item in data.get("transactions") or ():
        info = item["info"]
        sender, nonce = str(info["from"]).lower(), _int(info["nonce"])
        last[sender] = max(last.get(sender, -1), nonce)
    accounts = {str(k).lower(): v for k, v in (data.get("accounts") or {}).items()}
    return all(_int(accounts[s]["nonce"]) == n + 1 for s, n in last.items() if s in accounts)


def _int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def write_atomically(path: Path, raw: bytes) -> None:
    """A new file, synced, renamed over ``path``, and the directory synced: old or new, never torn."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def recover(state: Path, dump: Path) -> None:
    """Before a start: promote a complete dump that is ahead of ``state``; then drop the dump."""
    found = read_dump(dump)
    if found is not None:
        current = read_dump(state)
        if current is None or found[0] > current[0]:
            write_atomically(state, found[1])
    dump.unlink(missing_ok=True)


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str]) -> int:
    split = argv.index("--")
    options = dict(zip(argv[:split:2], argv[1:split:2], strict=True))
    state, dump = Path(options["--state"]), Path(options["--dump"])
    child = subprocess.Popen(argv[split + 1 :], preexec_fn=_die_with_parent)
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    best = (read_dump(state) or (-1, b""))[0]
    seen: tuple[int, int] | None = None
    while True:
        exited = child.poll() is not None
        try:
            stat = dump.stat()
            mark = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            mark = None
        if mark is not None and mark != seen:
            found = read_dump(dump)
            if found is not None:
                seen = mark
                if found[0] >= best:
                    write_atomically(state, found[1])
                    best = found[0]
        if exited:
            if stopping and seen is not None:
                dump.unlink(missing_ok=True)  # copied whole after a clean stop: nothing left to recover
            return child.returncode or 0
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
