"""Training engine: optimiser and schedule building, the trainer, checkpoints, runs."""
