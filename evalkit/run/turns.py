"""Multi-turn tasks: the messages of the next turn, and one task record from its turns.

When a reply to an item with a `ToolEnvironment` calls tools, the runner runs each call
in the environment and asks again with the conversation so far: the model's reply (its
text and calls, as OpenAI's chat format writes an assistant turn) and one ``tool``
message per call with the result. The reasoning that led to the calls goes back with
them as ``reasoning_content``: DeepSeek's thinking mode refuses a tool loop without it
(api-docs.deepseek.com/guides/thinking_mode, "tool calls", read 2026-12-01).

One item is one task, one record: its clocks, tokens and cost are sums over its turns
(each turn priced on its own, so a long last prompt reaches its own price tier), its
error the first failed turn's, its calls every turn's with the results sent back, and
`CallRecord.turn_log` keeps each turn's own figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evalkit.store.records import CallRecord, decode_start_s, output_speed_tps
from evalkit.suites.environment import ToolEnvironment
from evalkit.transport.base import Attempt

SUMMED_CLOCKS = ("ttft_s", "first_token_s", "e2e_s")
"""Clocks a task adds up over its turns (the time a user of the agent waits for each):
unknown for the task when any turn lacks them, or its decoding time would be off."""
SUMMED_WHERE_PRESENT = ("thinking_s", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens",
                        "reasoning_tokens")
"""Figures summed over the turns that have them (a turn without reasoning thought for no time)."""


def tool_round(attempt: Attempt, environment: ToolEnvironment, offered: list[dict[str, Any]] | None,
               turn: int = 1) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages a reply's calls add to the conversation, and the calls with their results
    (`offered`: the tool definitions the item sent, which a call must keep to).

    The assistant message repeats the calls as made (arguments as written, malformed or
    not) so the model sees what it asked; each result is what the environment answers,
    an ``{"error": ...}`` for a call it cannot run."""
    calls = [{"id": call_id, "name": call["name"], "arguments": call["arguments"]}
             for call_id, call in zip(_unique_ids(attempt.tool_calls, turn), attempt.tool_calls)]
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": attempt.text or None,
        "tool_calls": [{"id": call["id"], "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]}} for call in calls],
    }
    if attempt.reasoning:
        # DeepSeek's thinking mode refuses the next turn of a tool loop (HTTP 400) without the
        # reasoning that led to the calls, and Kimi's thinking models expect it; others ignore it
        assistant["reasoning_content"] = attempt.reasoning
    results = [environment.call(call["name"], call["arguments"], offered) for call in calls]
    messages = [assistant, *({"role": "tool", "tool_call_id": call["id"], "content": result}
                             for call, result in zip(calls, results))]
    return messages, [{**call, "result": result} for call, result in zip(calls, results)]


def _unique_ids(calls: list[dict[str, Any]], turn: int) -> list[str]:
    """An id per call, each result's key: the model's own, or ``call_<turn>_<position>``
    where it gave none or repeated one."""
    ids: list[str] = []
    for position, call in enumerate(calls):
        given = call.get("id")
        ids.append(given if given and given not in ids else f"call_{turn}_{position}")
    return ids


def merge_turns(task: CallRecord, turns: Sequence[CallRecord], calls: Sequence[Sequence[dict[str, Any]]]) -> None:
    """Make `task` the record of a task from its turn records (`calls[i]`: turn i's calls with results)."""
    last = turns[-1]
    task.turns = len(turns)
    task.response_text, task.finish_reason = last.response_text, last.finish_reason
    task.error_class, task.error_message = next(
        ((t.error_class, t.error_message) for t in turns if t.error_class is not None), (None, None))
    for name in SUMMED_CLOCKS:
        values = [getattr(t, name) for t in turns]
        setattr(task, name, None if None in values else sum(values))
    for name in SUMMED_WHERE_PRESENT:
        setattr(task, name, _sum(getattr(t, name) for t in turns))
    task.reasoning_ttft_s = turns[0].reasoning_ttft_s
    reasoning = [t.reasoning_text for t in turns if t.reasoning_text]
    task.reasoning_text = "\n\n".join(reasoning) if reasoning else None
    sources = {t.usage_source for t in turns if t.usage_source}
    task.usage_source = "estimated" if "estimated" in sources else sources.pop() if sources else None
    reasoning_sources = {t.reasoning_tokens_source for t in turns if t.reasoning_tokens_source}
    task.reasoning_tokens_source = ("estimated" if "estimated" in reasoning_sources
                                    else reasoning_sources.pop() if reasoning_sources else None)
    costs = [t.cost_usd for t in turns]
    task.cost_usd = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    task.attempts = sum(t.attempts for t in turns)
    task.from_cache = all(t.from_cache for t in turns)
    lags = [t.loop_lag_ms for t in turns if t.loop_lag_ms is not None]
    task.loop_lag_ms = max(lags) if lags else None
    made = [{**call, "turn": number} for number, turn_calls in enumerate(calls, 1) for call in turn_calls]
    task.tool_calls = json.dumps(made, ensure_ascii=False) if made else None
    task.output_speed_tps = output_speed_tps(
        task.completion_tokens, decode_start_s(task.first_token_s, task.ttft_s), task.e2e_s, task.turns)
    task.turn_log = json.dumps([_turn_entry(number, turn, len(turn_calls))
                                for number, (turn, turn_calls) in enumerate(zip(turns, calls), 1)])


def _turn_entry(number: int, turn: CallRecord, calls: int) -> dict[str, Any]:
    return {
        "turn": number, "ttft_s": turn.ttft_s, "first_token_s": turn.first_token_s, "e2e_s": turn.e2e_s,
        "prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens,
        "cached_tokens": turn.cached_tokens, "cost_usd": turn.cost_usd, "tool_calls": calls,
        "finish_reason": turn.finish_reason, "error_class": turn.error_class, "attempts": turn.attempts,
        "from_cache": turn.from_cache,
    }


def _sum(values: Any) -> Any:
    """The sum of the values measured; None when no turn measured it (never a silent 0)."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None
