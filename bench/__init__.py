"""Benchmark helpers: reference costs the client's own CPU use is compared against."""
