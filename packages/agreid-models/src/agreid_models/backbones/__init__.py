"""Backbones, each registered by name with a tiny configuration for tests."""
