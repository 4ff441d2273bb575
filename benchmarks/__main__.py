"""``python -m benchmarks``: simulated requests per wall-second, simdeploy vs plain SimPy."""

from __future__ import annotations

import sys

from benchmarks.bench_requests_per_second import main

if __name__ == "__main__":
    sys.exit(main())
