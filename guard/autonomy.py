"""How autonomous an agent was, from the evidence that made a commit or change agent work.

- `autonomous`: an agent account authored and committed or pushed (verified actors: the pusher,
  the PR/MR author, the run's actor), or the commit carries a cloud agent's session or task link;
- `supervised`: an agent authored (its author identity, its generated-by footer, its branch, its
  runtime) while a person committed or pushed;
- `assisted`: a person authored, and only an AI co-author or assistance trailer names an agent.

The level only ever rises with more evidence (`highest`). It is claimed like the evidence it comes
from, except where a verified actor raised it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from guard.model import Autonomy, Evidence

LEVELS: tuple[Autonomy, ...] = ("assisted", "supervised", "autonomous")
# Roles of verified actors that made the change (not reviewers, not the delegating person).
MAKER_ROLES = {
    "pusher",
    "sender",
    "run-actor",
    "triggering-actor",
    "pr-author",
    "pipeline-user",
    "unknown-pusher",
}
_SESSION_URL = re.compile(r"(?i)/sessions?/|/tasks?/|\btask_|bcId=|/agents/bc-")
_SESSION_TRAILER = re.compile(r"^trailer:(?:[a-z0-9-]+-session|agent-logs-url)$")
_ASSISTING = re.compile(
    r"^trailer:(?:co-authored-by|made-with|assisted-by|generated-by|ai-[a-z-]+|coding-agent)$"
)


def highest(levels: Iterable[Autonomy | None]) -> Autonomy | None:
    known = [lv for lv in levels if lv is not None]
    return max(known, key=LEVELS.index) if known else None


def evidence_level(e: Evidence) -> Autonomy:
    if _SESSION_TRAILER.match(e.signal) or (e.signal in ("body", "pr-body") and _SESSION_URL.search(e.value)):
        return "autonomous"
    if e.signal.startswith("actor:") and e.signal.removeprefix("actor:") in MAKER_ROLES and e.verified:
        return "autonomous"
    if _ASSISTING.match(e.signal):
        return "assisted"
    return "supervised"


def commit_level(evidence: Iterable[Evidence]) -> Autonomy | None:
    """The level of a commit's agent evidence; an agent author that also committed is autonomous."""
    agent = [e for e in evidence if e.points_to.startswith("agent")]
    if not agent:
        return None
    signals = {e.signal for e in agent}
    if {"author", "committer"} <= signals:
        return "autonomous"
    return highest(evidence_level(e) for e in agent)
