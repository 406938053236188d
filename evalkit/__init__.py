"""evalkit: which language model should we buy? Accuracy, latency and cost on the same requests."""

__version__ = "0.1.0"
