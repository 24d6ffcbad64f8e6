"""Trailer parsing: `Key: value` lines anywhere in a commit message body.

Agents' markers are not always in the final trailer block: GitHub's squash merges list each
squashed commit's trailers mid-body, often as bullets. So every body line (not the subject) that
looks like a trailer counts. Keys keep their spelling; compare them with `.lower()`.
"""

from __future__ import annotations

import re

# A trailer key is a token (letters, digits, hyphens), optionally behind a list bullet or quote.
_TRAILER = re.compile(
    r"^[ \t]*(?:[-*+>][ \t]+)?([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)[ \t]*:[ \t]*(\S.*?)[ \t]*$"
)
MAX_MESSAGE_CHARS = 200_000  # a hostile 20 MB message is cut, not parsed forever
MAX_VALUE_CHARS = 500


def parse_trailers(message: str) -> tuple[tuple[str, str], ...]:
    """All `Key: value` lines after the subject line. Never raises."""
    text = message[:MAX_MESSAGE_CHARS]
    lines = text.splitlines()
    out: list[tuple[str, str]] = []
    for line in lines[1:]:
        if len(line) > MAX_VALUE_CHARS + 100:
            continue
        m = _TRAILER.match(line)
        if m:
            key, value = m.group(1), m.group(2)
            if "://" in key or len(key) > 60:
                continue
            out.append((key, value[:MAX_VALUE_CHARS]))
    return tuple(out)


def trailer_values(trailers: tuple[tuple[str, str], ...], key: str) -> list[str]:
    k = key.lower()
    return [v for (tk, v) in trailers if tk.lower() == k]
