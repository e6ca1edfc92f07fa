"""Temporal modules: each one file, each registered by name."""
