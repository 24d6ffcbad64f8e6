"""The `identify` command's text output (its JSON is the result dict itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guard.identify import kind_of

if TYPE_CHECKING:
    pass


def _clean(text: str) -> str:
    """Untrusted text on one terminal line: no control characters, bounded length."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:120]


def render_identify_text(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for row in result["commits"]:
        label = f"{row['kind']}:{row['vendor']}" if row["vendor"] else row["kind"]
        label += f" ({row['autonomy']})" if row.get("autonomy") else ""
        kind = row["kind"]
        why = next((e for e in row["evidence"] if kind_of(e["points_to"]) == kind), None)
        reason = f"{why['signal']}: {why['value']}" if why else ""
        lines.append(f"{row['sha'][:12]}  {label:<28} {_clean(reason)}".rstrip())
    s = result["summary"]
    lines.append("")
    kinds = ", ".join(f"{k} {v}" for k, v in s["by_kind"].items()) or "none"
    lines.append(f"{s['total']} commits: {kinds}")
    if s["by_vendor"]:
        lines.append("by vendor: " + ", ".join(f"{k} {v}" for k, v in s["by_vendor"].items()))
    return "\n".join(lines) + "\n"
