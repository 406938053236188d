"""Scoring: turns a model's reply into a `Score` in [0, 1], and checks references first.

The stage owns `Score`, the scorer registry (`registry`: each entry carries its options,
its reference check, whether it compares text and whether it is async) and one module per
scorer family: `text` (exact, regex, contains, and the normalising they share), `choice`
(choice, label), `numeric`, `json_fields`, `json_schema` (structured output), `constraints`,
`judge` (the LLM judge, an async scorer), `code` (runs the reply against tests in `sandbox`)
and `lm_eval` (an lm-eval task's own metric, and the task lookup it needs).

Scoring scores from a reply, a reference and options (`ScoredItem` is what it needs of a
sample); it never imports suites, which sit above it. It may import config, transport,
store and economics (the judge asks a model and prices its tokens), and the foundation.
"""

from evalkit.scoring.registry import (
    AsyncScorer,
    JudgeError,
    Judgement,
    OptionSpec,
    Score,
    ScoredItem,
    ScorerEntry,
    check_reference,
    check_scorer,
    find_scorer,
    get_scorer,
    register,
    score_item,
    scorer,
    scorers,
    unregister,
)

__all__ = [
    "AsyncScorer",
    "JudgeError",
    "Judgement",
    "OptionSpec",
    "Score",
    "ScoredItem",
    "ScorerEntry",
    "check_reference",
    "check_scorer",
    "find_scorer",
    "get_scorer",
    "register",
    "score_item",
    "scorer",
    "scorers",
    "unregister",
]
