"""The outbox worker in a process of its own (``Settings.worker_process``; ``scripts/serve.py`` on a node).

Why: on two cores the request threads and the worker took turns on one interpreter lock; under load the
service used one core while the node and the clients left most of the other idle. The outbox is durable
and shared through SQLite (WAL; every write an immediate transaction), so the worker needs nothing from
the process that accepts but the data dir's files.

Contract
--------
* :class:`WorkerProcess` (built and started by ``Services``) spawns a child that opens the data dir's
  outbox, keystore (court keys created later are read from it when first used) and deployment, connects
  to the same chain (``local``: attaches to the node the service started, never starts one; a URL: the
  same URL and gas price) and runs :class:`~api.worker.OutboxWorker` there, unchanged.
* :meth:`WorkerProcess.wake` sets an Event shared with the child: an accepted write is picked up at once;
  without it, within ``worker_interval_seconds`` (the child polls the outbox).
* One worker per data dir: the child holds ``<data_dir>/worker.lock`` (``flock``) while it runs. One
  left from a killed service exits before the next one starts sending.
* :meth:`WorkerProcess.stop`: a child still starting (importing, waiting for the lock or the node) is
  terminated, having opened nothing; a working one finishes its pass, closes the outbox and exits.
* The child dies with the service: the kernel kills it when the thread that spawned it dies (Linux,
  ``PR_SET_PDEATHSIG``), and it also stops when its parent changes. A child that dies on its own is
  spawned again a second later; readiness reports the worker down meanwhile (:attr:`running`).
* What it does not move: the notary batcher stays in the service with its own pipeline (its relayer
  account sends nothing else), and so do reads. The memory chain cannot be shared: not there.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from api.settings import Settings
from ledger.chain import Chain
from ledger.errors import ConfigurationError

__all__ = ["LOCK_FILE", "WorkerProcess"]

LOCK_FILE = "worker.lock"
_PR_SET_PDEATHSIG = 1

log = logging.getLogger("api.worker")


class WorkerProcess:
    """The outbox worker's process: :meth:`start`, :meth:`wake`, :meth:`stop`; respawned if it dies."""

    def __init__(self, settings: Settings, chain: Chain, *, respawn_after: float = 1.0) -> None:
        if chain.kind == "memory":
            raise ConfigurationError(
                "the memory chain lives inside one process: the outbox worker cannot run in a process of its "
                "own on it (set LEDGER_WORKER_PROCESS=false, or use a node)"
            )
        root = Path(settings.data_dir).resolve()
        self._settings = settings.model_copy(update={"data_dir": root})
        self._chain = (chain.url if chain.kind == "rpc" else "local", chain.gas_price)
        self._context = multiprocessing.get_context("spawn")
        self._wake = self._context.Event()
        self._stop = self._context.Event()
        self._working = self._context.Event()  # set by the child once its worker runs
        self._stopping = threading.Event()
        self._respawn_after = respawn_after
        self._process: Any = None
        self._thread: threading.Thread | None = None
        self.spawned = 0  # how many children were started (1 + respawns)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Spawn the child from a thread that lives as long as this object runs (the kernel ties the
        child's death signal to the spawning thread), which also spawns it again when it dies."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._stop.clear()
        started = threading.Event()
        self._thread = threading.Thread(target=self._supervise, args=(started,), name="outbox-worker-process",
                                        daemon=True)
        self._thread.start()
        started.wait(30.0)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + 5.0)
            self._thread = None

    def _supervise(self, started: threading.Event) -> None:
        try:
            self._spawn()
        finally:
            started.set()
        while not self._stopping.wait(self._respawn_after):
            if self._process.is_alive():
                continue
            log.warning("the outbox worker process exited (code %s); starting it again", self._process.exitcode)
            self._spawn()
        self._end()

    def _spawn(self) -> None:
        level = logging.getLogger().getEffectiveLevel()
        self._working.clear()
        self._process = self._context.Process(
            target=_child,
            args=(self._settings, *self._chain, self._wake, self._stop, self._working, level, os.getpid()),
            name="outbox-worker", daemon=True,
        )
        # Born with SIGINT blocked (a thread's mask is inherited): a Ctrl-C reaching it while it still
        # imports is not a traceback; the child then ignores SIGINT for good (the service stops it).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        self.spawned += 1

    def _end(self, timeout: float = 15.0) -> None:
        process = self._process
        if process is None:
            return
        if not self._working.is_set():  # still starting (importing, waiting for the lock or the node):
            process.terminate()  # nothing of it to finish; SIGTERM once in _child only asks it to stop
        process.join(timeout)
        if process.is_alive():
            log.warning("the outbox worker process did not stop in %.0f s; terminating it", timeout)
            process.terminate()
            process.join(5.0)
            if process.is_alive():
                process.kill()
                process.join(5.0)


# -- the child ----------------------------------------------------------------------------------


def _child(
    settings: Settings, chain_spec: str, gas_price: int | None, wake: Any, stop: Any, working: Any, level: int,
    parent: int,
) -> None:
    """The child's main: wait for the data dir's worker lock, open the stores and the chain, run the worker
    until told to stop or orphaned (``parent``: the service's pid; the death signal asked for after the
    service died never comes, so the parent is compared too, first thing and then every half second)."""
    _die_with_parent()
    if os.getppid() != parent:
        return  # the service died while this process was starting
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the service too, which stops this process
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since birth: see _spawn

    def told_to_stop(wait: float) -> bool:
        if os.getppid() != parent:
            log.warning("the service is gone: the outbox worker process stops")
            return True
        return bool(stop.wait(wait))

    with _exclusive(Path(settings.data_dir) / LOCK_FILE, told_to_stop) as held:
        if not held:
            return
        opened = _open(settings, chain_spec, gas_price, wake, told_to_stop)
        if opened is None:
            return
        worker, closers = opened
        if not told_to_stop(0):
            working.set()
            worker.start()
        try:
            while not told_to_stop(0.5):
                pass
        finally:
            worker.stop()
            for close in closers:
                with contextlib.suppress(Exception):
                    close()
    logging.shutdown()
    os._exit(0)  # all closed: no interpreter teardown (a few tenths of a second of the service's stop)


def _open(settings: Settings, chain_spec: str, gas_price: int | None, wake: Any,
          told_to_stop: Callable[[float], bool]) -> Any:
    """(the worker, what to close after it) once the chain answers; None if told to stop first."""
    from api.outbox import Outbox
    from api.settings import resolve_secrets
    from api.signers import Signers
    from api.worker.loop import OutboxWorker
    from ledger.chain import connect
    from ledger.client import Ledger
    from ledger.deployment import load_deployment
    from ledger.signing import Keystore
    from ledger.workspace import Workspace

    root = Path(settings.data_dir)
    secrets = resolve_secrets(settings)
    chain = None
    while chain is None:
        try:
            chain = connect(chain_spec, data_dir=root / "chain", attach=True, gas_price=gas_price,
                            chain_id=settings.chain_id)
        except Exception as exc:  # the node restarting: the worker waits for it as the service does
            log.warning("the outbox worker process cannot reach the chain yet: %s", exc)
            if told_to_stop(1.0):
                return None
    ledger = Ledger(chain, load_deployment(root / "deployment.json"))
    outbox = Outbox(root / "outbox.sqlite")
    keystore = Keystore(Workspace(root, settings.mode).keystore.directory)
    signers = Signers(keystore, secrets.keystore_password, outbox, kdf=settings.keystore_kdf)
    worker = OutboxWorker(ledger, outbox, signers, secrets.governor, interval=settings.worker_interval_seconds,
                          wake_event=wake)
    return worker, [outbox.close, chain.close]


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the thread that spawned it dies (a killed service)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def _exclusive(path: Path, told_to_stop: Callable[[float], bool]) -> Iterator[bool]:
    """Hold ``path``'s lock (True), or give up waiting when told to stop (False)."""
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if told_to_stop(0.2):
                    yield False
                    return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
