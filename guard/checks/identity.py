"""Identity rules: findings about *who* made a change, not what it touches.

Categories (docs/identification.md):
- `unverified-actor`: nothing about who pushed/opened/ran the change is vouched for by a platform
  (a local range, a plain pre-receive push with no pusher variable): only claimed git metadata.
- `claimed-bot`: a commit claims an automation identity (author `dependabot[bot]`...) and no verified
  actor confirms it; such a claim would otherwise exempt the commit from agent rules.
- `spoofed-human`: a person-looking author on a commit carrying agent markers (trailers, generated
  body lines, branch) - a squash merge of agent work, or an agent hiding behind a person.
- `agent-push`: commits whose own metadata looks human, pushed or opened by a verified agent identity.

With `paths`/`groups` in the match block, a rule fires only for changes touching those paths, and
names the first such path: "require verified identity for protected paths".
"""

from __future__ import annotations

from guard.checks.interface import CheckContext
from guard.globs import path_matcher
from guard.model import Change, Commit, Finding, finding_id
from guard.policy import IdentityMatch, Rule

CATEGORIES = ("unverified-actor", "claimed-bot", "spoofed-human", "agent-push")
_MESSAGES = {
    "unverified-actor": "Nothing about who made this change is verified by a platform; only git metadata.",
    "claimed-bot": "The commit claims an automation identity that no verified actor confirms.",
    "spoofed-human": "The commit's author looks like a person but the commit carries agent markers.",
    "agent-push": "Human-looking commits were pushed or opened by a verified agent identity.",
}


def _touched(change: Change, patterns: tuple[str, ...], case_insensitive: bool) -> str | None:
    """The first changed path (old or new side) under the patterns; None when nothing matches."""
    hit = path_matcher(patterns, case_insensitive)
    for f in change.files or [f for c in change.commits for f in c.files]:
        for p in f.paths:
            if hit(p):
                return p
    return None


def _finding(
    rule: Rule,
    category: str,
    detail: str,
    *,
    commit: Commit | None,
    path: str | None,
    commits: tuple[str, ...] = (),
) -> Finding:
    base = rule.message or _MESSAGES[category]
    return Finding(
        rule=rule.id,
        kind="identity",
        action=rule.action,
        message=f"{base} {detail}".strip(),
        path=path,
        commit=commit.sha if commit else None,
        commits=commits or ((commit.sha,) if commit else ()),
        category=category,
        id=finding_id("identity", rule.id, category, f"{commit.sha if commit else ''}\0{path or ''}"),
        confidence="medium" if category == "spoofed-human" else "high",
    )


def _agent_signals(commit: Commit) -> tuple[list[str], list[str]]:
    """(signals from the commit's own text, signals from verified actors) pointing to an agent."""
    own: list[str] = []
    actor: list[str] = []
    for e in commit.identity.evidence:
        if not e.points_to.startswith("agent:"):
            continue
        (actor if e.signal.startswith("actor:") else own).append(e.signal)
    return own, actor


def check(ctx: CheckContext, rule: Rule) -> list[Finding]:
    change, policy = ctx.change, ctx.policy
    from guard.fingerprints import load_fingerprints
    from guard.identify import looks_like_person

    m: IdentityMatch = rule.matcher()
    wanted = set(m.categories) or set(CATEGORIES)
    patterns = tuple(m.paths) + tuple(policy.group_paths(m.groups))
    path = _touched(change, patterns, m.case_insensitive) if patterns else None
    if patterns and path is None:
        return []
    fp = load_fingerprints(policy)
    out: list[Finding] = []
    if "unverified-actor" in wanted and not any(a.verified for a in change.actors) and change.commits:
        commits = change.commits_touching(path) if path else tuple(c.sha for c in change.commits)
        where = f" ({change.door} door; touches {path})" if path else f" ({change.door} door)"
        out.append(_finding(rule, "unverified-actor", where.strip(), commit=None, path=path, commits=commits))
    for c in change.commits:
        ident = c.identity
        if "claimed-bot" in wanted and ident.kind == "automation" and not ident.verified:
            out.append(
                _finding(
                    rule, "claimed-bot", f"Claimed: {c.author.name} <{c.author.email}>.", commit=c, path=path
                )
            )
        if ident.kind != "agent":
            continue
        own, actor = _agent_signals(c)
        author_is_agent = any(s in ("author", "committer") for s in own)
        if "spoofed-human" in wanted and own and not author_is_agent and looks_like_person(fp, c.author):
            out.append(
                _finding(
                    rule,
                    "spoofed-human",
                    f"Author {c.author.name} <{c.author.email}>; markers: {', '.join(own)}.",
                    commit=c,
                    path=path,
                )
            )
        if "agent-push" in wanted and actor and not own:
            out.append(_finding(rule, "agent-push", f"Agent: {ident.label}.", commit=c, path=path))
    return out
