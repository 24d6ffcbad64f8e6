"""The GitHub door: an Actions job's event and workspace in, check run / status / comment out.

`pipeline-guard check` with no range in Actions (GITHUB_ACTIONS=true) lands here. It reads the
event payload (never `github.actor` alone), fetches what a shallow checkout lacks, reads the
trusted policy, and with a token gathers reviews, labels and delegations; the engine judges them.
Without a token or API, it still decides from git and the payload: approvals it cannot read are
absent, so a needed step-up stays required (exit 1), and it says what it could not post.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.doors.github.approvals import adds_nothing_beyond, commit_delegators, rebind
from guard.doors.github.event import (
    EventRange,
    GitHubContext,
    api_client,
    event_range,
    guard_files,
    read_context,
)
from guard.doors.github.git import ensure_range
from guard.doors.github.workflow import annotation_lines, notes_section, outputs, write_outputs, write_summary
from guard.doors.interface import CheckOptions, FunctionDoor, Prepared
from guard.errors import UsageError
from guard.fingerprints import Fingerprints, load_fingerprints
from guard.git.repo import GitRepo
from guard.gitai import fetch_notes
from guard.globs import compile_globs
from guard.identify import IsAgent, agent_account_test, identify_commit
from guard.model import UNKNOWN_PUSHER, Actor, Change, Decision
from guard.policy import Policy
from guard.trusted import load_trusted_policy

if TYPE_CHECKING:
    from github import Github

DEFAULT_REPORTS = ("check-run", "status", "comment")


@dataclass
class GitHubPrepared(Prepared):
    ctx: GitHubContext | None = None
    gh: Github | None = None
    no_token: str | None = None  # why there is no API client
    report_notes: list[str] = field(default_factory=list)  # shown in the summary and comment


def reports_requested(opts: CheckOptions) -> tuple[str, ...]:
    raw = opts.reports
    if raw is None:
        return DEFAULT_REPORTS
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in (*DEFAULT_REPORTS, "none")]
    if unknown:
        raise UsageError(
            f"unknown report {unknown[0]!r}: use check-run, status, comment or none", where="--report"
        )
    return tuple(dict.fromkeys(n for n in names if n != "none"))


def _agent_test(policy: Policy) -> tuple[Fingerprints, IsAgent]:
    fp = load_fingerprints(policy)
    return fp, agent_account_test(fp)


def _base(repo: GitRepo, rng: EventRange) -> str | None:
    if rng.base:
        return rng.base
    ref = repo.branch_ref(rng.base_branch) if rng.base_branch else None  # never a tag of that name
    return repo.merge_base(ref, rng.head) if ref else None


def _guard_notes(change: Change) -> list[str]:
    if not change.guard_files:
        return []
    spec = compile_globs(tuple("/" + g for g in change.guard_files))
    touched = dict.fromkeys(p for f in change.files for p in f.paths if spec.match_file(p))
    return [
        f"this change edits {p}, which runs this guard: the change can alter its own check, so agent "
        "edits to it need step-up (rule agent-ci-config); docs/github.md shows set-ups it cannot touch"
        for p in touched
    ]


def prepare(opts: CheckOptions) -> GitHubPrepared:
    if opts.deploy:  # a deploy judges what reaches the environment, not the event's range
        from guard.doors.github.deploy import prepare as prepare_deploy

        return prepare_deploy(opts)
    reports_requested(opts)  # a typo is a usage error before any work
    ctx = read_context(dict(os.environ))
    rng = event_range(ctx)
    repo = GitRepo(opts.repo or ctx.workspace)
    notes = [f"event {ctx.event_name} on {ctx.repository}", *rng.notes]
    files, gnotes = guard_files(ctx, repo.path)
    notes += gnotes
    common = {
        "repository": f"{ctx.server_url.rstrip('/')}/{ctx.repository}",
        "source_ref": rng.source_ref,
        "target_ref": rng.target_ref,
        "number": rng.number,
        "actors": list(rng.actors),
        "ref_updates": list(rng.ref_updates),
        "guard_files": files,
        "description": rng.description,
    }
    if rng.nothing:
        head = repo.resolve("HEAD", "workspace HEAD")
        change = Change(door="github", head=head, base=head, blobs=repo, **common)  # type: ignore[arg-type]
        change.notes.append(rng.nothing)
        trusted = load_trusted_policy(repo, None, head, opts.policy, opts.trusted_refs)
        return GitHubPrepared(change, trusted, notes + trusted.notes, ctx=ctx, no_token="nothing to judge")
    notes += ensure_range(
        repo,
        rng.head,
        rng.base,
        base_branch=rng.base_branch,
        default_branch=rng.default_branch,
        commits_hint=rng.commits_hint,
    )
    notes += fetch_notes(repo)
    change = repo.build_change(_base(repo, rng), rng.head, door="github", **common)  # type: ignore[arg-type]
    change.notes += _guard_notes(change)
    exclude = (rng.source_ref,) if rng.source_ref else ()
    trusted = load_trusted_policy(repo, change.base, change.head, opts.policy, opts.trusted_refs, exclude)
    prepared = GitHubPrepared(change, trusted, notes + trusted.notes, ctx=ctx)
    _gather(prepared, repo, rng)
    return prepared


def _gather(p: GitHubPrepared, repo: GitRepo, rng: EventRange) -> None:
    """Approvals and delegators: from the API with a token, from the commits alone without."""
    assert p.ctx is not None
    change, policy = p.change, p.trusted.policy
    fp, is_agent = _agent_test(policy)
    agent_actor = any(
        a.verified and is_agent(a.login, a.id, a.type) for a in change.actors if a.role != "delegator"
    )
    agent_commits = {
        c.sha
        for c in change.commits
        if agent_actor or identify_commit(c, fp, change.source_ref).kind == "agent"
    }
    p.gh, p.no_token = api_client(p.ctx)
    if p.gh is None or change.number is None:
        change.actors += commit_delegators(
            change, agent_commits, {}, lambda login: not is_agent(login, None, None)
        )
        if p.gh is None and change.number is not None:
            p.report_notes.append(
                f"{p.no_token}: approvals could not be read, so a needed step-up stays required"
            )
            _unknown_pusher(change, rng, p.no_token or "no API access")
        return
    from guard.doors.github.api import gather

    owners = p.trusted.codeowners
    owner_teams = {o for _, who in owners.rules for o in who if "/" in o} if owners else set()
    got = gather(p.gh, p.ctx, change.number, change, policy, is_agent, agent_commits, owner_teams)
    known = {(a.login.lower(), a.role) for a in change.actors}
    change.actors += [a for a in got.actors if (a.login.lower(), a.role) not in known]
    change.actors += got.delegators
    change.approvals += got.approvals
    p.report_notes += got.notes
    if got.pushers_unread:
        _unknown_pusher(change, rng, got.pushers_unread)
    if rng.merge_group_pr is not None:
        _merge_group(p, repo, got.pr_head)


def _unknown_pusher(change: Change, rng: EventRange, why: str) -> None:
    """On an event whose sender did not make the head, a pusher that cannot be read fails closed."""
    if rng.maker_in_payload:
        return
    change.actors.append(Actor(f"pusher of {change.head[:12]} unknown: {why}", UNKNOWN_PUSHER, "github-api"))
    change.notes.append(
        f"who pushed {change.head[:12]} could not be read ({why}): judged as an agent's push, so a "
        "review or label event never relaxes the verdict of the push"
    )


def _merge_group(p: GitHubPrepared, repo: GitRepo, pr_head: str | None) -> None:
    """Carry the PR's approvals to the group only when the group adds nothing beyond that head."""
    change = p.change
    if pr_head is None:
        p.report_notes.append("merge group: the PR head is unknown, so its approvals cannot be carried over")
        return
    try:
        ensure_range(repo, pr_head, None, base_branch=None, default_branch=None)
    except UsageError as e:  # the group is still judged; only the carried-over approvals are lost
        p.report_notes.append(f"merge group: the PR's approvals are not carried over: {e}")
        return
    mb = repo.merge_base(pr_head, change.base) if change.base else None
    why = "the PR head shares no history with the group's base" if mb is None else None
    if why is None:
        why = adds_nothing_beyond(change.files, repo.diff(str(mb), pr_head))
    if why is not None:
        p.report_notes.append(
            f"merge group: the PR's approvals on {pr_head[:12]} are not carried over: {why}"
        )
        return
    n = rebind(change.approvals, pr_head, change.head)
    p.report_notes.append(
        f"merge group: the group adds nothing beyond the PR head {pr_head[:12]}: {n} approval(s) on it apply"
    )


def publish(decision: Decision, opts: CheckOptions, prepared: Prepared) -> list[str]:
    """Token-free channels first (outputs, annotations, summary), then the API reports."""
    from guard.redact import redact_data, redact_decision
    from guard.report.markdown import render as markdown

    assert isinstance(prepared, GitHubPrepared) and prepared.ctx is not None
    from guard.doors.github.publish import publish as post

    decision = redact_decision(decision)
    notes = redact_data(list(prepared.report_notes))  # door remarks may quote refs and logins
    # The body names who may approve; the notes say what could not be read.
    body = markdown(decision) + notes_section(notes)
    notes += post(prepared.gh, prepared.ctx, decision, reports_requested(opts), body, prepared.no_token)
    for line in annotation_lines(decision):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    env = os.environ
    if env.get("GITHUB_OUTPUT"):
        write_outputs(env["GITHUB_OUTPUT"], outputs(decision, opts.sarif_file))
    if env.get("GITHUB_STEP_SUMMARY"):
        write_summary(env["GITHUB_STEP_SUMMARY"], markdown(decision) + notes_section(notes))
    return notes


HOW: tuple[str, ...] = (
    "a qualifying reviewer approves the pull request (Review changes -> Approve) on the current head",
    "or applies the step-up label after the latest push",
    "then re-run the check (it re-runs on pull_request_review when the workflow listens to it)",
)


DOOR = FunctionDoor("github", prepare, publish, HOW)  # registered in guard/doors/registry.py
