"""The agreid command line: train, evaluate, benchmark and inspect plugins."""

__version__ = "0.1.0"
