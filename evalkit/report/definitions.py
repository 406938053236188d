"""The metric definitions every report states, worded once."""

METRIC_DEFINITIONS = [
    ("TTFT", "request sent → first streamed chunk carrying answer content; reasoning content is timed separately."),
    ("End-to-end (E2E)", "request sent → last byte of the response."),
    ("Output speed", "completion tokens ÷ (end-to-end − TTFT), per request; the median is quoted."),
    ("Tokens", "from the provider's usage report; where a provider reports none, a tokenizer estimate "
               "flagged `usage_source = estimated`."),
    ("Cost of a call", "prompt tokens × input price + completion tokens × output price (cached prompt tokens "
                       "at their own price). Self-hosted: $/hour × the call's end-to-end time ÷ requests served "
                       "at once. An unknown price is reported as unknown, never $0."),
    ("$ / 1k tasks", "total cost ÷ items × 1,000; unknown if any call's cost is unknown."),
    ("$ / correct", "total cost ÷ number of correct answers (sum of scores)."),
    ("Accuracy", "mean score in [0, 1] over all items (failed calls score 0); 95% interval: Wilson for binary "
                 "scores, bootstrap otherwise, cluster-robust when items share a cluster id."),
    ("Percentiles", "over successful calls only, with their n."),
    ("Verdict", "good = most accurate; cheap and fast = the cheapest and fastest (E2E p50) models whose accuracy "
                "is not significantly below the best (paired test on the same items, p ≥ 0.05); best value = "
                "lowest cost per correct answer. A model none of whose calls succeeded is left out of every "
                "pick and frontier (its failed calls cost $0 and take no time)."),
]
