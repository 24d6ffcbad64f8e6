"""The GitLab deploy gate: `check --deploy ENV` in a job that gates the deploy job (`needs:`).

The algorithm is guard/doors/deploy_gate.py; this module is its GitLab reads: the successful
deployments of the environment (`GET /projects/:id/deployments?environment=ENV&status=success`,
newest first), the merged MR of a commit (`GET /projects/:id/repository/commits/:sha/
merge_requests`), its commits, and its approvals bound to the head that was merged the way the
MR door binds them (gitlab/api.py): GitLab records no head per approval, so an approval counts
only when GitLab's clock puts it after the pipeline GitLab made for the merged head. The user
who triggered the pipeline (GITLAB_USER_LOGIN) is the verified run actor. Nothing is posted back:
the job's exit code gates the deploy job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from guard.doors.deploy_gate import (
    Deployment,
    Merged,
    Recorded,
    Vouched,
    agent_shas,
    agent_test,
    attach,
    choose_base,
    last_trusted,
)
from guard.doors.deploy_gate import vouch as gate_vouch
from guard.doors.gitlab.api import SOURCE, GitLabAPI, bind_head, failure_text
from guard.doors.interface import CheckOptions, Prepared
from guard.git.repo import GitRepo
from guard.gitai import fetch_notes
from guard.identify import IsAgent
from guard.isotime import parse_time
from guard.model import Actor, Approval, Change
from guard.policy import Policy
from guard.trusted import load_trusted_policy

MAX_DEPLOYMENTS = 20


def last_success(api: GitLabAPI, environment: str, is_agent: IsAgent) -> tuple[Recorded | None, list[str]]:
    """The newest successful deployment to `environment` whose deployer is not an agent."""
    return last_trusted(_deployments(api, environment), is_agent)


def _deployments(api: GitLabAPI, environment: str) -> Iterator[Deployment]:
    deps = api.project.deployments.list(
        environment=environment,
        status="success",
        order_by="finished_at",
        sort="desc",
        per_page=MAX_DEPLOYMENTS,
        get_all=False,
    )
    for dep in deps:
        a = dep.attributes
        sha = a.get("sha")
        who = a.get("user") if isinstance(a.get("user"), dict) else {}
        assert isinstance(who, dict)
        if not isinstance(sha, str) or len(sha) not in (40, 64):
            continue
        yield Deployment(
            sha=sha.lower(),
            label=f"deployment {a.get('iid')}",
            login=str(who.get("username") or ""),
            uid=str(who.get("id")),
            type="Bot" if who.get("bot") else None,
            successful=lambda: True,  # listed with status=success
        )


class GitLabRecords:
    """The deploy gate's reads on GitLab (guard/doors/deploy_gate.py: DeployRecords)."""

    platform = "GitLab"
    request = "merge request"
    approvals_noun = "approvals"

    def __init__(self, api: GitLabAPI) -> None:
        self.api = api

    def describe(self, e: BaseException) -> str:
        return failure_text(e)

    def merged_request(self, sha: str) -> Merged | None:
        mrs = self.api.project.commits.get(sha, lazy=True).merge_requests(get_all=True)
        for mr in mrs if isinstance(mrs, list) else []:
            if isinstance(mr, dict) and mr.get("state") == "merged" and isinstance(mr.get("iid"), int):
                return Merged(f"!{mr['iid']}", mr)
        return None

    def request_commits(self, req: Merged) -> set[str]:
        listed = self.api.project.mergerequests.get(req.data["iid"], lazy=True).commits()
        shas = {str(c.attributes.get("id", "")).lower() for c in listed}
        return shas | {
            str(req.data[k]).lower() for k in ("merge_commit_sha", "squash_commit_sha") if req.data.get(k)
        }

    def approvals(self, req: Merged, covers: tuple[str, ...], policy: Policy, out: Vouched) -> None:
        _mr_approvals(self.api, req.data["iid"], covers, policy, out)

    def delegators(self, req: Merged) -> list[Actor]:
        return []  # GitLab records no delegation on the merge request


def _mr_approvals(api: GitLabAPI, iid: int, covers: tuple[str, ...], policy: Policy, out: Vouched) -> None:
    """The MR's approvals that GitLab's clock places after its merged head arrived."""
    mr = api.project.mergerequests.get(iid).attributes
    head = mr.get("sha") if isinstance(mr.get("sha"), str) else None
    if head is None:
        out.notes.append(f"!{iid} names no head: its approvals cannot vouch for anything")
        return
    head = head.lower()
    hp = mr.get("head_pipeline")
    anchor = parse_time(hp.get("created_at")) if isinstance(hp, dict) and hp.get("sha") == head else None
    author = mr.get("author") if isinstance(mr.get("author"), dict) else {}
    assert isinstance(author, dict)
    state = api.project.mergerequests.get(iid, lazy=True).approvals.get().attributes
    approved_by = state.get("approved_by")
    for entry in approved_by if isinstance(approved_by, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict) or not user.get("username"):
            continue
        name = str(user["username"])
        bound, why = bind_head(entry.get("approved_at"), head, head, anchor)
        if bound is None:
            out.notes.append(f"!{iid}: {name}'s approval is not bound to the merged head {head[:12]}: {why}")
            continue
        if name.lower() == str(author.get("username") or "").lower() and not policy.step_up.allow_pr_author:
            out.notes.append(f"!{iid}: {name} opened the merge request: their approval does not count")
            continue
        uid = user.get("id")
        try:
            permission = api.permission(uid)
        except Exception as e:
            out.notes.append(f"could not read {name}'s access ({failure_text(e)})")
            permission = None
        out.approvals.append(
            Approval(
                approver=name,
                kind="mr-approval",
                source=SOURCE,
                head_sha=head,
                approver_id=str(uid) if uid is not None else None,
                approver_type="Bot" if user.get("bot") else None,
                permission=permission,
                at=entry.get("approved_at") if isinstance(entry.get("approved_at"), str) else None,
                covers=covers,
            )
        )


def vouch(api: GitLabAPI, change: Change, agent_commits: list[str], policy: Policy) -> Vouched:
    """Approvals for the agent commits of a deploy (deploy_gate.vouch)."""
    return gate_vouch(GitLabRecords(api), change, agent_commits, policy)


def prepare(opts: CheckOptions, env: dict[str, str] | None = None) -> Prepared:
    """`check --deploy ENV` in GitLab CI. Returns a plain Prepared: the door posts nothing back."""
    from guard.doors.gitlab.ci import ensure_default_branch, ensure_history, read_pipeline
    from guard.doors.gitlab.door import _api

    assert opts.deploy is not None
    environment = opts.deploy
    env = dict(os.environ) if env is None else env
    p = read_pipeline(env)
    repo = GitRepo(opts.repo)
    head = repo.resolve(opts.head, "--head") if opts.head else p.head
    notes = [f"deploy of {head[:12]} to {environment} (GitLab {p.source} pipeline)"]
    api = _api(p, env, notes)
    recorded: Recorded | None = None
    unreadable = None if api is not None else "no API token"
    if api is not None:
        try:
            recorded, rnotes = last_success(api, environment, agent_test(None))
            notes += rnotes
        except Exception as e:
            unreadable = failure_text(e)
    ensure_history(repo, head, recorded.sha if recorded else None, notes)
    ensure_default_branch(repo, p.default_branch, notes)
    notes += fetch_notes(repo)
    base, bnotes = choose_base(repo, head, environment, recorded, unreadable, opts.since)
    notes += bnotes
    actors = [Actor(p.user_login, "run-actor", "gitlab-ci", id=p.user_id)] if p.user_login else []
    change = repo.build_change(
        base, head, door="gitlab", repository=p.project_url, environment=environment, actors=actors
    )
    trusted_refs = tuple(opts.trusted_refs) + (
        (p.ref,) if p.kind == "branch" and p.ref_protected and p.ref else ()
    )
    trusted = load_trusted_policy(repo, change.base, change.head, opts.policy, trusted_refs)
    shas = agent_shas(change, trusted.policy, agent_test(trusted.policy))
    if api is None:
        if shas:
            change.notes.append(
                "merge request approvals could not be read: every agent commit counts as unapproved"
            )
    else:
        attach(change, vouch(api, change, shas, trusted.policy))
    return Prepared(change, trusted, notes + trusted.notes)
