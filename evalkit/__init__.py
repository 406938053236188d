"""evalkit: which language model should we buy? Accuracy, latency and cost on the same requests."""

from evalkit.version import __version__

__all__ = ["__version__"]
