"""Image method recipes, one file per method."""
