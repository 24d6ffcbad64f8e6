"""Identification of a whole change and of a range: the commits' verdicts fused with the actors
the door verified (who pushed, opened, triggered), into one change identity with its evidence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from guard import budget
from guard.autonomy import MAKER_ROLES, highest
from guard.fingerprints import load_fingerprints
from guard.identify import IdentityMemo, identify_actor, identify_approval, identify_commit, kind_of
from guard.model import (
    Actor,
    Change,
    Commit,
    Evidence,
    Identity,
)
from guard.redact import Redactor
from guard.secrets.engine import texts_with_candidates

if TYPE_CHECKING:
    from guard.git.repo import GitRepo
    from guard.policy import Policy


MAX_CHANGE_COMMITS = 50  # change-level evidence lists this many agent commits, then a count


def _points(identity: Identity) -> str:
    if identity.kind in ("agent", "automation"):
        return f"{identity.kind}:{identity.vendor or 'unspecified'}"
    return identity.kind


def _actor_evidence(actor: Actor) -> Evidence:
    value = f"{actor.login} (id {actor.id})" if actor.id else actor.login
    return Evidence(f"actor:{actor.role}", value, actor.source, actor.verified, _points(actor.identity))


def _reason(identity: Identity) -> str:
    """The first piece of evidence behind a verdict, as `signal: value`."""
    for e in identity.evidence:
        if kind_of(e.points_to) == identity.kind:
            return f"{e.signal}: {e.value}"
    return "no usable evidence"


def _change_identity(change: Change, deciding: list[Actor]) -> Identity:
    agent_actors = [a for a in deciding if a.identity.kind == "agent"]
    agent_commits = [c for c in change.commits if c.identity.kind == "agent"]
    if agent_actors or agent_commits:
        vendors = Counter(c.identity.vendor for c in agent_commits if c.identity.vendor)
        vendor = agent_actors[0].identity.vendor if agent_actors else None
        vendor = vendor or (vendors.most_common(1)[0][0] if vendors else None)
        ev = [_actor_evidence(a) for a in agent_actors]
        for c in agent_commits[:MAX_CHANGE_COMMITS]:
            ev.append(
                Evidence(
                    "commit",
                    f"{c.sha[:12]} {_reason(c.identity)}",
                    "commit",
                    c.identity.verified,
                    _points(c.identity),
                )
            )
        if len(agent_commits) > MAX_CHANGE_COMMITS:
            rest = len(agent_commits) - MAX_CHANGE_COMMITS
            ev.append(
                Evidence("commits", f"{rest} more agent commits", "commit", False, "agent:" + (vendor or "?"))
            )
        level = highest(
            [*(a.identity.autonomy for a in agent_actors), *(c.identity.autonomy for c in agent_commits)]
        )
        return Identity("agent", vendor, tuple(ev), level)
    for kind in ("human", "automation"):
        actors = [a for a in deciding if a.identity.kind == kind]
        commits = [c for c in change.commits if c.identity.kind == kind]
        if actors or commits:
            bots = Counter(
                i.vendor or "unspecified"
                for i in [*(a.identity for a in actors), *(c.identity for c in commits)]
            )
            vendor = bots.most_common(1)[0][0] if kind == "automation" else None
            ev = [_actor_evidence(a) for a in actors]
            if commits:
                ev.append(
                    Evidence(
                        "commits",
                        f"{len(commits)} {kind} commit(s), e.g. {commits[0].sha[:12]}",
                        "commit",
                        any(c.identity.verified for c in commits),
                        _points(commits[0].identity),
                    )
                )
            return Identity(kind, vendor, tuple(ev))
    return Identity("unknown")


def identify_change(change: Change, policy: Policy) -> None:
    """Fill the identity of every commit, actor and approval, and of the change as a whole."""
    fp = load_fingerprints(policy)
    for actor in change.actors:
        actor.identity = identify_actor(actor, fp)
    for approval in change.approvals:
        approval.identity = identify_approval(approval, fp)
    # Who pushed / opened / ran it, as the platform vouches (the delegating person is not the maker).
    deciding = [a for a in change.actors if a.verified and a.role != "delegator"]
    for a in deciding:  # an agent account that pushed, opened or ran the change acted on its own
        if a.identity.kind == "agent" and a.role in MAKER_ROLES:
            a.identity = replace(a.identity, autonomy="autonomous")
    agent_actors = [a for a in deciding if a.identity.kind == "agent"]
    memo = IdentityMemo(fp)
    for n, c in enumerate(change.commits):
        if not n & 0xFF:
            budget.check("identifying commits")
        ident = identify_commit(c, fp, change.source_ref, change.description, change.runner, memo)
        extra = [
            _actor_evidence(a)
            for a in deciding
            if (a.identity.kind == "agent" and ident.kind != "agent")
            or (a.identity.kind in ("agent", "automation") and a.identity.label == ident.label)
        ]
        if extra and ident.kind != "agent" and agent_actors:
            # Invariant 2: a human-looking commit pushed or opened by an agent's identity is agent work.
            pushed = highest(a.identity.autonomy for a in agent_actors) or "supervised"
            ident = Identity("agent", agent_actors[0].identity.vendor, (*extra, *ident.evidence), pushed)
        elif extra:
            level = highest([ident.autonomy, *(a.identity.autonomy for a in agent_actors)])
            ident = Identity(
                ident.kind, ident.vendor, (*ident.evidence, *extra), level if ident.kind == "agent" else None
            )
        c.identity = ident
    for c in change.tagged_commits.values():  # a tag's target, new in this change or not
        known = change.commit(c.sha)
        c.identity = (
            known.identity if known is not None else identify_commit(c, fp, change.source_ref, memo=memo)
        )
    change.identity = _change_identity(change, deciding)
    bots = sorted(
        {i.vendor for i in [*(c.identity for c in change.commits), *(a.identity for a in deciding)]
         if i.kind == "unknown" and i.vendor}
    )  # fmt: skip
    if bots:
        change.notes.append(
            f"bot account(s) the catalogue does not know: {', '.join(bots[:5])}; judged as unknown (gated "
            "like an agent on protected changes). Declare each under identity.accounts as automation or agent"
        )


# ----------------------------------------------------------------------------- audit command


def _range_revs(repo: GitRepo, rev_range: str) -> list[str]:
    """`A..B`, `A...B` or a single rev, with every endpoint checked (a clear error, not a git trace)."""
    text = rev_range.strip()
    for sep in ("...", ".."):
        if sep in text:
            left, _, right = text.partition(sep)
            for side in (left, right):
                if side:
                    repo.resolve(side, "revision")
            return [text]
    repo.resolve(text, "revision")
    return [text]


_PERSON_SIGNALS = frozenset({"author", "committer"})


def _quoted_text(c: Commit, ident: Identity) -> str:
    """The whole fields a verdict's evidence quotes from (the redactor learns secrets there):
    the identities, and the message unless only the identities are quoted. Whole fields, so a
    value the evidence cuts short is still learned whole."""
    a, m = c.author, c.committer
    people = (a.name, a.email, m.name, m.email)
    if all(e.signal in _PERSON_SIGNALS for e in ident.evidence):
        return "\n".join(people)
    return "\n".join((c.message, *people))


def identify_range(
    repo: GitRepo,
    rev_range: str,
    policy: Policy,
    progress: Callable[[int], None] | None = None,
    *,
    extra: Sequence[str] = (),
    on_commit: Callable[[Commit, Identity], None] | None = None,
) -> dict[str, Any]:
    """One row per commit in `rev_range` plus counts by kind and vendor, in one `git log` pass.

    `extra`: more `git log` arguments (e.g. `--since=2026-01-01`); `on_commit`: called with each
    commit and its identity (the activity report reads dates and trailers there, no second pass)."""
    fp = load_fingerprints(policy)
    rows: list[dict[str, Any]] = []
    kinds: Counter[str] = Counter()
    vendors: Counter[str] = Counter()
    chunk: list[tuple[Commit, Identity]] = []
    memo = IdentityMemo(fp)

    def flush() -> None:
        # Evidence quotes the commit, cut short: mask the secrets the quoted fields hold. One
        # prefilter pass over a chunk's fields; only commits it flags get a full scan.
        texts = [_quoted_text(c, ident) for c, ident in chunk]
        flagged = set(texts_with_candidates(texts))
        for i, (c, ident) in enumerate(chunk):
            evidence = [e.to_dict() for e in ident.evidence]
            if i in flagged:
                red = Redactor()
                red.learn(texts[i])
                evidence = red.apply(evidence)
            row = {"sha": c.sha, "kind": ident.kind, "vendor": ident.vendor, "autonomy": ident.autonomy}
            rows.append({**row, "evidence": evidence})
            kinds[ident.kind] += 1
            if ident.vendor:
                vendors[ident.vendor] += 1
        chunk.clear()

    for n, c in enumerate(repo.iter_commits(_range_revs(repo, rev_range), extra), 1):
        ident = identify_commit(c, fp, memo=memo)
        if on_commit is not None:
            on_commit(c, ident)
        chunk.append((c, ident))
        if len(chunk) >= 1000:
            flush()
        if progress is not None and n % 1000 == 0:
            progress(n)
    flush()
    if progress is not None:
        progress(len(rows))
    return {
        "commits": rows,
        "summary": {
            "total": len(rows),
            "by_kind": {k: kinds[k] for k in ("agent", "automation", "human", "unknown") if kinds[k]},
            "by_vendor": dict(sorted(vendors.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
    }
