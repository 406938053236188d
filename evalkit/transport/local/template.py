"""The chat template the embedded model's server renders prompts with.

It is data (`evalkit/data/local_chat_template.yaml`, which says where it comes from and why
the GGUF's own is not used): SmolLM2's own template for conversations without tools, and
SmolLM2's function-calling format for those with them, so that an item's `tools` reach the
model and its calls come back as OpenAI `tool_calls`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

TEMPLATE_FILE = "local_chat_template.yaml"


@lru_cache(maxsize=1)
def chat_template() -> str:
    """The Jinja source llama.cpp's server is given as its chat template."""
    import yaml

    text = resources.files("evalkit.data").joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")
    return str(yaml.safe_load(text)["template"])
