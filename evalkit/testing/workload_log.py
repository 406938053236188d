"""A seeded, realistic production log for tests: RAG traffic in English and Chinese.

`generate_log` returns requests in the stored sample format (``messages``, ``response``,
``model``, ``prompt_tokens``, ``completion_tokens``, ``language``) plus ``timestamp``
(unix seconds) and ``cached_tokens``; `write_log` writes them as any format
``evalkit workload import`` reads (``openai-jsonl``, ``litellm``, ``openrouter``, ``csv``).

What the traffic looks like, so tests can rely on it:

- every request is ``[system: one shared system prompt, user: "Reference documents:" + 1
  or 2 retrieved documents, user: a question]``; documents come from a pool of 40 per
  language with Zipf-like popularity, so many requests repeat an earlier request's first
  two messages (the system prompt always, the context often) and differ in the question;
- ``chinese_share`` of requests are Chinese (documents, question and answer; the system
  prompt stays English);
- usage is consistent with the text: prompt and completion tokens are tiktoken
  ``o200k_base`` counts by `evalkit.workload.tokens` (what the importer estimates for a
  line without usage), and ``cached_tokens`` is what OpenAI's prompt cache would report: the
  tokens of the leading messages repeated from an earlier request, in whole 128-token
  blocks, and 0 for prompts under 1,024 tokens;
- timestamps span three days from 2026-11-02 00:00 UTC with a daily cycle (busiest around
  14:00 UTC, quietest around 02:00), in increasing order;
- models: 90% ``gpt-4.1-mini``, 10% ``gpt-4.1``.
"""

from __future__ import annotations

import csv
import json
import math
import random
from datetime import datetime, timezone
from pathlib import Path

from evalkit.workload import tokens

START = datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp()
DAYS = 3
DOCS_PER_LANGUAGE = 40
CACHE_MIN_PROMPT = 1024
CACHE_BLOCK = 128
FORMATS = ("openai-jsonl", "litellm", "openrouter", "csv")

SYSTEM_PROMPT = (
    "You are the support assistant of Northwind Logistics. Answer the customer's question using only the "
    "reference documents provided in the conversation. If the documents do not contain the answer, say so "
    "plainly and suggest contacting a human agent. Quote order numbers, dates and amounts exactly as they "
    "appear. Keep answers short and concrete: a direct answer first, then at most three supporting points. "
    "Never invent policies, prices or delivery dates. Reply in the language of the question."
)

_EN_SUBJECTS = ["The shipment", "Each parcel", "The customer", "Our warehouse", "The carrier", "A return request",
                "The invoice", "Express delivery", "The tracking page", "A damaged item", "The refund", "Customs"]
_EN_VERBS = ["is processed", "must be confirmed", "can be rescheduled", "is inspected", "is charged",
             "will be delayed", "is released", "is covered", "is logged", "gets priority"]
_EN_TAILS = ["within two business days", "after the signature is recorded", "unless the customer objects",
             "according to the regional policy", "before the cut-off at 17:00", "when the label is scanned",
             "at no extra cost", "for orders above 200 euros", "by the local depot", "once payment clears"]
_EN_QUESTIONS = ["How long does a refund take?", "Can I change the delivery address?", "Why is my parcel delayed?",
                 "What happens if the item arrives damaged?", "Do you ship to Norway?",
                 "How do I return a product bought on sale?", "Who pays the customs fees?",
                 "Can I pick up the parcel at the depot?", "Is express delivery available on weekends?"]
_ZH_SUBJECTS = ["包裹", "退款申请", "客户", "仓库", "快递公司", "发票", "加急配送", "物流信息", "损坏的商品", "海关"]
_ZH_VERBS = ["会被处理", "需要确认", "可以改期", "将被检查", "会产生费用", "可能延迟", "会被放行", "由保险承担"]
_ZH_TAILS = ["在两个工作日内", "在签收记录之后", "除非客户提出异议", "按照地区政策", "在下午五点截止之前",
             "扫描标签之后", "不收取额外费用", "订单金额超过两百元时", "由当地网点负责", "付款确认以后"]
_ZH_QUESTIONS = ["退款需要多长时间？", "我可以修改收货地址吗？", "为什么我的包裹延迟了？", "商品到货时损坏怎么办？",
                 "你们能寄到新疆吗？", "打折商品可以退货吗？", "关税由谁支付？", "我可以去网点自取包裹吗？"]


def _sentence(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return rng.choice(_ZH_SUBJECTS) + rng.choice(_ZH_TAILS) + rng.choice(_ZH_VERBS) + "。"
    return f"{rng.choice(_EN_SUBJECTS)} {rng.choice(_EN_VERBS)} {rng.choice(_EN_TAILS)}."


def _text(rng: random.Random, chinese: bool, sentences: int) -> str:
    return ("" if chinese else " ").join(_sentence(rng, chinese) for _ in range(sentences))


def _documents(rng: random.Random, chinese: bool) -> list[str]:
    label = "文档" if chinese else "Document"
    return [f"[{label} {index + 1}] " + _text(rng, chinese, rng.randint(15, 160)) for index in range(DOCS_PER_LANGUAGE)]


def _hour_weights() -> list[float]:
    # A daily cycle: a sine over the day, peaking at 14:00 UTC, never quite zero at night.
    return [1.1 + math.cos(2 * math.pi * (hour - 14) / 24) for hour in range(24)]


def _timestamps(rng: random.Random, n: int) -> list[float]:
    hours = rng.choices(range(24), weights=_hour_weights(), k=n)
    return sorted(START + rng.randrange(DAYS) * 86400 + hour * 3600 + rng.uniform(0, 3600) for hour in hours)


def _cached(messages: list[dict], seen: set[tuple[str, ...]], prompt_tokens: int) -> int:
    """What OpenAI's prompt cache would report: repeated leading messages, in 128-token blocks."""
    repeated = 0
    prefix: tuple[str, ...] = ()
    for message in messages:
        prefix = (*prefix, message["role"] + "\0" + message["content"])
        if prefix not in seen:
            break
        repeated += tokens.count_message(message)
    for end in range(1, len(messages) + 1):
        seen.add(tuple(m["role"] + "\0" + m["content"] for m in messages[:end]))
    if prompt_tokens < CACHE_MIN_PROMPT:
        return 0
    return repeated // CACHE_BLOCK * CACHE_BLOCK


def generate_log(n: int = 2000, seed: int = 0, chinese_share: float = 0.3) -> list[dict]:
    """``n`` requests of seeded RAG traffic, in time order (see the module docstring)."""
    rng = random.Random(seed)
    pools = {False: _documents(rng, False), True: _documents(rng, True)}
    popularity = [1 / (rank + 1) for rank in range(DOCS_PER_LANGUAGE)]
    seen: set[tuple[str, ...]] = set()
    entries = []
    for timestamp in _timestamps(rng, n):
        chinese = rng.random() < chinese_share
        docs = rng.choices(pools[chinese], weights=popularity, k=rng.choice((1, 1, 2)))
        heading = "参考文档：" if chinese else "Reference documents:"
        messages = [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": heading + "\n\n" + "\n\n".join(docs)},
                    {"role": "user", "content": rng.choice(_ZH_QUESTIONS if chinese else _EN_QUESTIONS)}]
        answer = _text(rng, chinese, rng.randint(2, 25))
        prompt_tokens = tokens.count_messages(messages)
        entries.append({
            "messages": messages, "response": answer,
            "model": "gpt-4.1" if rng.random() < 0.1 else "gpt-4.1-mini",
            "prompt_tokens": prompt_tokens, "completion_tokens": tokens.count_text(answer),
            "language": "zh" if chinese else "en", "timestamp": round(timestamp, 3),
            "cached_tokens": _cached(messages, seen, prompt_tokens),
        })
    return entries


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat().replace("+00:00", "Z")


def _usage(entry: dict) -> dict | None:
    if entry.get("prompt_tokens") is None:
        return None
    usage = {"prompt_tokens": entry["prompt_tokens"], "completion_tokens": entry["completion_tokens"],
             "total_tokens": entry["prompt_tokens"] + entry["completion_tokens"]}
    if entry.get("cached_tokens") is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": entry["cached_tokens"]}
    return usage


def _chat_completion(entry: dict, index: int) -> dict:
    response = {"id": f"chatcmpl-{index:06d}", "object": "chat.completion", "created": int(entry["timestamp"]),
                "model": entry["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": entry["response"]}}]}
    usage = _usage(entry)
    if usage is not None:
        response["usage"] = usage
    return response


def _openai_line(entry: dict, index: int) -> dict:
    """The nesting gateways log: the request body, the response body, and when."""
    return {"timestamp": _iso(entry["timestamp"]),
            "request": {"model": entry["model"], "messages": entry["messages"]},
            "response": _chat_completion(entry, index)}


def _litellm_line(entry: dict, index: int) -> dict:
    """A success StandardLoggingPayload, with the fields the importer reads (litellm 1.110)."""
    usage = _usage(entry) or {}
    return {"id": f"chatcmpl-{index:06d}", "call_type": "acompletion", "status": "success",
            "custom_llm_provider": "openai", "model": entry["model"],
            "startTime": entry["timestamp"], "endTime": entry["timestamp"] + 1.5,
            "completionStartTime": entry["timestamp"] + 0.4,
            "prompt_tokens": usage.get("prompt_tokens", 0), "completion_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0), "messages": entry["messages"],
            "response": _chat_completion(entry, index), "metadata": {"usage_object": usage or None},
            "cache_hit": None, "response_cost": 0.0}


def _openrouter_line(entry: dict, index: int) -> dict:
    """A generation record as OpenRouter's /api/v1/generation returns one (its ``data``)."""
    return {"id": f"gen-{index:06d}", "model": f"openai/{entry['model']}", "created_at": _iso(entry["timestamp"]),
            "tokens_prompt": entry["prompt_tokens"], "tokens_completion": entry["completion_tokens"],
            "native_tokens_prompt": entry["prompt_tokens"], "native_tokens_completion": entry["completion_tokens"],
            "native_tokens_cached": entry.get("cached_tokens") or 0, "finish_reason": "stop",
            "streamed": True, "provider_name": "OpenAI", "total_cost": 0.0}


def write_log(path: str | Path, entries: list[dict], fmt: str) -> Path:
    """Write ``entries`` to ``path`` as ``fmt`` (one of `FORMATS`); returns the path."""
    path = Path(path)
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "model", "prompt_tokens", "completion_tokens", "cached_tokens"])
            for entry in entries:
                writer.writerow([_iso(entry["timestamp"]), entry["model"], entry["prompt_tokens"],
                                 entry["completion_tokens"], entry.get("cached_tokens", "")])
        return path
    line = {"openai-jsonl": _openai_line, "litellm": _litellm_line, "openrouter": _openrouter_line}.get(fmt)
    if line is None:
        raise ValueError(f"unknown log format {fmt!r}; one of {', '.join(FORMATS)}")
    with path.open("w", encoding="utf-8") as handle:
        for index, entry in enumerate(entries):
            handle.write(json.dumps(line(entry, index), ensure_ascii=False) + "\n")
    return path
