"""Benchmarks: each prints absolute numbers and a ratio against a baseline measured in the same run."""
