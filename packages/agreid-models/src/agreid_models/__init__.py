"""Backbones, necks, heads and image method recipes for agreid."""

__version__ = "0.1.0"
