"""A minimal third-party agreid plugin package."""
