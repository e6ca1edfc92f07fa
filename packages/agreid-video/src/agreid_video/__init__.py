"""Video (tracklet) ReID for agreid: clip sampling, temporal modules, video method recipes."""

__version__ = "0.1.0"
