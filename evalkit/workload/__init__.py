"""Workload: a company's own traffic, as a profile read from its production logs.

Stage 4, after the store and before economics. Owns reading request logs (OpenAI-format
chat JSONL, litellm and OpenRouter logs, CSV of token counts) into a `WorkloadProfile`:
the distributions of prompt and completion tokens, the share of prompt that repeats
across requests, requests per hour of day, and, where the user asks, the text itself
(optionally with personal data redacted). Economics prices a profile, suites build
latency and replay suites from it, reports show what it implies.

May import the foundation and the stages below it (config, transport, store).
"""
