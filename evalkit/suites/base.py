"""`Sample`, the unit of work every suite produces and every scorer checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalkit.suites.environment import ToolEnvironment


@dataclass(frozen=True)
class Sample:
    """One item of a suite: what to send, and how to check the answer."""

    id: str
    """Stable within its suite: the same seed and parameters give the same ids."""
    suite: str
    """Name of the suite that produced it (e.g. ``arithmetic`` or ``arithmetic-zh``)."""
    messages: tuple[dict[str, Any], ...]
    """Chat messages sent as they are: ``({"role": "user", "content": "..."},)``."""
    reference: Any
    """Ground truth in the form the scorer expects (number, string, label, dict of fields, ...)."""
    scorer: str
    """Name of a registered scorer (`evalkit.scoring.scorers`)."""
    scorer_options: dict[str, Any] = field(default_factory=dict)
    """Keyword options for the scorer (tolerance, choices, pattern, ...)."""
    cluster: str | None = None
    """Items sharing a cluster id are correlated (same template, same document)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Free facts for reports: difficulty, language, template."""
    params: dict[str, Any] = field(default_factory=dict)
    """Request parameters this item needs (an lm-eval task's ``stop`` and ``max_tokens``);
    a model's own configured params win over them. Part of the request hash when set."""
    environment: ToolEnvironment | None = None
    """For a multi-turn task: the tools evalkit runs when the model calls one (the
    definitions offered are ``params["tools"]``). None for a single call."""

    @property
    def billed_prompt_text(self) -> str:
        """The text a provider bills as the prompt, for counting it where usage is not
        reported (and before any call): the messages and the tool definitions offered."""
        return billed_prompt_text(self.messages, self.params.get("tools"))

    @property
    def prompt_text(self) -> str:
        """The content of the last user message, for reports."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content", ""))
        return ""


def billed_prompt_text(messages: tuple[dict[str, Any], ...], tools: list[dict[str, Any]] | None) -> str:
    """The text of a request a provider bills as its prompt: every message's content (a
    multi-turn task's calls and tool results included) and the tool definitions offered."""
    parts = []
    for message in messages:
        parts.append(str(message.get("content") or ""))
        if message.get("reasoning_content"):  # a thinking model's reasoning, sent back with its calls
            parts.append(str(message["reasoning_content"]))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            parts.append(str(function.get("name", "")) + str(function.get("arguments", "")))
    text = "\n".join(parts)
    return text + "\n" + json.dumps(tools, ensure_ascii=False) if tools else text
