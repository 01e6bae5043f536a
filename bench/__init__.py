"""Benchmarks: each prints `name: candidate=... baseline=... ratio=...`, both measured in
the same run on the same machine, so the ratio means something on a noisy host."""
