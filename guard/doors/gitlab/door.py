"""The GitLab door: a CI job reads the pipeline from predefined variables and the API, if it may.

Without an API token (PIPELINE_GUARD_GITLAB_TOKEN; the CI job token cannot read approvals nor
write notes or statuses) or with an API it cannot reach, the verdict is decided from git: the
approvals it could not read count as absent, so a needed step-up stays required (exit 1), and
the job log says which reports were not posted. Reports always go to the job log and artifacts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from guard.doors.gitlab.api import TOKEN_ENV, GitLabAPI, failure_text, token
from guard.doors.gitlab.ci import EXTRA_CI_FILES, Pipeline, ensure_default_branch, ensure_history, guard_files
from guard.doors.gitlab.ci import read_pipeline as read_pipeline
from guard.doors.interface import CheckOptions, FunctionDoor, Prepared
from guard.doors.local import default_base
from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.gitai import fetch_notes
from guard.identify import runner_evidence
from guard.model import UNKNOWN_PUSHER, ZERO_SHA, Actor, Change, Decision, RefUpdate
from guard.trusted import load_trusted_policy

SOURCE = "gitlab-ci"


@dataclass
class GitLabPrepared(Prepared):
    pipeline: Pipeline | None = None
    api: GitLabAPI | None = None  # None: no token, or python-gitlab missing


NO_TOKEN = (
    f"no GitLab API token ({TOKEN_ENV}): the MR author and approvals were not read (a needed step-up "
    "stays required); give the job a project access token with the api scope to read them"
)


def _api(p: Pipeline, env: dict[str, str], notes: list[str]) -> GitLabAPI | None:
    tok = token(env)
    if tok is None:
        notes.append(NO_TOKEN)
        return None
    if not p.server_url or not (p.project or p.project_id):
        notes.append("CI_SERVER_URL / CI_PROJECT_PATH not set: the GitLab API was not used")
        return None
    try:
        return GitLabAPI(p.server_url, tok, p.project or str(p.project_id))
    except ImportError:
        notes.append("python-gitlab is not installed (pip install 'pipeline-guard[gitlab]'): API not used")
        return None


def _range(repo: GitRepo, p: Pipeline, notes: list[str]) -> str | None:
    """The base to judge from: GitLab's own, or the default branch's merge-base when it has none."""
    if p.base is not None:
        if repo.exists(p.base):
            return p.base
        notes.append(f"before-SHA {p.base[:12]} is gone (force push?): judging from the default branch")
    base, note = default_base(repo, p.head)
    notes.append(note)
    return base


def build_change(repo: GitRepo, p: Pipeline, notes: list[str], extra_ci: str | None) -> Change:
    ensure_history(repo, p.head, p.base, notes)
    ensure_default_branch(repo, p.default_branch, notes)
    notes += fetch_notes(repo)
    base = _range(repo, p, notes)
    files = guard_files(repo, [r for r in (base, p.head) if r], p, extra_ci, notes)
    ref_updates: list[RefUpdate] = []
    if p.kind == "tag" and p.ref:
        ref_updates.append(RefUpdate(f"refs/tags/{p.ref}", ZERO_SHA, p.head))
    elif p.kind == "branch" and p.ref:
        ref_updates.append(RefUpdate(f"refs/heads/{p.ref}", p.base or ZERO_SHA, p.head))
    change = repo.build_change(
        base,
        p.head,
        door="gitlab",
        repository=p.project_url,
        source_ref=p.source_branch or (p.ref if p.kind == "branch" else None),
        target_ref=p.target_branch or (p.ref if p.kind == "branch" else None),
        environment=p.environment,
        number=p.mr_iid,
        guard_files=files,
        ref_updates=ref_updates,
        description=p.description,
    )
    if p.user_login:  # GitLab sets it from the user who triggered the pipeline: verified
        change.actors.append(Actor(p.user_login, "run-actor", SOURCE, id=p.user_id))
    return change


def _head_pushers(change: Change, api: GitLabAPI | None, notes: list[str]) -> None:
    """The users of every pipeline for the head, so a person retrying a job never turns an
    agent's push into theirs. A history that a token should read but cannot fails closed."""
    if api is None:
        notes.append(
            "no API token: who started earlier pipelines for this head was not read, so a job a person "
            "retried is judged by that person's identity"
        )
        return
    try:
        users = api.head_pipeline_users(change.head)
    except Exception as e:
        why = f"GitLab API: {failure_text(e)}"
        change.actors.append(Actor(f"pusher of {change.head[:12]} unknown: {why}", UNKNOWN_PUSHER, SOURCE))
        notes.append(f"who pushed {change.head[:12]} could not be read ({why}): judged as an agent's push")
        return
    known = {a.login.lower() for a in change.actors}
    change.actors += [u for u in users if u.login.lower() not in known]


def prepare(opts: CheckOptions, env: dict[str, str] | None = None) -> Prepared:
    if opts.deploy:  # a deploy judges what reaches the environment, not the pipeline's range
        from guard.doors.gitlab.deploy import prepare as prepare_deploy

        return prepare_deploy(opts, env)
    env = dict(os.environ) if env is None else env
    p = read_pipeline(env)
    repo = GitRepo(opts.repo)  # a job script starts in CI_PROJECT_DIR
    notes: list[str] = [f"GitLab {p.kind.replace('_', ' ')} pipeline ({p.source})"]
    change = build_change(repo, p, notes, env.get(EXTRA_CI_FILES))
    api = _api(p, env, notes)
    _head_pushers(change, api, notes)
    if api is not None and p.kind == "merge_request":
        try:
            facts = api.merge_request_facts(p)
        except Exception as e:  # any API failure: decide from git, approvals absent
            notes.append(f"GitLab API unavailable ({failure_text(e)}): approvals count as absent")
        else:
            if facts.author is not None:
                change.actors.append(facts.author)
            change.approvals.extend(facts.approvals)
            notes.extend(facts.notes)
    trusted_refs = tuple(opts.trusted_refs)
    if p.target_protected and p.target_branch:
        trusted_refs += (p.target_branch,)
    if p.kind == "branch" and p.ref_protected and p.ref:
        trusted_refs += (p.ref,)
    # The branch the change comes from is never trusted to hold the policy (unless protected).
    exclude = tuple(
        r for r in (p.source_branch, p.ref if p.kind == "branch" and not p.ref_protected else None) if r
    )
    trusted = load_trusted_policy(repo, change.base, change.head, opts.policy, trusted_refs, exclude)
    # A Duo Agent Platform flow (AI_FLOW_*) or another agent runtime started this job.
    change.runner = runner_evidence(env, load_fingerprints(trusted.policy))
    if change.runner:
        notes.append("an agent runtime started this job (" + ", ".join(e.value for e in change.runner) + ")")
    return GitLabPrepared(change, trusted, notes + trusted.notes, pipeline=p, api=api)


def publish(decision: Decision, opts: CheckOptions, prepared: Prepared) -> list[str]:
    from guard.redact import redact_decision
    from guard.report.markdown import MARKER, render

    decision = redact_decision(decision)

    if not isinstance(prepared, GitLabPrepared) or prepared.pipeline is None:
        return []
    p, api = prepared.pipeline, prepared.api
    if api is None:
        what = "MR note and commit status" if p.kind == "merge_request" else "commit status"
        return [f"not posted: {what} (no API token; see the job log and the report artifacts)"]
    out: list[str] = []
    gated = decision.verdict in ("step-up", "block")
    if p.mr_iid is not None:
        try:
            # A clean verdict updates an earlier note but does not start a new one.
            done = api.upsert_note(
                p.mr_iid, render(decision), MARKER, create=gated or bool(decision.findings)
            )
            out.append(f"MR note {done}")
        except Exception as e:
            out.append(f"not posted: MR note ({failure_text(e)})")
    state = "failed" if gated and decision.mode == "enforce" else "success"
    try:
        api.set_status(
            decision.change.head,
            state,
            f"pipeline-guard: {decision.verdict}",
            p.job_url,
            p.source_branch or p.ref,
        )
        out.append(f"commit status {state}")
    except Exception as e:
        out.append(f"not posted: commit status ({failure_text(e)})")
    return out


HOW: tuple[str, ...] = (
    "a qualifying member approves the merge request after the latest push",
    "then retry the pipeline-guard job",
)


DOOR = FunctionDoor("gitlab", prepare, publish, HOW)  # registered in guard/doors/registry.py
