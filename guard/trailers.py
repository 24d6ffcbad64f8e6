"""Trailer parsing: `Key: value` lines anywhere in a commit message body.

Agents' markers are not always in the final trailer block: GitHub's squash merges list each
squashed commit's trailers mid-body, often as bullets. So every body line (not the subject) that
looks like a trailer counts. Keys keep their spelling; compare them with `.lower()`.
"""

from __future__ import annotations

import re

# A trailer key is a token (letters, digits, hyphens), optionally behind a list bullet or quote.
_TRAILER = re.compile(
    r"^[ \t]*(?:[-*+>][ \t]+)?([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)[ \t]*:[ \t]*(\S[^\n]*?)[ \t]*$",
    re.MULTILINE,
)
# Line breaks str.splitlines() knows besides "\n" (CRLF messages, hostile separators): rare, so a
# message holding one is normalised to "\n" lines before the multiline search.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
MAX_MESSAGE_CHARS = 200_000  # a hostile 20 MB message is cut, not parsed forever
MAX_VALUE_CHARS = 500


def parse_trailers(message: str) -> tuple[tuple[str, str], ...]:
    """All `Key: value` lines after the subject line. Never raises."""
    text = message[:MAX_MESSAGE_CHARS]
    if _OTHER_BREAKS.search(text):
        text = "\n".join(text.splitlines())
    newline = text.find("\n")
    if newline < 0 or text.find(":", newline) < 0:  # no body, or no `Key: value` line in it
        return ()
    out: list[tuple[str, str]] = []
    # One multiline search over the body instead of a match per line (identify reads whole histories).
    for m in _TRAILER.finditer(text, newline + 1):
        if m.end() - m.start() > MAX_VALUE_CHARS + 100:
            continue
        key, value = m.group(1), m.group(2)
        if "://" in key or len(key) > 60:
            continue
        out.append((key, value[:MAX_VALUE_CHARS]))
    return tuple(out)


def trailer_values(trailers: tuple[tuple[str, str], ...], key: str) -> list[str]:
    k = key.lower()
    return [v for (tk, v) in trailers if tk.lower() == k]
