"""The local chain node SIGKILLed 200 times during writes: ``python -m benchmarks.node_kills [--kills N]``.

Runs ``tests/api/test_node_kills.py`` with ``JTL_NODE_KILLS=N`` (the suite runs as many kills as fit in
45 s): anvil, the state keeper or both are killed at random moments while the service writes, the node is
started again each time, and in the end every acknowledged write must be confirmed exactly once. Prints
the test's report line (kills by kind, acknowledged writes confirmed) and the wall time; exits with the
test's status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from benchmarks.common import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.node_kills", description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/api/test_node_kills.py", "-s", "-q", "-n", "0"],
        cwd=REPO,
        env={**os.environ, "JTL_NODE_KILLS": str(args.kills)},
        capture_output=True,
        text=True,
    )
    report = [line for line in result.stdout.splitlines() if line.startswith("node kills:")]
    print("\n".join(report) or result.stdout[-3000:])
    print(f"wall time: {time.monotonic() - started:.0f} s; pytest exit status {result.returncode}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
