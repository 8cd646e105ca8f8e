"""Benchmark suite: `make bench` (see run.py). Timings live here, never in the tests."""
