"""Benchmark `import toucan_connectors` plus listing the registry, in fresh subprocesses.

Run with `make bench` or `python benchmarks/bench_import.py [--repeat N]`. Each run starts a new
interpreter that imports the package, lists every registry entry and reports its own wall time
for that work and its peak resident memory. The median of the runs is printed against the
targets (the published library takes 2-3 s to import).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.3
TARGET_MB = 60.0

WORKER = """
import json, resource, sys, time
started = time.perf_counter()
import toucan_connectors
registry = toucan_connectors.CONNECTORS_REGISTRY
entries = [(key, entry.path, entry.label, entry.extra) for key, entry in registry.items()]
elapsed = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024, "entries": len(entries)}))
"""


def run_once() -> dict[str, float]:
    """Measure one import in a fresh interpreter and return its numbers."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(result.stdout)


def run_process_once() -> float:
    """Return the wall time of a whole `python -c 'import toucan_connectors'` process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import toucan_connectors"], check=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs to take the median of")
    args = parser.parse_args()

    runs = [run_once() for _ in range(args.repeat)]
    processes = [run_process_once() for _ in range(args.repeat)]
    seconds = statistics.median(run["seconds"] for run in runs)
    peak_mb = statistics.median(run["peak_mb"] for run in runs)
    whole = statistics.median(processes)

    print(
        f"import toucan_connectors + list registry ({int(runs[0]['entries'])} entries), "
        f"median of {args.repeat} fresh interpreters"
    )
    print("| measure | median | target | verdict |")
    print("| --- | --- | --- | --- |")
    print(
        f"| import + list time | {seconds:.3f} s | {TARGET_SECONDS} s | "
        f"{'ok' if seconds < TARGET_SECONDS else 'OVER'} |"
    )
    print(
        f"| peak RSS | {peak_mb:.1f} MB | {TARGET_MB:.0f} MB | "
        f"{'ok' if peak_mb < TARGET_MB else 'OVER'} |"
    )
    print(f"| whole process (interpreter start included) | {whole:.3f} s | - | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
