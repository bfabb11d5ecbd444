"""Run a command and report its wall time and peak RSS as JSON (a small wrapper process).

    python -m benchmarks.measure OUT.json -- CMD ...

The wrapper exists because Linux's ru_maxrss of a child forked from a large process starts at
the parent's size: forked from this small process instead, the child's figure is its own.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> int:
    out, separator, *cmd = sys.argv[1:]
    assert separator == "--" and cmd, __doc__
    started = time.perf_counter()
    code = subprocess.call(cmd)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as stream:
        json.dump({"seconds": elapsed, "peak_rss_mb": usage.ru_maxrss / 1024.0,
                   "cpu_seconds": usage.ru_utime + usage.ru_stime, "returncode": code}, stream)
    return code


if __name__ == "__main__":
    sys.exit(main())
