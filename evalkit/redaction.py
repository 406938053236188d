"""Keeping keys out of everything evalkit writes or prints.

Every key evalkit handles is remembered here, and every message that may reach the store,
a file or the terminal passes through `redact`. Endpoints keep their host and path but
lose credentials written into them (user:password@, ?key=...).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "sig", "auth", "credential")
_USERINFO = re.compile(r"(?<=://)[^/@\s:]+(?::[^/@\s]*)?@")
_KEY_SHAPES = re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|Bearer\s+[A-Za-z0-9._~+/-]{16,})")
_known: set[str] = set()


def remember(value: str | None) -> None:
    if value and len(value) >= 6:
        _known.add(value)


def remember_environment(environ: dict[str, str] = os.environ) -> None:  # type: ignore[assignment]
    """Every variable whose name says it holds a secret."""
    for name, value in environ.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            remember(value)


def remember_url(url: str | None) -> None:
    if not url:
        return
    parts = urlsplit(url)
    remember(parts.password)
    for name, _, value in (item.partition("=") for item in parts.query.split("&") if item):
        if _looks_secret(name):
            remember(value)


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(MASK + "@", text)
    return _KEY_SHAPES.sub(MASK, text)


TEXT_FIELDS = ("response_text", "extracted", "score_detail", "error_message")


def redact_record(record):
    """A call record with every known secret masked in its free-text fields.

    Applied where records leave the runner for the store: a provider or proxy that
    echoes a key back, in an error or an answer, must not put it in the history.
    """
    for name in TEXT_FIELDS:
        value = getattr(record, name)
        if value:
            setattr(record, name, redact(value))
    return record


def redact_url(url: str | None) -> str | None:
    """An endpoint without the credentials written into it."""
    if not url:
        return url
    remember_url(url)
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username or parts.password:
        netloc = f"{MASK}@{netloc}"
    query = "&".join(
        f"{k}={MASK}" if _looks_secret(k) else (f"{k}={v}" if v else k)
        for k, _, v in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


CREDENTIALS_IN_URL = (
    "the URL carries credentials (user:password@), which evalkit does not send: the endpoint's key "
    "goes as a bearer token, never as basic auth; remove user:password@ from the URL and put the key in "
    "an environment variable named by api_key_env"
)
"""Why an endpoint with ``user:password@`` is refused before any call (never with the URL in it)."""


def has_credentials(url: str | None) -> bool:
    """Whether ``url`` has a user name or password written into it."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
        return bool(parts.username or parts.password)
    except ValueError:  # e.g. a port that is not a number: not a credential question
        return False


def has_redactions(url: str | None) -> bool:
    return url is not None and MASK in url


def _looks_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)
