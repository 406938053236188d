"""Reports: each format reads a `RunAnalysis`, never the store."""
