"""Stage 9, report: decision documents for a run.

Owns `ReportContent` (what every format says, in order), tables and the way numbers read
(`tables`), charts and each model's style, the CJK font subset, and the formats (HTML, PDF,
Markdown) behind one registry and one ``write(parts, path)`` signature in
`evalkit.report.formats`, each writing from the same `ReportParts` (content, charts,
fonts), made once. Every format reads a `RunAnalysis`, never the store. Imports analysis
and the stages below it, never console or the CLI.
"""
