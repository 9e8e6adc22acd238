"""Figures, goals, the run context and the machine description shared by every benchmark module.

A figure is one :class:`Result`: what was measured, at which size, its value and unit, the goal it is
compared with (if any) and its basis: ``measured`` (timed or read from a receipt in this run),
``computed`` (derived from measured figures, e.g. gas per digest or a calldata floor) or ``extrapolated``
(projected beyond what this run measured, always said so). Missing a goal is reported, never raised.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Goal:
    """``value <op> threshold`` is the goal; ``op`` is ``<=`` (lower is better) or ``>=``."""

    op: str
    threshold: float
    text: str = ""

    def met(self, value: float) -> bool:
        return value <= self.threshold if self.op == "<=" else value >= self.threshold

    def label(self) -> str:
        return self.text or f"{self.op} {fmt_number(self.threshold)}"


@dataclass
class Result:
    area: str
    name: str
    value: float | None
    unit: str
    size: int | None = None
    goal: Goal | None = None
    basis: str = "measured"  # measured | computed | extrapolated
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.goal is None or self.value is None:
            return ""
        return "met" if self.goal.met(self.value) else "missed"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["goal"] = (
            None
            if self.goal is None
            else {"op": self.goal.op, "threshold": self.goal.threshold, "label": self.goal.label()}
        )
        data["status"] = self.status
        return data


def fmt_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if unit in ("ms", "µs") or (isinstance(value, float) and abs(value) < 100 and value != int(value)):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:,.1f}"
        return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"
    return f"{value:,.0f}"


# -- timing helpers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "runs": len(ms),
        "median_ms": statistics.median(ms),
        "p99_ms": percentile(ms, 99),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }


def time_calls(fn: Callable[[], Any], runs: int, *, warmup: int = 3) -> list[float]:
    for _ in range(min(warmup, runs)):
        fn()
    out = []
    clock = time.perf_counter
    for _ in range(runs):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


@contextlib.contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


# -- the machine ---------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def ecdsa_backend() -> str:
    """Which secp256k1 implementation eth-keys uses (signing and recovery speed depend on it)."""
    try:
        from eth_keys.backends import get_backend

        name = type(get_backend()).__name__
    except Exception as exc:  # pragma: no cover - informational only
        return f"unknown ({exc})"
    return {"NativeECCBackend": "native (pure Python)", "CoinCurveECCBackend": "coincurve (libsecp256k1)"}.get(
        name, name
    )


def _package_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "-"


def _node_version(path: str) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(json.loads((REPO / "node_modules" / path / "package.json").read_text())["version"])
    return "-"


def machine_info() -> dict[str, Any]:
    anvil = REPO / "node_modules" / ".bin" / "anvil"
    anvil_version = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        anvil_version = subprocess.run(
            [str(anvil), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.splitlines()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ecdsa_backend": ecdsa_backend(),
        "keccak_backend": "safe-pysha3" if _has_module("sha3") else "pycryptodome",
        "web3": _package_version("web3"),
        "anvil": anvil_version,
        "solc_js_ledger": _node_version("solc"),
        "solc_js_eas": _node_version("solc-0.8.29"),
        "eas_contracts": _node_version("@ethereum-attestation-service/eas-contracts"),
        "openzeppelin_for_eas": _node_version("@openzeppelin/contracts-5.3.0"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# -- the run -------------------------------------------------------------------------------------


class Context:
    """One benchmark run: the size preset, the scratch directory, the figures, and shared environments.

    Shared environments (the anvil chain with the deployed suite, the running HTTP service) are built
    on first use and closed by :meth:`close`, so ``--only`` can run any single area.
    """

    def __init__(self, *, quick: bool, console: Console, keep: bool = False, only: set[str] | None = None) -> None:
        self.quick = quick
        self.only = only
        self.console = console
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
        self.results: list[Result] = []
        self.errors: list[dict[str, str]] = []
        self.area = ""
        self.started = datetime.now(UTC)
        self.load_start = load_average()
        self._closers: list[Callable[[], None]] = []
        self._shared: dict[str, Any] = {}

    # figures ---------------------------------------------------------------------------------

    def record(
        self,
        name: str,
        value: float | None,
        unit: str,
        *,
        size: int | None = None,
        goal: Goal | None = None,
        basis: str = "measured",
        note: str = "",
        area: str | None = None,
        extra: dict[str, Any] | None = None,
        **more: Any,
    ) -> Result:
        extra = {**(extra or {}), **more}
        result = Result(
            area or self.area, name, None if value is None else float(value), unit, size, goal, basis, note, extra
        )
        self.results.append(result)
        status = f" [{result.status}]" if result.status else ""
        size_text = f" @ {size:,}" if size is not None else ""
        self.console.log(
            f"[dim]{result.area}[/dim] {name}{size_text}: [bold]{fmt_number(result.value, unit)}[/bold] "
            f"{unit}{status}" + (f" [dim]({basis})[/dim]" if basis != "measured" else "")
        )
        return result

    def pick(self, quick: Any, full: Any) -> Any:
        return quick if self.quick else full

    def log(self, text: str) -> None:
        self.console.log(f"[dim]{self.area}[/dim] {text}")

    def error(self, area: str, exc: BaseException) -> None:
        self.errors.append(
            {
                "area": area,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc))[-4000:],
            }
        )
        self.console.print(f"[red]{area} failed: {type(exc).__name__}: {exc}[/red]")
        self.console.print("".join(traceback.format_exception(exc))[-3000:], markup=False, highlight=False)

    # shared environments -----------------------------------------------------------------------

    def shared(self, key: str, factory: Callable[[], Any], closer: Callable[[Any], None] | None = None) -> Any:
        if key not in self._shared:
            value = factory()
            self._shared[key] = value
            if closer is not None:
                self._closers.append(lambda: closer(value))
        return self._shared[key]

    def on_close(self, fn: Callable[[], None]) -> None:
        self._closers.append(fn)

    def close(self) -> None:
        while self._closers:
            fn = self._closers.pop()
            try:
                fn()
            except Exception as exc:  # closing must not hide the figures
                self.console.print(f"[yellow]closing failed: {type(exc).__name__}: {exc}[/yellow]")
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # output ------------------------------------------------------------------------------------

    def summary(self, command: str, elapsed: float) -> dict[str, Any]:
        return {
            "meta": {
                "date": self.started.isoformat(timespec="seconds"),
                "command": command,
                "preset": "quick" if self.quick else "full",
                "elapsed_seconds": round(elapsed, 1),
                "load_average_start": self.load_start,
                "load_average_end": load_average(),
                "machine": machine_info(),
                "argv": sys.argv,
            },
            "results": [r.as_json() for r in self.results],
            "errors": self.errors,
        }


# -- profiling -------------------------------------------------------------------------------------

Matcher = Callable[[str, str], bool]


def in_module(path_part: str, *functions: str) -> Matcher:
    """Match functions named ``functions`` (any, if none given) in files whose path contains ``path_part``."""

    def match(filename: str, function: str) -> bool:
        return path_part in filename.replace("\\", "/") and (not functions or function in functions)

    return match


def profile_shares(fn: Callable[[], Any], buckets: dict[str, Matcher]) -> tuple[float, dict[str, float]]:
    """Run ``fn`` under cProfile; wall time and, per bucket, the share of it spent inside matching functions.

    A matching function called (directly) by another match of the same bucket is not counted again.
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    for label, match in buckets.items():
        total = 0.0
        for (filename, _line, function), (_cc, _nc, _tt, cumulative, callers) in stats.items():
            if not match(filename, function):
                continue
            if any(match(cf, cfn) for (cf, _cl, cfn) in callers):
                continue
            total += cumulative
        shares[label] = total / wall if wall > 0 else 0.0
    return wall, shares


ECDSA = in_module("eth_keys/backends/", "ecdsa_sign", "ecdsa_recover", "private_key_to_public_key")
RPC = in_module("web3/providers/rpc/rpc.py", "make_request")
