"""Stage 10, console: what evalkit prints on a terminal.

Owns the terminal views: tables laid out for the terminal's width and never cut when piped
(`fit`), the scorecard and verdict (`scorecard`), the runs list (`runs`), history trends
(`trend`), estimates, catalogs, the progress bar, the run footer and the break-even table.
Reads analyses and report tables; imports every stage below it, never the CLI.
"""
