"""The project's own local chain: one anvil process per data directory, durable across restarts.

Contract of this module:

- A data directory holds at most one running node. Its files: ``state.json`` (the node's whole state,
  replaced about every second and on SIGTERM by :mod:`ledger._statekeeper`, never written in place, so
  blocks, transactions, receipts and logs survive a ``kill -9`` at any moment, minus at most the last
  second or two), ``anvil-dump.json`` (anvil's own dump, which the keeper copies), ``state.json.bak``
  (the state as it was at the last start), ``anvil.pid`` (the keeper's pid), ``anvil.port``,
  ``anvil.log`` and ``anvil.lock``.
- :func:`ensure_node` reuses a live node of ours for the directory (pid alive, command line names
  our state file, and it answers ``eth_chainId`` with the expected id) or starts one; a lock file
  makes concurrent callers agree on a single node.
- A node is either a child that dies with its parent (SIGTERM at exit, or the kernel's parent-death
  signal on Linux) or ``detach``-ed: its own session, left running until :meth:`AnvilNode.stop`.
- Stopping sends SIGTERM, so anvil writes its state, and falls back to SIGKILL after a timeout.

anvil rewrites its dump in place (open with O_TRUNC, then write): a ``kill -9`` in the middle of a write
leaves a truncated file that anvil refuses to load. So anvil runs under :mod:`ledger._statekeeper`, which
copies complete dumps to ``state.json`` atomically, and every start first recovers the newest complete
dump (:func:`ledger._statekeeper.recover`). A ``state.json`` that is unreadable anyway (say, from an
older version) is never started over: :func:`ensure_node` stops with an error naming the ``.bak`` copy.
Every start keeps the first genesis block (:func:`_drop_extra_genesis_blocks`), so the genesis hash
that deployments pin never changes.

Only process management and the standard ``eth_chainId`` call live here; no anvil-only RPC method.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ledger import _statekeeper
from ledger.errors import ChainUnavailableError, ConfigurationError

__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEFAULT_HARDFORK",
    "DEV_ACCOUNT_COUNT",
    "DEV_MNEMONIC",
    "AnvilNode",
    "default_data_dir",
    "ensure_node",
    "find_anvil",
    "running_node",
]

DEFAULT_CHAIN_ID = 31337
# anvil's own default mnemonic: public, for development only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
# Same fork as the in-memory chain and the compiler's evmVersion; anvil's "latest" moves on.
DEFAULT_HARDFORK = "prague"

STATE_FILE = "state.json"
DUMP_FILE = "anvil-dump.json"
GENESIS_TIME_FILE = "genesis-time"
PID_FILE = "anvil.pid"
PORT_FILE = "anvil.port"
LOG_FILE = "anvil.log"
LOCK_FILE = "anvil.lock"

_REPO_ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(rb"Listening on [0-9.]+:(\d+)")
_PR_SET_PDEATHSIG = 1


def default_data_dir() -> Path:
    return Path.cwd() / ".data" / "chain"


def find_anvil() -> Path:
    """The anvil binary: ``$LEDGER_ANVIL``, else the repository's npm toolchain, else ``PATH``."""
    configured = os.environ.get("LEDGER_ANVIL")
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigurationError(f"LEDGER_ANVIL={configured} is not an executable file")
    for candidate in (_REPO_ROOT / "node_modules/.bin/anvil", Path.cwd() / "node_modules/.bin/anvil"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ConfigurationError(
        "anvil was not found: run `npm ci` in the repository (it installs node_modules/.bin/anvil), "
        "put anvil on PATH, or set LEDGER_ANVIL to the binary"
    )


@dataclass(eq=False)
class AnvilNode:
    """A running anvil serving one data directory. ``owned``: this process stops it at exit."""

    data_dir: Path
    pid: int
    port: int
    owned: bool = False
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def is_alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return _is_our_anvil(self.pid, self.state_file)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (anvil writes its state and exits), then SIGKILL if it is still there."""
        _owned_nodes.discard(self)
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not self._wait_gone(timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self._wait_gone(5.0)
        elif self._process is not None:
            self._process.poll()
        if _read_int(self.data_dir / PID_FILE) == self.pid:  # not a successor's files
            for name in (PID_FILE, PORT_FILE):
                (self.data_dir / name).unlink(missing_ok=True)

    def _wait_gone(self, timeout: float) -> bool:
        if self._process is not None:
            try:
                self._process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):  # reap it if it is our detached child
                os.waitpid(self.pid, os.WNOHANG)
            if not self.is_alive():
                return True
            time.sleep(0.05)
        return not self.is_alive()


def running_node(data_dir: Path | str | None = None) -> AnvilNode | None:
    """The live node of ours recorded in ``data_dir``, if any (no RPC check)."""
    directory = Path(data_dir or default_data_dir()).resolve()
    pid, port = _read_int(directory / PID_FILE), _read_int(directory / PORT_FILE)
    if pid is None or port is None or not _is_our_anvil(pid, directory / STATE_FILE):
        return None
    return AnvilNode(directory, pid, port)


def ensure_node(
    data_dir: Path | str | None = None,
    *,
    port: int | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    detach: bool = False,
    timeout: float = 30.0,
    hardfork: str = DEFAULT_HARDFORK,
) -> AnvilNode:
    """Reuse the node serving ``data_dir`` or start one; return once it answers RPC."""
    directory = Path(data_dir or default_data_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / LOCK_FILE):
        node = running_node(directory)
        if node is not None:
            answered = _wait_for_chain_id(node.url, min(timeout, 5.0), node.is_alive)
            if answered is None:
                raise ChainUnavailableError(
                    f"anvil (pid {node.pid}) holds {directory} but does not answer at {node.url}; "
                    f"stop it (scripts/devchain.py stop --data-dir {directory}) and retry"
                )
            if answered != chain_id:
                raise ConfigurationError(f"the node for {directory} runs chain id {answered}, not {chain_id}")
            if port not in (None, node.port):
                raise ConfigurationError(
                    f"the node for {directory} already listens on port {node.port}, not {port}"
                )
            return node
        return _start(
            directory, port=port, chain_id=chain_id, detach=detach, timeout=timeout, hardfork=hardfork
        )


def _start(
    directory: Path, *, port: int | None, chain_id: int, detach: bool, timeout: float, hardfork: str
) -> AnvilNode:
    binary = find_anvil()
    state, dump = directory / STATE_FILE, directory / DUMP_FILE
    _statekeeper.recover(state, dump)
    _check_and_back_up_state(state)
    keeper = [sys.executable, _statekeeper.__file__, "--state", str(state), "--dump", str(dump), "--"]
    argv = [
        *keeper,
        str(binary),
        "--host",
        "127.0.0.1",
        "--port",
        str(port or 0),  # 0: the OS picks a free port, anvil logs which one
        "--chain-id",
        str(chain_id),
        "--hardfork",
        hardfork,
        "--timestamp",
        str(_genesis_time(directory)),
        "--mnemonic",
        DEV_MNEMONIC,
        "--accounts",
        str(DEV_ACCOUNT_COUNT),
        *(["--load-state", str(state)] if state.exists() else []),
        "--dump-state",
        str(dump),
        "--state-interval",
        "1",
    ]
    log_path = directory / LOG_FILE
    with log_path.open("ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        offset = log.tell()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
            start_new_session=True,
            preexec_fn=None if detach else _die_with_parent_hook(),
        )
    node = AnvilNode(directory, process.pid, port or 0, owned=not detach, _process=process)
    try:
        # Wait for our own "Listening on" line even for a fixed port: another node on that port
        # would answer eth_chainId before ours fails to bind.
        listening = _wait_for_port(log_path, offset, process, timeout)
        if port is not None and listening != port:
            raise ChainUnavailableError(f"anvil listens on {listening}, not on the requested {port}")
        node.port = listening
        answered = _wait_for_chain_id(node.url, timeout, node.is_alive)
        if answered is None:
            raise ChainUnavailableError(f"anvil did not answer at {node.url} within {timeout:g}s")
    except ChainUnavailableError as exc:
        node.stop(timeout=2.0)
        raise ChainUnavailableError(f"{exc}; end of {log_path}:\n{_tail(log_path, offset)}") from None
    (directory / PORT_FILE).write_text(f"{node.port}\n")
    (directory / PID_FILE).write_text(f"{node.pid}\n")
    if detach:
        # Forget the handle: the node outlives us (a dropped Popen of a live child would warn).
        process.returncode = 0
        node._process = None
    else:
        _owned_nodes.add(node)
    return node


def _genesis_time(directory: Path) -> int:
    """The genesis timestamp of the data dir's chain, chosen at its first start and kept in ``genesis-time``.

    anvil stamps block 0 with the time it starts. Started with the same ``--timestamp`` every time, it
    makes the same genesis block even when no state was saved yet (killed within its first second), so
    the genesis hash that deployments and verifiers pin never changes.
    """
    path = directory / GENESIS_TIME_FILE
    recorded = _read_int(path)
    if recorded is not None:
        return recorded
    now = int(time.time())
    _statekeeper.write_atomically(path, f"{now}\n".encode())
    return now


def _check_and_back_up_state(state: Path) -> None:
    if not state.exists():
        return
    backup = state.with_name(state.name + ".bak")
    try:
        with state.open("rb") as f:
            json.load(f)
    except (ValueError, OSError) as exc:
        hint = f"; the copy taken at the previous start is {backup}" if backup.exists() else ""
        raise ChainUnavailableError(
            f"the chain state file {state} is unreadable ({exc}): the node was probably killed while "
            f"writing it. It was left untouched{hint}"
        ) from None
    partial = backup.with_name(backup.name + ".tmp")
    shutil.copyfile(state, partial)
    partial.replace(backup)
    _drop_extra_genesis_blocks(state)


def _drop_extra_genesis_blocks(state: Path) -> None:
    """Keep one block 0 in the state file: the chain's real genesis.

    anvil appends a fresh genesis block (stamped with the start time) to the saved blocks at every start,
    and on a later load may take any of them as block 0, which changes the genesis hash that deployments
    and verifiers pin. The real genesis is the earliest one: every later start stamps a later time.
    """
    with state.open("rb") as f:
        data = json.load(f)
    blocks = data.get("blocks") or []
    genesis = [b for b in blocks if int(b["header"]["number"], 16) == 0]
    if len(genesis) <= 1:
        return
    keep = min(genesis, key=lambda b: int(b["header"]["timestamp"], 16))
    data["blocks"] = [b for b in blocks if int(b["header"]["number"], 16) != 0 or b is keep]
    partial = state.with_name(state.name + ".tmp")
    with partial.open("w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(state)


def _wait_for_port(log_path: Path, offset: int, process: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log_path.open("rb") as f:
            f.seek(offset)
            match = _LISTENING.search(f.read())
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            raise ChainUnavailableError(f"anvil exited with status {process.returncode} while starting")
        time.sleep(0.05)
    raise ChainUnavailableError(f"anvil did not report a listening port within {timeout:g}s")


def _wait_for_chain_id(url: str, timeout: float, alive: Callable[[], bool]) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        answered = rpc_chain_id(url, timeout=2.0)
        if answered is not None:
            return answered
        if time.monotonic() >= deadline or not alive():
            return None
        time.sleep(0.05)


def rpc_chain_id(url: str, timeout: float = 2.0) -> int | None:
    """``eth_chainId`` over plain HTTP, or ``None`` if nothing answers (no web3 needed)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.load(response)["result"], 16)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_our_anvil(pid: int, state_file: Path) -> bool:
    """Alive, not a zombie and (where /proc exists) an anvil serving this state file."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if not Path("/proc/self").exists():
        return True  # no procfs (macOS): trust the signal check
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
        return False
    # The binary may have any name (LEDGER_ANVIL); our state file path on its command line is the mark.
    return b"--state" in cmdline and str(state_file).encode() in cmdline


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _die_with_parent_hook() -> Callable[[], object] | None:
    """Linux: the kernel sends SIGTERM to the node when the thread that started it dies.

    Only armed from the main thread: the signal fires when the *starting thread* exits, which for a
    worker thread would be far too early. Other threads rely on the ``atexit`` stop.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _tail(path: Path, offset: int, lines: int = 25) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty)"


_owned_nodes: set[AnvilNode] = set()


@atexit.register
def _stop_owned_nodes() -> None:
    for node in list(_owned_nodes):
        node.stop()
