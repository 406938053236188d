"""evalkit's version: stored with every run, and part of what a resumed run must match."""

__version__ = "0.1.0"
