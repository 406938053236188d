"""Stage 9, report: decision documents for a run.

Owns `ReportContent` (what every format says, in order), tables and the way numbers read
(`tables`), charts and each model's style, the CJK font subset, and the formats (HTML, PDF,
Markdown) behind one registry. Every format reads a `RunAnalysis`, never the store. Imports
analysis and the stages below it, never console or the CLI.
"""
