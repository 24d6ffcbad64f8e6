"""Redaction: the only form in which a secret leaves the scanner (DESIGN invariant 3).

Every report, log line, annotation and audit record shows `redact(value)`, never the value. The
fingerprint keeps a few leading characters only when the value is long enough that they say which
kind of credential it is (``ghp_``, ``sk-a``) without giving away a meaningful share of it, the
length, and a short SHA-256 so the same secret can be recognised across reports and runs.
"""

from __future__ import annotations

import hashlib

_SHOWABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def secret_digest(value: str) -> str:
    """Full SHA-256 hex of the value: stable ids and dedupe keys (never shown whole)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def baseline_hash(value: str) -> str:
    """The hash detect-secrets stores in a baseline's ``hashed_secret`` (SHA-1 hex)."""
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()


def redact(value: str) -> str:
    """A printable, non-reversible stand-in for a secret: ``ghp_***(40)#1a2b3c4d5e6f``.

    At most one fifth of the value (and never more than 4 characters) is shown, and only
    characters that are safe in every report format; the rest is the length and a 48-bit hash.
    """
    shown = ""
    for ch in value[: min(4, len(value) // 5)]:
        if ch not in _SHOWABLE:
            break
        shown += ch
    return f"{shown}***({len(value)})#{secret_digest(value)[:12]}"


def redact_in(text: str, value: str) -> str:
    """`text` with every occurrence of `value` replaced by its redaction (file names, messages)."""
    return text.replace(value, redact(value)) if value else text
