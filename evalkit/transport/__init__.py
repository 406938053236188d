"""Transport, stage 2: sending one streamed chat completion and timing it.

Owns the call contract (`Request`, `Attempt`, `CallError`, the `Transport` protocol, in
`base`), the transports that implement it and the dispatch below, which sends each call
through the transport that handles its model. Built in:

* `fast_path` (`fast`): OpenAI-compatible providers, one aiohttp POST and a small
  server-sent-event parser, in the caller's event loop;
* `worker` (`litellm`): every other provider, through litellm (`litellm`, the only
  module that imports it) in a worker process per model;
* `model_map` and `tokens`: litellm's price map, provider names and aliases read as data,
  and tiktoken's counts for OpenAI's models, without importing litellm;
* `local/`: the embedded llama.cpp servers, reached on the fast path;
* `lag`: the event-loop lag monitor that says whether a measured time is the endpoint's.

Which provider takes which built-in route is data (`evalkit.config.routes`). A new
transport is one module: a class that implements `Transport`, registered with
`register(...)` when the module is imported; it is asked before those registered earlier.

May import the foundation (`evalkit.errors`, `evalkit.redaction`, `evalkit.data`) and
`evalkit.config`. Importing this package imports neither litellm nor aiohttp.
"""

from __future__ import annotations

import asyncio

from evalkit.transport import fast_path, worker  # noqa: F401  (each registers its transport)
from evalkit.transport.base import (
    NEVER_RETRIED,
    UNFINISHED_THINKING,
    Attempt,
    CallError,
    Endpoint,
    Request,
    Transport,
    register,
    registered,
    transport_for,
    unregister,
)
from evalkit.transport.litellm import missing_keys
from evalkit.transport.model_map import (
    known_chat_models,
    model_called,
    price_map_entry,
    price_map_version,
    provider_of,
)
from evalkit.transport.tokens import count_tokens

__all__ = [
    "NEVER_RETRIED",
    "UNFINISHED_THINKING",
    "Attempt",
    "CallError",
    "Endpoint",
    "Request",
    "Transport",
    "close_clients",
    "complete",
    "count_tokens",
    "known_chat_models",
    "missing_keys",
    "model_called",
    "price_map_entry",
    "price_map_version",
    "provider_of",
    "register",
    "registered",
    "transport_for",
    "unregister",
    "uses_fast_path",
    "warm_up",
]


def uses_fast_path(model_id: str) -> bool:
    """Whether calls to this model take the fast path: decided by its provider, not by
    whether an api_base is set (`evalkit/data/routes.yaml`)."""
    return transport_for(model_id) is fast_path.TRANSPORT


async def complete(request: Request) -> Attempt:
    """Send one streamed chat completion and time it; raise `CallError` on any failure."""
    return await transport_for(request.model_id).complete(request)


async def warm_up(endpoints: set[Endpoint]) -> None:
    """Load what the first calls need before the clock starts: (model id, api_base, key) each.

    The first real call otherwise pays seconds of imports inside its TTFT: the fast path
    makes its shared session, every litellm-routed model gets its worker started, ready once
    it has imported litellm and walked through a mocked call.
    """
    by_transport: dict[str, tuple[Transport, set[Endpoint]]] = {}
    for endpoint in endpoints:
        chosen = transport_for(endpoint[0])
        by_transport.setdefault(chosen.name, (chosen, set()))[1].add(endpoint)
    await asyncio.gather(*(chosen.warm_up(its_endpoints) for chosen, its_endpoints in by_transport.values()))


async def close_clients() -> None:
    """Close what this event loop's calls opened, in every registered transport (connections
    and litellm workers belong to the loop they were made on)."""
    for each in registered():
        await each.close()
