"""The GitLab REST API through python-gitlab (imported lazily: only this door ever loads it).

Reads the merge request's author and approvals (with each approver's access level) and writes one
upserted MR note and a `pipeline-guard` commit status. Every failure becomes a note: the verdict
is then decided from git alone, and approvals that could not be read count as absent.

Which head was an approval given for? GitLab does not record it. When "reset approvals on push"
is on, GitLab drops approvals on a push that changes the diff (it compares patch ids, so a pure
rebase keeps them); otherwise approvals survive pushes. The guard binds an approval to the
judged head by GitLab's own clock, never by git dates (which an agent can write): it counts for
the head only when (1) the MR's current head (`sha`) is the judged commit and (2) `approved_at`
is later than the creation of the newest pipeline GitLab made for that head (the MR's
`head_pipeline` and this job's CI_PIPELINE_CREATED_AT). Every push makes a new pipeline, so an
approval given before it is stale, a rebase included: stricter than GitLab, and retrying the
job after a fresh approval passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from guard.approvals import break_glass_request
from guard.doors.gitlab.ci import Pipeline
from guard.isotime import parse_time
from guard.model import Actor, Approval
from guard.report.markdown import MARKER

TOKEN_ENV = "PIPELINE_GUARD_GITLAB_TOKEN"
STATUS_NAME = "pipeline-guard"
SOURCE = "gitlab-api"
TIMEOUT = 20  # seconds per request: an unreachable API must not hold the pipeline
MAX_NOTES = 1000  # notes scanned for the marker before a new one is written
MAX_PIPELINES = 20  # pipelines for the judged head whose users are read
# GitLab access levels -> the engine's permission names (approvals.PERMISSION_RANK).
ACCESS = {0: "none", 5: "none", 10: "read", 15: "read", 20: "read", 30: "write", 40: "maintain", 50: "admin"}


@dataclass
class MergeRequestFacts:
    author: Actor | None = None
    head_sha: str | None = None  # the MR's current head as GitLab sees it
    approvals: list[Approval] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def access_permission(level: object) -> str | None:
    """A GitLab access level -> permission name; None when it is not a known number."""
    if isinstance(level, bool):
        return None
    try:
        return ACCESS.get(int(str(level)))
    except ValueError:
        return None


def head_anchor(p: Pipeline, head_pipeline: object) -> datetime | None:
    """When the judged head arrived, by GitLab's clock: the newest pipeline GitLab made for it."""
    times = [parse_time(p.pipeline_created_at)]
    if isinstance(head_pipeline, dict) and head_pipeline.get("sha") in (p.head, None):
        times.append(parse_time(head_pipeline.get("created_at")))
    known = [t for t in times if t is not None]
    return max(known) if known else None


def bind_head(
    approved_at: object, mr_head: str | None, judged: str, anchor: datetime | None
) -> tuple[str | None, str | None]:
    """(head the approval is bound to, why it is not bound to the judged head)."""
    if mr_head and mr_head != judged:
        return mr_head, None  # given on the MR as it stands now, which is not what this job judges
    at = parse_time(approved_at)
    if at is None:
        return None, "GitLab gave no approval time"
    if anchor is None:
        return None, "the time the head was pushed is unknown (no pipeline creation time)"
    if at <= anchor:
        return None, f"given at {approved_at}, before the pipeline for this head ({anchor.isoformat()})"
    return judged, None


def token(env: dict[str, str]) -> str | None:
    value = env.get(TOKEN_ENV, "").strip()
    return value or None


class GitLabAPI:
    """A thin wrapper over python-gitlab: every method returns data or raises its errors, which
    failure_text() says in one line (never a token)."""

    def __init__(self, url: str, private_token: str, project: str) -> None:
        import gitlab

        self.gl = gitlab.Gitlab(
            url, private_token=private_token, timeout=TIMEOUT, retry_transient_errors=False
        )
        self.project = self.gl.projects.get(project, lazy=True)

    def merge_request_facts(self, p: Pipeline) -> MergeRequestFacts:
        assert p.mr_iid is not None
        facts = MergeRequestFacts()
        mr = self.project.mergerequests.get(p.mr_iid)
        # Child requests address the MR by our project path and IID, not by ids from the response.
        same = self.project.mergerequests.get(p.mr_iid, lazy=True)
        author = mr.attributes.get("author") or {}
        if isinstance(author, dict) and author.get("username"):
            facts.author = Actor(
                login=str(author["username"]),
                role="pr-author",
                source=SOURCE,
                id=str(author["id"]) if author.get("id") is not None else None,
                type="Bot" if author.get("bot") else None,
            )
        sha = mr.attributes.get("sha")
        facts.head_sha = sha.lower() if isinstance(sha, str) and sha else None
        anchor = head_anchor(p, mr.attributes.get("head_pipeline"))
        state = same.approvals.get()
        approved_by = state.attributes.get("approved_by") or []
        for entry in approved_by if isinstance(approved_by, list) else []:
            user = entry.get("user") if isinstance(entry, dict) else None
            if not isinstance(user, dict) or not user.get("username"):
                continue
            head, why = bind_head(entry.get("approved_at"), facts.head_sha, p.head, anchor)
            if why:
                facts.notes.append(f"approval by {user['username']}: {why}")
            facts.approvals.append(self._approval(user, "mr-approval", head, entry.get("approved_at"), p))
        facts.approvals += self._break_glass(same, p, facts, anchor)
        return facts

    def _break_glass(
        self, mr: Any, p: Pipeline, facts: MergeRequestFacts, anchor: datetime | None
    ) -> list[Approval]:
        """MR notes with a line `break-glass: <reason>`, bound to the head like approvals (by
        GitLab's clock); the engine refuses them from agents and bots and without a reason."""
        out: list[Approval] = []
        for i, note in enumerate(mr.notes.list(iterator=True, sort="desc", order_by="created_at")):
            if i >= MAX_NOTES:
                break
            a = note.attributes
            body = str(a.get("body") or "")
            if a.get("system") or MARKER in body:
                continue  # GitLab's own notes, and ours (which quote break-glass reasons)
            reason = break_glass_request(body)
            author = a.get("author")
            if reason is None or not isinstance(author, dict) or not author.get("username"):
                continue
            head, why = bind_head(a.get("created_at"), facts.head_sha, p.head, anchor)
            if why:
                facts.notes.append(f"break-glass note by {author['username']}: {why}")
            out.append(self._approval(author, "break-glass", head, a.get("created_at"), p, reason))
        return out

    def _approval(
        self,
        user: dict[str, Any],
        kind: str,
        head: str | None,
        at: object,
        p: Pipeline,
        reason: str | None = None,
    ) -> Approval:
        """An approval or break-glass note by a GitLab `user` object, bound to `head`."""
        uid = user.get("id")
        return Approval(
            approver=str(user["username"]),
            kind=kind,
            source=SOURCE,
            head_sha=head,
            approver_id=str(uid) if uid is not None else None,
            approver_type="Bot" if user.get("bot") else None,
            permission=self.permission(uid),
            at=at if isinstance(at, str) else None,
            base_ref=p.target_branch,
            reason=reason,
        )

    def head_pipeline_users(self, sha: str) -> list[Actor]:
        """Who started the pipelines GitLab holds for `sha` (newest MAX_PIPELINES): the pipeline's
        user stays the pusher when a person later retries a job, whose GITLAB_USER_LOGIN is theirs."""
        found: dict[str, Actor] = {}
        for info in self.project.pipelines.list(sha=sha, per_page=MAX_PIPELINES, get_all=False):
            pid = info.get_id()
            if pid is None:
                continue
            user = self.project.pipelines.get(pid).attributes.get("user")
            if isinstance(user, dict) and isinstance(user.get("username"), str):
                kind = "Bot" if user.get("bot") else None
                actor = Actor.of_account(user["username"], "pipeline-user", SOURCE, user.get("id"), kind)
                found.setdefault(actor.login.lower(), actor)
        return list(found.values())

    def permission(self, user_id: object) -> str | None:
        """Effective access (inherited from groups too); a non-member has none."""
        import gitlab

        if not isinstance(user_id, (int, str)) or isinstance(user_id, bool):
            return None
        try:
            member = self.project.members_all.get(user_id)
        except gitlab.exceptions.GitlabGetError as e:
            if e.response_code == 404:
                return "none"
            raise
        return access_permission(member.attributes.get("access_level"))

    def upsert_note(self, iid: int, body: str, marker: str, *, create: bool) -> str:
        """Update the newest note carrying the marker; create one only when `create` is set."""
        mr = self.project.mergerequests.get(iid, lazy=True)
        mine = None
        for i, note in enumerate(mr.notes.list(iterator=True, sort="desc", order_by="updated_at")):
            if i >= MAX_NOTES:
                break
            if not note.attributes.get("system") and marker in str(note.attributes.get("body") or ""):
                mine = note
                break
        if mine is not None:
            mine.body = body
            try:
                mine.save()
                return "updated"
            except Exception as e:  # someone else's note with our marker: write our own
                if getattr(e, "response_code", None) != 403:
                    raise
        if not create:
            return "unchanged"
        mr.notes.create({"body": body})
        return "created"

    def set_status(
        self, sha: str, state: str, description: str, target_url: str | None, ref: str | None
    ) -> None:
        data: dict[str, Any] = {"state": state, "name": STATUS_NAME, "description": description[:255]}
        if target_url:
            data["target_url"] = target_url
        if ref:
            data["ref"] = ref
        self.project.commits.get(sha, lazy=True).statuses.create(data)


def failure_text(e: BaseException) -> str:
    """One line, never a token: python-gitlab errors carry the code and GitLab's message only."""
    code = getattr(e, "response_code", None)
    msg = str(getattr(e, "error_message", "") or e).splitlines()[0][:200] if str(e) else type(e).__name__
    return f"HTTP {code}: {msg}" if code else f"{type(e).__name__}: {msg}"
