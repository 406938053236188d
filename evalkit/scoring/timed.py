"""The `timed` scorer: for items that are timed, not graded (the latency suite).

A latency item asks for a long answer only so that its tokens can be timed; there is no
right answer to it. The scorer marks 1 when any answer came back (0 for an empty one) and
hands on the item's ``prompt`` option, which says how its prompt was built (exact tokens
of the model's tokenizer, or a character budget), as the record's detail. Records of the
latency suite never enter accuracy or the verdict's "good" (`evalkit.analysis.latency_tiers`).
"""

from __future__ import annotations

from evalkit.scoring.registry import OptionSpec, Score, any_reference, is_text, scorer


@scorer("timed", reference=any_reference, options={"prompt": OptionSpec("a line of text", is_text)})
def timed(response: str, reference: object = None, *, prompt: str = "") -> Score:
    answered = bool(response.strip())
    return Score(1.0 if answered else 0.0, f"{len(response)} characters", detail=prompt)
