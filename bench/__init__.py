"""Benchmarks of the hub (``python -m bench.hub``); scripts, not tests."""
