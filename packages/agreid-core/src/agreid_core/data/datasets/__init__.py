"""Loaders of the published dataset formats."""
