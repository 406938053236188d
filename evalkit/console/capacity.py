"""`evalkit capacity`'s step table and price lines, as terminal text."""

from __future__ import annotations

from evalkit.economics.capacity import CapacityResult, Step, figure, load_text

_STEP_ROW = "{:>6} {:>5} {:>3} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>4}  {}"
STEP_HEADER = "\n".join(line.rstrip() for line in (
    _STEP_ROW.format("load", "n", "err", "req/s", "out", "TTFT", "TTFT", "ITL", "e2e", "speed", "CV", "SLO"),
    _STEP_ROW.format("", "", "", "", "tok/s", "p50", "p95", "p50", "p95", "p50", "", "")))
"""Two lines, so a step's figures fit in 80 columns (seconds, except tok/s and CV)."""


def step_table_lines(s: Step, chosen: bool = False, width: int | None = None) -> list[str]:
    """One step's line; its SLO details go on a line of their own below when the whole
    line would be wider than ``width`` (None: never)."""
    na = _decode_na(s)
    figures = [load_text(s.mode, s.load), s.n, s.errors, f"{s.requests_per_s:.2f}", f"{s.output_tokens_per_s:.1f}",
               figure(s.ttft_p50), figure(s.ttft_p95), figure(s.itl_p50, 4, na), figure(s.e2e_p95),
               figure(s.speed_p50, 1, na), figure(s.cv, 2)]
    mark = "ok" if s.meets_slo else "BROKEN"
    failures = "; ".join(s.failures)
    extras = (["<- priced here"] if chosen else []) + (["(unstable)"] if s.cv is not None and not s.stable else [])
    if s.decode_n is not None and s.decode_n < s.n:
        extras.append(f"(ITL, speed over {s.decode_n} of {s.n}: the others had a single token)")
    whole = _STEP_ROW.format(*figures, "  ".join([f"{mark}: {failures}" if failures else mark, *extras]))
    if width is None or len(whole) <= width:
        return [whole]
    return [_STEP_ROW.format(*figures, mark), " " * 8 + "  ".join(filter(None, [failures, *extras]))]


def _decode_na(s: Step) -> str:
    """Speed and ITL of a step whose requests all streamed one token are n/a, not missing."""
    return "n/a" if s.n and s.decode_n == 0 else "-"


def step_table(result: CapacityResult, width: int | None = None) -> list[str]:
    """The step table as terminal lines."""
    return [*STEP_HEADER.split("\n"), *(line for i, s in enumerate(result.steps)
                                         for line in step_table_lines(s, i == result.chosen, width))]


def price_lines(result: CapacityResult) -> list[str]:
    lines = [f"stopped: {result.stop_reason}"]
    if result.price is None:
        lines.append(f"no price: {result.assumptions()}")
        return lines
    p = result.price
    lines += [
        f"self-hosted price: ${p.input * 1e6:.4f} in / ${p.output * 1e6:.4f} out per 1M tokens "
        f"(blended ${p.blended * 1e6:.4f}/1M)",
        f"assumptions: {result.assumptions()}",
    ]
    return lines
