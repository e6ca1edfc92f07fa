"""agreid-core: protocols, plugin host, data, evaluation and training engine of agreid."""

from agreid_core.plugins.host import PluginHost, get_host
from agreid_core.types import LossResult, Platform

__version__ = "0.1.0"

__all__ = ["LossResult", "Platform", "PluginHost", "__version__", "get_host"]
