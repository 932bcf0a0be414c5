"""Benchmarks run by `make bench`; results, with the machine and date, are recorded in docs/benchmarks.md."""
