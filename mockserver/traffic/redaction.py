"""Keeping API keys out of everything vidmock writes down about traffic to a real service.

A proxy sees real keys: in ``Authorization`` headers, in authentication tasks' ``apiKey``, and in
URLs users put secrets in (a ``webhookURL`` with ``?token=...``). Recordings, the journal and logs
get copies made here: those fields replaced by ``<redacted>``, and every literal occurrence of a
key the copy is told about replaced too, wherever it hides. A key's *namespace* in a proxy is a
fingerprint of it (``key-1a2b...``), never the key itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-vidmock-control-token"})
SECRET_QUERY_NAME = re.compile(r"key|token|secret|sig|auth|pass|credential|session", re.IGNORECASE)
SECRET_FIELDS = frozenset({"apiKey"})
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def key_fingerprint(key: str) -> str:
    """The namespace a proxied key's traffic is filed under: stable, and useless as a key."""
    return "key-" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:12]


def redact_url(url: str) -> str:
    """``url`` with the values of its secret-looking query parameters (``apiKey``, ``token``,
    ``X-Amz-Signature``...) and any user:password replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(name, REDACTED if SECRET_QUERY_NAME.search(name) else value) for name, value in pairs],
                          safe="<>")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON copy with ``apiKey`` fields, secret URL parameters and the literal ``secrets`` redacted."""
    literals = tuple(secret for secret in secrets if secret)
    return _redact(value, literals)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, Mapping):
        return {key: (REDACTED if key in SECRET_FIELDS and isinstance(item, str) else _redact(item, secrets))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, str):
        if _URL.match(value) and ("?" in value or "@" in value):
            value = redact_url(value)
        for secret in secrets:
            value = value.replace(secret, REDACTED)
    return value


def redact_headers(headers: Iterable[tuple[str, str]], secrets: Iterable[str] = ()) -> dict[str, str]:
    literals = tuple(secret for secret in secrets if secret)
    return {name: REDACTED if name.lower() in SECRET_HEADERS else _redact(value, literals) for name, value in headers}
