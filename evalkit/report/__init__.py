"""Reports: each format reads a `RunAnalysis`, never the store.

The decision report's formats (html, pdf, md) sit behind one registry and one
``write(parts, path)`` signature in `evalkit.report.formats`; each writes from the same
`ReportParts` (content, charts, fonts), made once."""
