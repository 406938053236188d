"""evalkit's own data files (prices, routes, model facts, providers), and how they are parsed.

`load` reads one of them with libyaml's parser where PyYAML was built with it (it is, in
every wheel PyYAML ships): five to ten times faster than the pure-Python parser, which was a
quarter of a second of every `evalkit compare` before its first request. A user's own YAML
(configs, price files) is read by `evalkit.config.models.read_yaml`, which keeps its lines.
"""

from __future__ import annotations

from importlib import resources
from typing import Any


def load(name: str) -> Any:
    """The parsed contents of `evalkit/data/<name>` (a YAML file shipped with evalkit)."""
    import yaml

    text = resources.files("evalkit.data").joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
