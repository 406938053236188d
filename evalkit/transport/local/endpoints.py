"""Local model ids to running endpoints: the one place a command starts its embedded servers.

A run (`evalkit compare`) and a capacity sweep (`evalkit capacity`) both name local models as
`local/<variant>` and need, for each, a server started for as long as they send, with the
machine's cores shared out among the servers and as many llama.cpp slots as the caller sends
at once, reached as an OpenAI-compatible model at a loopback base URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from evalkit.config.models import LOCAL_PREFIX
from evalkit.transport.local.server import LocalServer, threads_per_server

LOCAL_API_KEY = "local"
"""The key sent to an embedded server: it takes any, and litellm wants one."""


class LocalModel(NamedTuple):
    """One server to start."""

    label: str
    """The caller's name for it (a run's model label); the endpoints are keyed by it."""
    model_id: str
    """`local/<variant>`, as a config or the command line names it."""
    slots: int
    """Requests the caller sends it at once: one llama.cpp slot each, so none waits queued."""


@dataclass(frozen=True)
class LocalEndpoint:
    """A running embedded server, as a transport reaches it."""

    model_id: str
    """The OpenAI-compatible id that reaches it, `openai/<variant>`."""
    api_base: str
    server: LocalServer = field(repr=False)
    api_key: str = LOCAL_API_KEY

    def died(self) -> str | None:
        """Why its server stopped, in one line, or None while it runs."""
        return self.server.died()


@contextlib.contextmanager
def serving(models: Iterable[LocalModel]) -> Iterator[dict[str, LocalEndpoint]]:
    """Start a server per local model (the cores split evenly among them), yield their
    endpoints by label, and stop every server on leaving, on an error or an interrupt too."""
    models = list(models)
    threads = threads_per_server(len(models))
    with contextlib.ExitStack() as stack:
        endpoints = {}
        for model in models:
            server = LocalServer(model.model_id.removeprefix(LOCAL_PREFIX), n_threads=threads, slots=model.slots)
            stack.enter_context(server)
            endpoints[model.label] = LocalEndpoint(server.litellm_model, server.base_url, server)
        yield endpoints
