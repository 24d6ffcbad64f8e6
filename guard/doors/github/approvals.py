"""Step-up evidence from GitHub's own JSON (reviews, issue timeline, PR commits): no HTTP here.

The door gathers; the engine (guard/approvals.py) judges. These functions only translate what
GitHub recorded into `Approval`s and delegator `Actor`s, keeping every fact the judgement needs:
the head a review or label was given on, who gave it and their account type. Anything we cannot
bind to a head stays unbound, so the engine rejects it rather than guessing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from guard.approvals import break_glass_request
from guard.model import Actor, Approval, Change, FileChange

SOURCE_REVIEWS = "github-api:reviews"
SOURCE_TIMELINE = "github-api:timeline"


def _user(obj: Any) -> tuple[str, str | None, str | None] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("login"), str):
        return None
    uid = obj.get("id")
    return obj["login"], str(uid) if uid is not None else None, obj.get("type")


def review_approvals(reviews: Iterable[Any]) -> list[Approval]:
    """Each reviewer's latest decisive review, when it approves (a later change request cancels it)."""
    latest: dict[str, dict[str, Any]] = {}
    for r in reviews:
        if not isinstance(r, dict) or _user(r.get("user")) is None:
            continue
        state = str(r.get("state", "")).upper()
        if state in ("COMMENTED", "PENDING"):
            continue  # comments neither grant nor revoke
        latest[r["user"]["login"].lower()] = r
    out: list[Approval] = []
    for r in latest.values():
        if str(r.get("state", "")).upper() != "APPROVED":
            continue
        login, uid, kind = _user(r["user"]) or ("", None, None)
        commit = r.get("commit_id")
        out.append(
            Approval(
                approver=login,
                kind="review",
                source=SOURCE_REVIEWS,
                head_sha=commit if isinstance(commit, str) else None,
                approver_id=uid,
                approver_type=kind,
                at=r.get("submitted_at"),
            )
        )
    return out


@dataclass
class TimelineEvidence:
    approvals: list[Approval] = field(default_factory=list)
    delegators: list[Actor] = field(default_factory=list)
    retargeted_at: str | None = None  # the latest base change, when the PR was retargeted


def timeline_evidence(
    timeline: Iterable[Any],
    labels: set[str],
    break_glass_label: str | None,
    is_agent: Callable[[str, str | None, str | None], bool],
) -> TimelineEvidence:
    """Labels still applied, each bound to the head that was current when it was applied.

    The timeline lists events in order: a `committed` (or force-push) event moves the head, so a
    label counts for the head only if it came after that head's commit appeared. `assigned` and
    `review_requested` events that hand the PR to an agent name the person who delegated it.
    """
    out = TimelineEvidence()
    wanted = {n.lower() for n in labels}
    bg = break_glass_label.lower() if break_glass_label else None
    head: str | None = None
    applied: dict[str, Approval] = {}
    reasons: dict[str, str] = {}
    delegators: dict[str, Actor] = {}
    for ev in timeline:
        if not isinstance(ev, dict):
            continue
        kind = ev.get("event")
        if kind == "committed":
            head = ev.get("sha") if isinstance(ev.get("sha"), str) else None
        elif kind in ("head_ref_force_pushed", "head_ref_restored"):
            head = ev.get("commit_id") if isinstance(ev.get("commit_id"), str) else None
        elif kind == "base_ref_changed":
            out.retargeted_at = ev.get("created_at") or "an unknown time"
        elif kind in ("labeled", "unlabeled"):
            label = ev.get("label")
            name = str(label.get("name", "")) if isinstance(label, dict) else ""
            low = name.lower()
            if low not in wanted and low != bg:
                continue
            if kind == "unlabeled":
                applied.pop(low, None)
                continue
            who = _user(ev.get("actor"))
            if who is None:
                continue
            applied[low] = Approval(
                approver=who[0],
                kind="break-glass" if low == bg else "label",
                source=SOURCE_TIMELINE,
                head_sha=head,
                approver_id=who[1],
                approver_type=who[2],
                at=ev.get("created_at"),
            )
        elif kind == "commented":
            who = _user(ev.get("user")) or _user(ev.get("actor"))
            reason = break_glass_request(str(ev.get("body") or ""))
            if who and reason is not None:
                reasons[who[0].lower()] = reason
        elif kind in ("assigned", "review_requested"):
            target = _user(ev.get("assignee") if kind == "assigned" else ev.get("requested_reviewer"))
            by = _user(ev.get("review_requester") if kind == "review_requested" else None) or _user(
                ev.get("actor")
            )
            if target and by and is_agent(*target) and not is_agent(*by):
                delegators.setdefault(
                    by[0].lower(),
                    Actor(by[0], "delegator", SOURCE_TIMELINE, id=by[1], type=by[2]),
                )
    for appr in applied.values():
        if appr.kind == "break-glass":
            appr.reason = reasons.get(appr.approver.lower())
        out.approvals.append(appr)
    out.delegators = list(delegators.values())
    return out


def mark_retarget(
    approvals: list[Approval], retargeted_at: str | None, old_base: str = "an earlier base"
) -> None:
    """Approvals given before the PR's base changed were given for another target: stale."""
    if not retargeted_at:
        return
    for a in approvals:
        if a.at and a.at < retargeted_at:
            a.base_ref = f"{old_base} (retargeted at {retargeted_at})"


def adds_nothing_beyond(group: list[FileChange], approved: list[FileChange]) -> str | None:
    """None when the merge group's diff only carries what the approved PR head carries.

    Every file the group changes must be changed by the PR, with no added line the PR does not
    add, no more removed lines and the same resulting mode; otherwise a short reason.
    """
    by_path = {f.path: f for f in approved}
    for g in group:
        pr = by_path.get(g.path)
        if pr is None:
            return f"the group changes {g.path}, which the approved head does not"
        if g.spilled or pr.spilled:  # lines not held (a huge diff): cannot prove "nothing more"
            return f"the group's change to {g.path} is too large to compare line by line"
        extra = Counter(a.text for a in g.added) - Counter(a.text for a in pr.added)
        if extra:
            return f"the group adds lines to {g.path} that the approved head does not"
        if g.removed_count > pr.removed_count or g.new_mode != pr.new_mode or g.status != pr.status:
            return f"the group's change to {g.path} differs from the approved head's"
    return None


def rebind(approvals: list[Approval], pr_head: str, group_head: str) -> int:
    """Carry approvals of the PR head over to the merge group head; returns how many moved."""
    moved = 0
    for a in approvals:
        if a.head_sha == pr_head:
            a.head_sha = group_head
            moved += 1
    return moved


def commit_delegators(
    change: Change, agent_commits: set[str], logins: dict[str, str], human: Callable[[str], bool]
) -> list[Actor]:
    """People named on agent commits (the author GitHub resolved, or a noreply co-author)."""
    from guard.identify import noreply_account, parse_person

    found: dict[str, Actor] = {}
    for c in change.commits:
        if c.sha not in agent_commits:
            continue
        names = [logins.get(c.sha)]
        for person in [c.author, *(parse_person(v) for k, v in c.trailers if k.lower() == "co-authored-by")]:
            acct = noreply_account(person.email.strip().lower())
            names.append(acct[1] if acct else None)
        for login in names:
            if login and human(login):
                found.setdefault(login.lower(), Actor(login, "delegator", "commit", verified=False))
    return list(found.values())
