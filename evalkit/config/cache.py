"""Where evalkit keeps what it can rebuild: model weights, quantised variants, task indexes.

One folder for all of it, so that one variable moves it and one `rm -r` clears it:
`$EVALKIT_CACHE`, else `$XDG_CACHE_HOME/evalkit`, else `~/.cache/evalkit`.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """evalkit's cache folder (not created here: each user makes its own subfolder)."""
    if root := os.environ.get("EVALKIT_CACHE"):
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "evalkit"
