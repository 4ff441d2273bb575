"""Benchmarks for simdeploy: ``python -m benchmarks`` (see benchmarks/README.md)."""
