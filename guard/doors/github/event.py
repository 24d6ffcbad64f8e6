"""The GitHub Actions context: environment and event payload -> what to judge and who asked.

Stdlib only (no PyGithub). The payload is the platform's word: PR author, sender and run actors
from it are *verified*; `github.actor` alone is never trusted (a re-run keeps the first actor).
A malformed payload is a usage error naming the file and the field (exit 2), never a traceback.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.errors import UsageError
from guard.model import ZERO_SHA, Actor, RefUpdate

if TYPE_CHECKING:
    from github import Github

SOURCE = "github-event"
_SHA = re.compile(r"^[0-9a-f]{40}$")
# Events whose sender made the change (pushed, opened, retargeted); on the others (review,
# label, assignment) the sender is a reviewer or maintainer, not the maker.
MAKER_ACTIONS = {"opened", "reopened", "synchronize", "edited", "ready_for_review"}
PR_EVENTS = {"pull_request", "pull_request_target", "pull_request_review"}
EVENTS = (*sorted(PR_EVENTS), "push", "merge_group", "workflow_run", "workflow_dispatch")
_QUEUE_PR = re.compile(r"/pr-(\d+)-[0-9a-f]{40}$")


@dataclass
class GitHubContext:
    event_name: str
    event_path: str
    payload: dict[str, Any]
    repository: str  # owner/name
    workspace: str
    api_url: str
    server_url: str
    token: str | None
    run_id: str | None = None
    workflow_ref: str | None = None  # owner/repo/.github/workflows/x.yml@ref
    action_path: str | None = None
    sha: str | None = None

    @property
    def run_url(self) -> str | None:
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


@dataclass
class EventRange:
    """What the event asks to judge: base..head, its refs, and the platform-verified actors."""

    head: str
    base: str | None = None
    base_branch: str | None = None  # branch to fetch/merge-base against when `base` is unknown
    default_branch: str | None = None
    source_ref: str | None = None
    target_ref: str | None = None
    number: int | None = None
    actors: list[Actor] = field(default_factory=list)
    ref_updates: list[RefUpdate] = field(default_factory=list)
    commits_hint: int = 0  # how many commits the payload says the range has (fetch depth)
    merge_group_pr: int | None = None
    nothing: str | None = None  # why there is nothing to judge (a deleted branch)
    description: str | None = None  # the PR's title and body
    notes: list[str] = field(default_factory=list)
    # False on a PR event whose sender did not make the head (a review, a label, a re-run): who
    # pushed the head must then come from the platform's history, or the guard fails closed.
    maker_in_payload: bool = True


class Payload:
    """Typed access to the event JSON; every failure names the file and the dotted field."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def get(self, dotted: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is None:
            if required:
                raise UsageError(f"malformed {self._event()} payload: missing {dotted}", where=self.where)
            return None
        if not isinstance(node, kind) or (isinstance(node, bool) and kind is int):
            raise UsageError(
                f"malformed {self._event()} payload: {dotted} has the wrong type", where=self.where
            )
        return node

    def sha(self, dotted: str, required: bool = True) -> str | None:
        value = self.get(dotted, str, required)
        if value is None:
            return None
        if not _SHA.match(value):
            raise UsageError(f"malformed payload: {dotted} is not a commit id", where=self.where)
        return str(value)

    def actor(self, dotted: str, role: str, required: bool = False) -> Actor | None:
        login = self.get(f"{dotted}.login", str, required)
        if not login:
            return None
        uid = self.get(f"{dotted}.id", int, False)
        return Actor(
            login=login,
            role=role,
            source=SOURCE,
            id=str(uid) if uid is not None else None,
            type=self.get(f"{dotted}.type", str, False),
        )

    def _event(self) -> str:
        return os.path.basename(self.where)


def read_context(env: dict[str, str]) -> GitHubContext:
    """The Actions environment; a missing or unreadable event is a usage error (exit 2)."""
    name = env.get("GITHUB_EVENT_NAME", "")
    path = env.get("GITHUB_EVENT_PATH", "")
    if not name or not path:
        raise UsageError(
            "GITHUB_EVENT_NAME and GITHUB_EVENT_PATH must be set (is this a GitHub Actions job?)"
        )
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read the event payload: {e.strerror}", where=path) from None
    except UnicodeDecodeError as e:
        raise UsageError(f"event payload is not UTF-8 (byte {e.start})", where=path) from None
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as e:
        raise UsageError(f"event payload is not JSON: {e.msg} at line {e.lineno}", where=path) from None
    if not isinstance(payload, dict):
        raise UsageError("event payload must be a JSON object", where=path)
    repo = env.get("GITHUB_REPOSITORY") or Payload(payload, path).get("repository.full_name", str, False)
    if not repo or "/" not in repo:
        raise UsageError("GITHUB_REPOSITORY (owner/name) is not set and the payload names no repository")
    return GitHubContext(
        event_name=name,
        event_path=path,
        payload=payload,
        repository=repo,
        workspace=env.get("GITHUB_WORKSPACE") or ".",
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        token=env.get("GITHUB_TOKEN") or env.get("INPUT_TOKEN") or None,
        run_id=env.get("GITHUB_RUN_ID") or None,
        workflow_ref=env.get("GITHUB_WORKFLOW_REF") or None,
        action_path=env.get("GITHUB_ACTION_PATH") or None,
        sha=env.get("GITHUB_SHA") or None,
    )


def _branch(ref: str | None) -> str | None:
    return ref.removeprefix("refs/heads/") if ref else None


def _pull_request(p: Payload, event: str) -> EventRange:
    action = p.get("action", str, False) or ""
    rng = EventRange(
        head=str(p.sha("pull_request.head.sha")),
        base=p.sha("pull_request.base.sha"),
        base_branch=p.get("pull_request.base.ref"),
        source_ref=p.get("pull_request.head.ref"),
        target_ref=p.get("pull_request.base.ref"),
        number=p.get("pull_request.number", int),
        default_branch=p.get("repository.default_branch", str, False),
        commits_hint=p.get("pull_request.commits", int, False) or 0,
    )
    text = [p.get("pull_request.title", str, False) or "", p.get("pull_request.body", str, False) or ""]
    rng.description = "\n\n".join(t for t in text if t) or None
    author = p.actor("pull_request.user", "pr-author", required=True)
    assert author is not None
    rng.actors.append(author)
    if event != "pull_request_review" and action in MAKER_ACTIONS:
        sender = p.actor("sender", "sender")
        if sender is not None:
            rng.actors.append(sender)
    else:
        rng.maker_in_payload = False
    head_repo = p.get("pull_request.head.repo.full_name", str, False)
    base_repo = p.get("pull_request.base.repo.full_name", str, False)
    if head_repo and base_repo and head_repo != base_repo:
        rng.notes.append(f"the pull request comes from the fork {head_repo}")
    return rng


def _push(p: Payload) -> EventRange:
    ref = p.get("ref")
    before, after = p.sha("before"), p.sha("after")
    assert before is not None and after is not None
    update = RefUpdate(ref, before, after, forced=p.get("forced", bool, False))
    rng = EventRange(
        head=after,
        base=None if before == ZERO_SHA else before,
        target_ref=_branch(ref) if ref.startswith("refs/heads/") else ref,
        source_ref=_branch(ref) if ref.startswith("refs/heads/") else None,
        default_branch=p.get("repository.default_branch", str, False),
        ref_updates=[update],
        commits_hint=len(p.get("commits", list, False) or []),
    )
    if update.created:
        rng.base_branch = rng.default_branch
        rng.notes.append(f"{ref} was created: judging it against {rng.default_branch or 'its history'}")
    pusher = p.actor("sender", "pusher")
    if pusher is not None:
        rng.actors.append(pusher)
    if update.deleted:
        rng.nothing = f"{ref} was deleted: no new commits to judge"
    return rng


def _merge_group(p: Payload) -> EventRange:
    head_ref = p.get("merge_group.head_ref")
    m = _QUEUE_PR.search(head_ref)
    rng = EventRange(
        head=str(p.sha("merge_group.head_sha")),
        base=p.sha("merge_group.base_sha"),
        base_branch=_branch(p.get("merge_group.base_ref")),
        target_ref=_branch(p.get("merge_group.base_ref")),
        source_ref=_branch(head_ref),
        default_branch=p.get("repository.default_branch", str, False),
        merge_group_pr=int(m.group(1)) if m else None,
    )
    sender = p.actor("sender", "sender")
    if sender is not None:
        rng.actors.append(sender)
    if rng.merge_group_pr is not None:
        rng.number = rng.merge_group_pr
    return rng


def _workflow_run(p: Payload) -> EventRange:
    rng = EventRange(
        head=str(p.sha("workflow_run.head_sha")),
        source_ref=p.get("workflow_run.head_branch", str, False),
        default_branch=p.get("repository.default_branch", str, False),
    )
    prs = p.get("workflow_run.pull_requests", list, False) or []
    if prs and isinstance(prs[0], dict):
        first = Payload(prs[0], p.where)
        rng.base = first.sha("base.sha")
        rng.base_branch = rng.target_ref = first.get("base.ref")
        rng.number = first.get("number", int)
    else:
        rng.base_branch = rng.default_branch
        rng.target_ref = rng.source_ref
    for dotted, role in (
        ("workflow_run.actor", "run-actor"),
        ("workflow_run.triggering_actor", "triggering-actor"),
    ):
        actor = p.actor(dotted, role)
        if actor is not None:
            rng.actors.append(actor)
    if not rng.actors:
        rng.notes.append("the workflow_run payload names no actor: nothing about the run's actor is verified")
    return rng


def _dispatch(p: Payload, sha: str | None) -> EventRange:
    if not sha or not _SHA.match(sha):
        raise UsageError("GITHUB_SHA must be the dispatched commit for workflow_dispatch")
    ref = p.get("ref")
    rng = EventRange(
        head=sha,
        source_ref=_branch(ref),
        target_ref=_branch(ref),
        default_branch=p.get("repository.default_branch", str, False),
    )
    rng.base_branch = rng.default_branch
    sender = p.actor("sender", "sender")
    if sender is not None:
        rng.actors.append(sender)
    return rng


def event_range(ctx: GitHubContext) -> EventRange:
    """Dispatch on the event name; unsupported events are a usage error naming the supported ones."""
    p = Payload(ctx.payload, ctx.event_path)
    name = ctx.event_name
    if name in PR_EVENTS:
        return _pull_request(p, name)
    if name == "push":
        return _push(p)
    if name == "merge_group":
        return _merge_group(p)
    if name == "workflow_run":
        return _workflow_run(p)
    if name == "workflow_dispatch":
        return _dispatch(p, ctx.sha)
    raise UsageError(f"unsupported event {name!r}: pipeline-guard handles {', '.join(EVENTS)}")


# When the action is pipeline-guard itself in the repository's own tree (`uses: ./`), the action
# pip-installs that tree: its code, its rule packs and its build file decide verdicts too.
GUARD_SOURCES = ("pyproject.toml", "guard/**", "rules/**")
GUARD_MARKER = "guard/engine.py"


def guard_files(ctx: GitHubContext, root: Path) -> tuple[tuple[str, ...], list[str]]:
    """The files that run the guard in this job and that the change itself could edit.

    The workflow file (from GITHUB_WORKFLOW_REF, when it lives in this repository) and the action,
    when it is used from this repository's checkout (`uses: ./`); when that action is pipeline-guard
    itself, the code and rule packs it installs. An action checked out apart (its own `.git`, e.g.
    the default branch checked out into a folder) is not the change's: nothing of it is listed.
    """
    files: list[str] = []
    notes: list[str] = []
    if ctx.workflow_ref:
        where, _, _ref = ctx.workflow_ref.partition("@")
        prefix = ctx.repository + "/"
        if where.lower().startswith(prefix.lower()):
            files.append(where[len(prefix) :])
        else:
            notes.append(f"the guard runs from {where}, outside this repository: the change cannot edit it")
    if ctx.action_path:
        try:
            rel = Path(ctx.action_path).resolve().relative_to(root.resolve())
        except ValueError:
            rel = None
        if rel is not None and rel != Path(".") and (root / rel / ".git").exists():
            notes.append(
                f"the guard's action is a separate checkout ({rel.as_posix()}): the change cannot edit it"
            )
        elif rel is not None:
            for name in ("action.yml", "action.yaml"):
                if (root / rel / name).exists():
                    files.append((rel / name).as_posix())
            if (root / rel / GUARD_MARKER).is_file():
                files.extend((rel / g).as_posix() for g in GUARD_SOURCES)
                notes.append(
                    "the guard is installed from this checkout (`uses: ./`): a change can rewrite the code "
                    "judging it, so run a pinned release or the default branch checked out apart "
                    "(docs/github.md)"
                )
    return tuple(dict.fromkeys(files)), notes


def api_client(ctx: GitHubContext) -> tuple[Github | None, str | None]:
    """(a PyGithub client for the job's API, None) or (None, why there is none): every GitHub
    door path decides what it can without one and says so."""
    if not ctx.token:
        return None, "no token (set the action's `token` input or GITHUB_TOKEN)"
    try:
        from guard.doors.github.api import client
    except ImportError:
        return None, "PyGithub is not installed (pip install 'pipeline-guard[github]')"
    return client(ctx), None
