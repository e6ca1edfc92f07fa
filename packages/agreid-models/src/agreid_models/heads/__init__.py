"""Necks, pooling and heads."""
