"""How numbers and tables read in every report: one place, so the terminal and the files agree."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from evalkit.store.records import ESTIMATED_MARK


@dataclass
class Table:
    """A table of text cells, as every report format draws it."""

    headers: list[str]
    rows: list[list[str]]
    best: set[tuple[int, int]] = field(default_factory=set)
    """(row, column) cells holding the best value of their column."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: Any) -> str:
    return "–" if _missing(value) else f"{100 * value:.1f}%"


def accuracy_with_interval(row: Any) -> str:
    if _missing(row["accuracy"]):
        return "–"
    return f"{100 * row['accuracy']:.1f}% [{100 * row['accuracy_low']:.0f}–{100 * row['accuracy_high']:.0f}]"


def seconds(value: Any) -> str:
    if _missing(value):
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def speed(value: Any) -> str:
    return "–" if _missing(value) else f"{value:.0f} tok/s"


def inter_token(value: Any) -> str:
    """An ITL: milliseconds with a decimal (12.5 ms), as gaps between tokens are small."""
    if _missing(value):
        return "–"
    return f"{value * 1000:.1f} ms" if value < 0.1 else seconds(value)


def _no_decode(row: Any) -> str | None:
    """Output speed and ITL of a row without them: "–" when no call succeeded, *n/a* when
    calls succeeded but every reply was one token (nothing to time after the first); None
    when the row has a figure."""
    if not _missing(row.get("speed_p50")):
        return None
    return "n/a" if row.get("latency_n", 0) else "–"


def speed_cell(row: Any) -> str:
    """Median output speed with the number of calls it is over: one-token replies have no
    speed, so that n can be smaller than the calls behind the latency figures."""
    none = _no_decode(row)
    if none is not None:
        return none
    return f"{speed(row['speed_p50'])} (n={int(row['speed_n']):,})" if "speed_n" in row else speed(row["speed_p50"])


def itl_cell(row: Any) -> str:
    """Median inter-token latency, over the same calls as the speed (whose cell gives their n)."""
    none = _no_decode(row)
    return none if none is not None else inter_token(row["itl_p50"])


def usd(value: Any) -> str:
    if _missing(value):
        return "unknown"
    if value == 0:
        return "$0"
    if value >= 0.01:
        return f"${value:,.2f}"
    # small amounts keep two significant digits: $0.00076, not $0.0008
    return f"${value:.{1 - math.floor(math.log10(value))}f}"


def cost_cell(row: Any, column: str) -> str:
    """A cost figure, marked with `ESTIMATED_MARK` when any call behind it was costed from
    token counts evalkit estimated (the provider reported no usage)."""
    text = usd(row[column])
    if not _missing(row[column]) and row.get("cost_estimated", 0) > 0:
        text = ESTIMATED_MARK + text
    return text


ESTIMATED_LEGEND = f"{ESTIMATED_MARK} cost from estimated token counts (the provider reported no usage)"


def estimated_legend(frame: Any) -> str:
    """The line that explains the mark, naming the models it marks; "" when none is marked."""
    if "cost_estimated" not in frame:
        return ""
    marked = [f"{row['model']} ({int(row['cost_estimated'])} of {int(row['n'])} calls)"
              for _, row in frame.iterrows() if row["cost_estimated"] > 0]
    return f"{ESTIMATED_LEGEND}: {', '.join(marked)}" if marked else ""


def latency_cell(row: Any, column: str) -> str:
    """A latency figure, marked when evalkit's own event loop lagged during the calls
    behind it: then it is partly the client's queueing, not the provider's latency."""
    text = seconds(row[column])
    lagged, n = row.get("lagged_n", 0), row.get("latency_n", 0)
    if lagged and n:
        text += f" (client lagged on {lagged / n:.0%})"
    return text


SCORECARD = [
    ("Model", lambda r: str(r["model"])),
    ("n", lambda r: str(int(r["n"]))),
    ("Accuracy [95% CI]", accuracy_with_interval),
    ("TTFT p50", lambda r: latency_cell(r, "ttft_p50")),
    ("E2E p50", lambda r: seconds(r["e2e_p50"])),
    ("E2E p95", lambda r: seconds(r["e2e_p95"])),
    ("Speed p50", speed_cell),
    ("ITL p50", itl_cell),
    ("$ / 1k tasks", lambda r: cost_cell(r, "cost_per_1k_tasks")),
    ("$ / correct", lambda r: cost_cell(r, "cost_per_correct")),
    ("Errors", lambda r: pct(r["error_rate"])),
]
"""(header, cell) pairs of the scorecard every report shows, in order."""


def scorecard_rows(frame: Any) -> list[list[str]]:
    return [[cell(row) for _, cell in SCORECARD] for _, row in frame.iterrows()]


THINKING_TITLE = "Thinking and truncation"
"""The table of the thinking candidates' clocks and tokens, and of every model's truncations."""

THINKING_ESTIMATED_LEGEND = (f"{ESTIMATED_MARK} thinking tokens counted from the reasoning text "
                             "(the provider reported none)")


def _tokens(value: Any) -> str:
    return "–" if _missing(value) else f"{value:,.0f}"


def thinking_tokens_cell(row: Any, column: str) -> str:
    """Thinking tokens per item or per correct answer, marked when any count was evalkit's estimate."""
    text = _tokens(row[column])
    if not _missing(row[column]) and row.get("thinking_estimated", 0) > 0:
        text = ESTIMATED_MARK + text
    return text


def thinking_time_cell(row: Any) -> str:
    """Median thinking time; *n/a* for a model that thinks without streaming its reasoning
    (OpenAI: only the token count is reported), *none* for a model that did not think."""
    if not row.get("thinking"):
        return "none"
    return "n/a" if _missing(row["thinking_p50"]) else seconds(row["thinking_p50"])


def truncated_cell(row: Any) -> str:
    """Replies max_tokens cut, and how many of them before any answer began."""
    cut, exhausted = int(row.get("truncated", 0)), int(row.get("thinking_exhausted", 0))
    text = f"{cut} of {int(row['n'])}"
    return f"{text} ({exhausted} no answer)" if exhausted else text


THINKING = [
    ("Model", lambda r: str(r["model"])),
    ("TTFT p50", lambda r: seconds(r["ttft_p50"])),
    ("1st token p50", lambda r: seconds(r["first_token_p50"])),
    ("Thinking p50", lambda r: thinking_time_cell(r)),
    ("Think tok/item", lambda r: thinking_tokens_cell(r, "thinking_per_item")),
    ("Think tok/correct", lambda r: thinking_tokens_cell(r, "thinking_per_correct")),
    ("Truncated", truncated_cell),
]
"""(header, cell) pairs of the thinking table: TTFT is the first answer token, the first
token counts reasoning too (README, metric definitions)."""


def shown_in_thinking_table(row: Any) -> bool:
    """A thinking candidate, or a model some of whose replies max_tokens cut."""
    return bool(row.get("thinking", False)) or int(row.get("truncated", 0) or 0) > 0


def thinking_rows(frame: Any) -> list[list[str]]:
    """The thinking table's rows; none when no model thought and none was cut."""
    if "thinking" not in frame:
        return []
    return [[cell(row) for _, cell in THINKING] for _, row in frame.iterrows() if shown_in_thinking_table(row)]


def thinking_legend(frame: Any) -> str:
    """What the mark in the thinking table means, naming the models it marks; "" when none."""
    if "thinking_estimated" not in frame:
        return ""
    marked = [str(row["model"]) for _, row in frame.iterrows()
              if row["thinking_estimated"] > 0 and shown_in_thinking_table(row)]
    return f"{THINKING_ESTIMATED_LEGEND}: {', '.join(marked)}" if marked else ""
