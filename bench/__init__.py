"""Benchmarks: each prints its configuration, its figures and its ratio against a ceiling."""
