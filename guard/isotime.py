"""ISO 8601 times as the platforms' APIs give them ("2026-12-06T18:45:10Z"), read one way."""

from __future__ import annotations

from datetime import datetime


def parse_time(text: object) -> datetime | None:
    """An aware datetime; None for anything else, a naive time included (it cannot be compared
    safely with another platform's clock)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def unix_time(text: object) -> float:
    """An ISO time as a unix time; 0 (the epoch: already expired, always older) when unreadable."""
    t = parse_time(text)
    return t.timestamp() if t is not None else 0.0
