"""A custom deployment protection rule: judge a deployment from GitHub's current state, no clone.

`pipeline-guard serve` hands each `deployment_protection_rule` delivery here. The range is the
same as in Actions (github_deploy.py): from the last successful deployment to the environment up
to the commit being deployed, listed by the compare API; commits are identified from their API
metadata (author, committer, message, trailers), as git would show them. The answer goes to the
run's `deployment_callback_url`. Anything that cannot be read ends in `rejected` with the reason:
the gate fails closed, and a person can still bypass it where GitHub lets admins do so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from guard.doors.deploy_gate import agent_shas, agent_test, attach
from guard.doors.github.api import describe, get_json
from guard.doors.github.deploy import last_success, vouch
from guard.doors.github.door import HOW as GITHUB_HOW
from guard.doors.github.event import Payload
from guard.doors.interface import Prepared
from guard.errors import InternalError, UsageError
from guard.isotime import unix_time
from guard.judge import judge as judge_prepared
from guard.model import Actor, Change, Commit, Decision, Mode, Person
from guard.policy import Policy
from guard.report.escape import plain
from guard.trailers import parse_trailers
from guard.trusted import TrustedPolicy

if TYPE_CHECKING:
    from github import Github

State = Literal["approved", "rejected"]
EVENT = "deployment_protection_rule"
SOURCE = "github-api"
MAX_COMMITS = 2500  # a longer range is not judged from the API: rejected, with the reason
MAX_COMMENT = 1000
_CALLBACK = re.compile(r"^(?:/api/v3)?/repos/([^/]+/[^/]+)/actions/runs/(\d+)/deployment_protection_rule$")


@dataclass(frozen=True)
class Request:
    """What one delivery asks: may `sha` be deployed to `environment` by run `run_id`?"""

    repository: str  # owner/name
    environment: str
    sha: str
    run_id: int
    callback_url: str
    deployment_id: int | None
    installation_id: int | None
    sender: Actor | None

    @property
    def key(self) -> str:
        """One verdict per run and environment: replays and redeliveries map here."""
        return f"{self.repository.lower()}#{self.run_id}#{self.environment}"


def parse_request(payload: dict[str, Any]) -> Request:
    """The fields the judgement needs; anything missing or malformed is a UsageError (HTTP 400)."""
    p = Payload(payload, f"{EVENT} payload")
    repository = p.get("repository.full_name")
    url = p.get("deployment_callback_url")
    parts = urlsplit(url)
    m = _CALLBACK.match(parts.path)
    if parts.scheme not in ("http", "https") or m is None or m.group(1).lower() != repository.lower():
        raise UsageError("deployment_callback_url is not this repository's run callback", where=p.where)
    return Request(
        repository=repository,
        environment=p.get("environment"),
        sha=str(p.sha("deployment.sha")),
        run_id=int(m.group(2)),
        callback_url=url,
        deployment_id=p.get("deployment.id", int, False),
        installation_id=p.get("installation.id", int, False),
        sender=p.actor("sender", "sender"),
    )


def _person(obj: Any) -> Person:
    d = obj if isinstance(obj, dict) else {}
    return Person(str(d.get("name") or ""), str(d.get("email") or ""))


def api_commit(item: dict[str, Any]) -> Commit:
    """A commit as the compare API lists it, in the shape git reading gives (no file diffs)."""
    c = item.get("commit") if isinstance(item.get("commit"), dict) else {}
    assert isinstance(c, dict)
    message = str(c.get("message") or "")
    verification = c.get("verification") if isinstance(c.get("verification"), dict) else {}
    assert isinstance(verification, dict)
    signed = bool(verification.get("signature"))
    parents = item.get("parents") if isinstance(item.get("parents"), list) else []
    assert isinstance(parents, list)
    return Commit(
        sha=str(item.get("sha")),
        parents=tuple(str(p.get("sha")) for p in parents if isinstance(p, dict)),
        author=_person(c.get("author")),
        committer=_person(c.get("committer")),
        authored_at=int(unix_time((c.get("author") or {}).get("date"))),
        committed_at=int(unix_time((c.get("committer") or {}).get("date"))),
        message=message,
        trailers=parse_trailers(message),
        signed=signed,
        signature_status=("G" if verification.get("verified") else "N") if signed else None,
    )


def compare_commits(gh: Github, repository: str, base: str, head: str) -> list[Commit]:
    """base..head from the compare API, every page; a range too long to list is an error."""
    out: list[Commit] = []
    for page in range(1, MAX_COMMITS // 100 + 2):
        data = get_json(gh, f"/repos/{repository}/compare/{base}...{head}?per_page=100&page={page}")
        if not isinstance(data, dict) or not isinstance(data.get("commits"), list):
            raise InternalError("the compare API gave no commit list")
        total = data.get("total_commits")
        out += [api_commit(i) for i in data["commits"] if isinstance(i, dict)]
        if not isinstance(total, int):
            raise InternalError("the compare API gave no commit count")
        if total > MAX_COMMITS:
            raise InternalError(
                f"{total} commits since the last deployment: more than {MAX_COMMITS} to judge"
            )
        if len(out) >= total or not data["commits"]:
            break
    return out


def run_actors(gh: Github, repository: str, run_id: int) -> tuple[list[Actor], list[str]]:
    """The run's actor and triggering actor, as GitHub records them."""
    try:
        run = get_json(gh, f"/repos/{repository}/actions/runs/{run_id}")
    except Exception as e:
        return [], [f"could not read run {run_id} ({describe(e)}): only the event's sender is known"]
    out: list[Actor] = []
    for key, role in (("actor", "run-actor"), ("triggering_actor", "triggering-actor")):
        user = run.get(key) if isinstance(run, dict) else None
        if isinstance(user, dict) and isinstance(user.get("login"), str):
            uid = user.get("id")
            out.append(
                Actor(
                    user["login"],
                    role,
                    SOURCE,
                    id=str(uid) if uid is not None else None,
                    type=user.get("type"),
                )
            )
    return out, []


@dataclass
class Verdict:
    state: State
    comment: str
    decision: Decision | None = None


def comment_for(d: Decision) -> str:
    """The short answer GitHub shows on the run: what is wrong and how to fix it."""
    env = d.change.environment or "the environment"
    if d.exit_code == 0:
        agents = sum(1 for c in d.change.commits if c.identity.kind == "agent")
        n = len(d.change.commits)
        text = f"pipeline-guard: {n} commit(s) to {env}, {agents} agent commit(s), each approved."
        if d.findings:
            text += f" {len(d.findings)} warning(s)."
        return text
    lines = [f"pipeline-guard: {d.verdict} for {env}."]
    unapproved = [f.commit[:12] for f in d.findings if f.category == "unapproved-agent-deploy" and f.commit]
    if unapproved:
        lines.append(
            "Agent commits without a person's approval on their merged pull request: "
            f"{', '.join(unapproved)}."
        )
    lines += [plain(f.message) for f in d.findings if f.category != "unapproved-agent-deploy"][:5]
    lines.append(
        "Fix: a person with write access approves each pull request on the head that was merged, "
        "then re-run the deployment."
    )
    text = " ".join(lines)
    return text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 1] + "…"


def judge(gh: Github, req: Request, policy: Policy, mode: Mode, policy_source: str) -> Verdict:
    """Approve or reject the deployment; every failure is a rejection that says why."""
    try:
        return _judge(gh, req, policy, mode, policy_source)
    except Exception as e:
        why = str(e) if isinstance(e, (UsageError, InternalError)) else describe(e)
        return Verdict(
            "rejected",
            f"pipeline-guard could not judge this deployment ({plain(why)[:300]}): failing closed.",
        )


def _judge(gh: Github, req: Request, policy: Policy, mode: Mode, policy_source: str) -> Verdict:
    is_agent = agent_test(policy)
    skip = [req.deployment_id] if req.deployment_id is not None else []
    recorded, notes = last_success(gh, req.repository, req.environment, is_agent, skip)
    if recorded is None:
        return Verdict(
            "rejected",
            f"pipeline-guard: no successful deployment to {req.environment} on record, so nothing says what "
            "runs there now: the first deployment needs a person (an admin may bypass the rule).",
        )
    actors, rnotes = run_actors(gh, req.repository, req.run_id)
    if req.sender is not None:
        actors.append(req.sender)
    change = Change(
        door="github",
        head=req.sha,
        base=recorded.sha,
        repository=req.repository,
        commits=compare_commits(gh, req.repository, recorded.sha, req.sha),
        environment=req.environment,
        actors=actors,
        notes=[
            f"deploy to {req.environment}: last successful deployment {recorded.sha[:12]} ({recorded.where})",
            *notes,
            *rnotes,
        ],
    )
    got = vouch(gh, req.repository, change, agent_shas(change, policy, is_agent), policy, is_agent)
    attach(change, got)
    trusted = TrustedPolicy(policy, policy_source, ref=None)
    decision = judge_prepared(Prepared(change, trusted), mode=mode, how=GITHUB_HOW)
    return Verdict("approved" if decision.exit_code == 0 else "rejected", comment_for(decision), decision)


def post(gh: Github, req: Request, state: str, comment: str) -> None:
    """Answer the run. The callback must be on the API host the token belongs to."""
    api = urlsplit(gh.requester.base_url)
    cb = urlsplit(req.callback_url)
    if (cb.scheme, cb.netloc) != (api.scheme, api.netloc):
        raise UsageError(f"the callback host {cb.netloc} is not the configured API host {api.netloc}")
    body = {"environment_name": req.environment, "state": state, "comment": comment}
    url = f"{cb.scheme}://{cb.netloc}{cb.path}"  # the path as GitHub gave it (/api/v3 on GHES)
    gh.requester.requestJsonAndCheck("POST", url, input=body)  # a 204: PyGithub's default Accept
