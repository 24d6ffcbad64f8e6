"""Escaping untrusted text (paths, messages, branch names, logins) for every output channel.

Anything that came from the change can be hostile: Markdown that renders links or HTML, ANSI
escapes that rewrite a terminal, bidi controls that reorder what a reviewer reads, newlines that
forge a GitHub workflow command. Each channel gets its own escaper; reports call them, always.
"""

from __future__ import annotations

import re

# Bidi embedding/override/isolate controls and other invisible format characters (Trojan Source).
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:@])")


def _visible(ch: str) -> str:
    return f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}"


def plain(text: str) -> str:
    """Terminal/log text: control and invisible characters shown as escapes, newlines as \\n."""
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
    text = _CONTROL.sub(lambda m: _visible(m.group()), text)
    return _INVISIBLE.sub(lambda m: _visible(m.group()), text)


def markdown(text: str) -> str:
    """Markdown/HTML-safe inline text: no live links, HTML, mentions or emphasis from untrusted input."""
    # Backslash escapes do not stop autolinking of bare URLs in every renderer: break the scheme.
    text = plain(text).replace("://", ":\u200b//").replace("www.", "www\u200b.")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # Entities, not backslashes, for HTML: they hold in every renderer, tables included.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Inline code span content: plain text with backticks neutralised (and pipes, for GFM tables)."""
    return plain(text).replace("`", "\u02cb").replace("|", "\\|")


def workflow_data(text: str) -> str:
    """GitHub workflow command message (`::error ...::<data>`)."""
    return plain(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """GitHub workflow command property value (`file=`, `title=`)."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def html(text: str) -> str:
    """HTML/SVG text or attribute value: plain text with `& < > " '` as entities."""
    return (
        plain(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )
