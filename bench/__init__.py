"""Benchmarks of the pipeline (`make bench`); see BENCHMARKS.md for targets and results."""
