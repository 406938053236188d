"""The metric definitions every report states, worded once."""

METRIC_DEFINITIONS = [
    ("TTFT", "request sent → first streamed chunk carrying answer content; reasoning (its own field, or between "
             "<think> tags) does not count."),
    ("First token", "request sent → first streamed chunk carrying any token, reasoning included; equal to TTFT "
                    "for a reply without reasoning."),
    ("Thinking time", "first reasoning token → first answer token (→ end of the response when no answer came); "
                      "n/a for a model that does not stream its reasoning."),
    ("Thinking tokens", "the provider's reasoning_tokens, else a tokenizer count of the reasoning text (≈); per "
                        "item: ÷ the replies; per correct: ÷ the correct answers. Part of the completion tokens."),
    ("Truncated", "replies stopped by max_tokens (finish_reason length); 'no answer': still thinking when cut. "
                  "The suggested max_tokens: at least twice the one used, and 1.25 × the p95 of the completion "
                  "tokens of the replies that finished, rounded up to a multiple of 256."),
    ("End-to-end (E2E)", "request sent → last byte of the response."),
    ("Output speed", "(completion tokens − 1) ÷ (end-to-end − TTFT), per request: the first token arrives inside "
                     "TTFT (for a reply with reasoning: its first token of any kind). n/a for a one-token reply "
                     "or one with no time between its first and last token; the "
                     "median is over the requests that have one, and says how many (n)."),
    ("ITL (inter-token latency)", "(end-to-end − TTFT) ÷ (completion tokens − 1), per request: the mean gap "
                                  "between its tokens; n/a by the same rule; the median is over the same requests "
                                  "as the output speed's."),
    ("Multi-turn task", "an item whose tools evalkit runs between turns: one record, its TTFT, E2E, tokens and "
                        "cost the sums over its turns (each turn priced on its own); output speed (completion "
                        "tokens − turns) ÷ (E2E − TTFT)."),
    ("Tokens", "from the provider's usage report; where a provider reports none, a tokenizer estimate "
               "flagged `usage_source = estimated`."),
    ("Cost of a call", "prompt tokens × input price + completion tokens × output price (cached prompt tokens "
                       "at their own price). Self-hosted: $/hour × the call's end-to-end time ÷ requests served "
                       "at once. An unknown price is reported as unknown, never $0. ≈ before a cost: it rests on "
                       "token counts evalkit estimated because the provider reported no usage."),
    ("$ / 1k tasks", "total cost ÷ items × 1,000; unknown if any call's cost is unknown."),
    ("$ / correct", "total cost ÷ number of correct answers (sum of scores)."),
    ("Accuracy", "mean score in [0, 1] over all items (failed calls score 0); 95% interval: Wilson for binary "
                 "scores, bootstrap otherwise, cluster-robust when items share a cluster id."),
    ("Paired differences", "two models on the same items: exact McNemar test for independent 0/1 scores; "
                           "otherwise a sign-flip permutation test on the per-cluster (or per-item, with its "
                           "epochs) sums of differences, exact over every sign pattern up to 16 clusters, which "
                           "stays valid with few clusters; its 95% interval holds the differences it does not "
                           "reject. Fewer than 20 clusters are flagged: only large differences can then be "
                           "significant (none with 5 or fewer)."),
    ("Percentiles", "over successful calls only, with their n."),
    ("Verdict", "good = most accurate; cheap and fast = the cheapest and fastest (E2E p50) models whose accuracy "
                "is not significantly below the best (paired test on the same items, p ≥ 0.05); best value = "
                "lowest cost per correct answer. A model none of whose calls succeeded is left out of every "
                "pick and frontier (its failed calls cost $0 and take no time)."),
]
