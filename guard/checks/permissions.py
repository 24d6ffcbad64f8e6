"""Permission-escalation rules: what a change newly asks for in CI and in agent tool configuration.

Diff-aware: each head job is compared with the base job it was (`CiDiff.counterpart`), so only
what the change adds or widens is reported; narrowing, reformatting, renames and moved jobs are
silent. Categories (a rule's `match.categories` selects among them):

  GitHub:  workflow-permission, write-all, permissions-removed, new-job-write, id-token,
           dangerous-trigger, secrets-inherit, new-secret, new-environment, self-hosted-runner,
           unpinned-action
  GitLab:  gitlab-environment, gitlab-rules-widened, gitlab-id-tokens, gitlab-job-token,
           gitlab-secret-variable, new-secret (the `secrets:` keyword)
  Agents:  agent-tool-permission, agent-hook, mcp-server, auto-approve, copilot-firewall,
           agent-instructions (see agent_config.py)
  Any:     unparseable (a CI or agent file that cannot be parsed is judged as an escalation)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from guard.checks import ci_reach
from guard.checks.agent_config import agent_candidates
from guard.checks.changeio import Candidate, candidate, per_change, to_findings
from guard.checks.ci_diff import CiDiff, ci_diff
from guard.checks.ci_reach import Reach
from guard.ci.jobs import CiSide, Job, Loc, Perms
from guard.ci.release_steps import classify, production_like
from guard.model import Change, Finding

if TYPE_CHECKING:
    from guard.checks.interface import CheckContext
    from guard.policy import Rule

DANGEROUS_TRIGGERS = {
    "pull_request_target": ("high", "runs with a write token and secrets on pull requests from forks"),
    "workflow_run": (
        "high",
        "runs with a write token and secrets after workflows that fork pull requests can start",
    ),
    "issue_comment": ("medium", "anyone who can comment can start it, with a write token and secrets"),
    "pull_request_review_comment": ("medium", "reviewers' comments start it, with a write token and secrets"),
}
TRUSTED_ACTION_OWNERS = frozenset({"actions", "github"})  # GitHub's own actions: not third-party
GITHUB_HOSTED = re.compile(r"^(ubuntu|windows|macos)-[\w.-]+$", re.IGNORECASE)
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SECRET_REF = re.compile(r"\bsecrets\s*(?:\.\s*([A-Za-z_][\w-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_GL_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_SECRETISH = re.compile(
    r"TOKEN|SECRET|PASSW|PASS\b|_PASS|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH", re.I
)
_JOB_TOKEN = re.compile(r"\bCI_JOB_TOKEN\b")


def _c(category: str, message: str, loc: Loc | None, confidence: str = "high") -> Candidate:
    return candidate("permission", category, message, loc, confidence)


# ----- GitHub permissions blocks -----


def _who(job: Job, p: Perms) -> str:
    return "workflow" if p.workflow_level else f"job `{job.id}`"


def _perm_changes(job: Job, before: Job | None, diff: CiDiff) -> Iterator[Candidate]:
    """Compare the effective explicit blocks of a head job and the base job it was.

    A new job under a workflow-level block the workflow already had is judged against that block:
    the grant is the workflow's, and it did not change.
    """
    p, bp, existing = job.perms, before.perms if before else None, before is not None
    if not existing and p is not None and p.workflow_level:
        bp = diff.base_workflow_perms(job)
        existing = bp is not None
    if p is None:
        if existing and bp is not None and bp.kind != "write-all":
            yield _c(
                "permissions-removed",
                f"job `{job.id}` lost its explicit `permissions:` block and now runs "
                "with the repository's default token permissions",
                job.loc,
            )
        return
    if p.kind == "write-all" and (bp is None or bp.kind != "write-all"):
        yield _c("write-all", f"{_who(job, p)} is granted `permissions: write-all`", p.loc)
        return
    if (
        p.level("id-token") == 2
        and (bp is None or bp.level("id-token") < 2)
        and not (before is None and diff.moved_within_file(job, _grants("id-token")))
    ):
        yield _c(
            "id-token",
            f"{_who(job, p)} is granted `id-token: write` (can mint cloud credentials)",
            (p.loc[0], p.line_of("id-token")),
        )
    writes = [s for s in p.writes() if s != "id-token"]
    if not existing:  # a new job (or workflow): an explicit write grant is new power
        writes = [s for s in writes if not diff.moved_within_file(job, _grants(s))]
        if writes:
            yield _c("new-job-write", f"new job `{job.id}` is granted write: {', '.join(writes)}", p.loc)
        return
    if bp is None:
        return  # default -> explicit block: hardening (write-all and id-token handled above)
    for scope in writes:
        old = bp.level(scope)
        if old < 2:
            was = {0: "none", 1: "read"}[old]
            yield _c(
                "workflow-permission",
                f"{_who(job, p)}: `{scope}` permission widened from {was} to write",
                (p.loc[0], p.line_of(scope)),
            )


def _grants(scope: str) -> Callable[[Job], bool]:
    return lambda j: j.perms is not None and j.perms.level(scope) == 2


# ----- everything else a job asks for -----


def unpinned_action(uses: str) -> str | None:
    """The action's name when `uses:` is a third-party action not pinned to a full commit SHA."""
    if uses.startswith(("./", ".\\")) or not uses:
        return None
    if uses.startswith("docker://"):
        return None if "@sha256:" in uses else uses.split("@")[0].rsplit(":", 1)[0]
    name, _, ref = uses.partition("@")
    if _FULL_SHA.match(ref) or name.split("/", 1)[0].lower() in TRUSTED_ACTION_OWNERS:
        return None
    return name.lower()


def _unpinned_names(side: CiSide) -> set[str]:
    return {n for j in side.jobs for c in j.commands if c.uses and (n := unpinned_action(c.uses))}


def _self_hosted(labels: list[tuple[str, Loc]]) -> list[tuple[str, Loc]]:
    out = []
    for label, loc in labels:
        low = label.lower()
        if "${{" in label:
            continue
        if low == "self-hosted" or low.startswith("group:") or not GITHUB_HOSTED.match(label):
            out.append((label, loc))
    return out


def _secret_refs(side: CiSide, kinds: tuple[str, ...]) -> dict[str, Loc]:
    """GitHub `secrets.X` references (first place each appears); GITHUB_TOKEN is not a secret."""
    out: dict[str, Loc] = {}
    for path, text in side.texts.items():
        if side.kinds.get(path) not in kinds:
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for m in _SECRET_REF.finditer(line):
                name = m.group(1) or m.group(2)
                if name.upper() != "GITHUB_TOKEN":
                    out.setdefault(name, (path, i))
    return out


def _gitlab_secret_vars(side: CiSide) -> dict[str, Loc]:
    """Secret-looking `$VARS` in GitLab files that the files do not define (they come from settings)."""
    out: dict[str, Loc] = {}
    for path, text in side.texts.items():
        if side.kinds.get(path) != "gitlab":
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for m in _GL_VAR.finditer(line):
                name = m.group(1)
                if (
                    _SECRETISH.search(name)
                    and not name.startswith(("CI_", "GITLAB_"))
                    and name not in side.defined_vars
                ):
                    out.setdefault(name, (path, i))
    return out


def _sensitive(job: Job) -> bool:
    """A GitLab job whose running conditions matter: it deploys, publishes or holds credentials."""
    return bool(
        job.environment
        or job.id_tokens
        or job.secrets
        or job.release
        or any(_JOB_TOKEN.search(c.text) or classify(c) for c in job.commands)
    )


def _job_grants(job: Job, before: Job | None, diff: CiDiff, base_unpinned: set[str]) -> Iterator[Candidate]:
    old_triggers = before.triggers if before else {}
    for trig, loc in job.triggers.items():
        if trig in DANGEROUS_TRIGGERS and trig not in old_triggers:
            conf, why = DANGEROUS_TRIGGERS[trig]
            yield _c("dangerous-trigger", f"workflow newly triggered by `{trig}`: {why}", loc, conf)
    if (
        job.secrets_inherit
        and not (before and before.secrets_inherit)
        and not _inherit_already_had(job, diff)
    ):
        yield _c(
            "secrets-inherit",
            f"job `{job.id}` passes every repository secret to "
            f"`{job.uses[0] if job.uses else 'a reusable workflow'}` (`secrets: inherit`)",
            job.secrets_inherit,
        )
    if job.environment:
        name, loc = job.environment
        if not before or not before.environment or before.environment[0] != name:
            if before is None and diff.moved_within_file(job, _in_environment(name)):
                pass  # a release workflow rewritten: the environment passed to its new jobs
            elif job.platform == "github":
                yield _c(
                    "new-environment", f"job `{job.id}` now uses environment `{name}` and its secrets", loc
                )
            else:
                prod = " (production-like)" if production_like(name, job.env_tier) else ""
                yield _c(
                    "gitlab-environment", f"job `{job.id}` now deploys to environment `{name}`{prod}", loc
                )
        elif job.env_tier == "production" and before.env_tier != "production":
            yield _c(
                "gitlab-environment",
                f"job `{job.id}`: environment `{name}` is now deployment_tier production",
                loc,
            )
    if job.platform == "github":
        hosted_before = {label for label, _ in _self_hosted(before.runs_on)} if before else set()
        for label, loc in _self_hosted(job.runs_on):
            if not hosted_before:
                conf = "high" if label.lower() == "self-hosted" or label.startswith("group:") else "medium"
                yield _c(
                    "self-hosted-runner",
                    f"job `{job.id}` now runs on self-hosted runner `{label}`",
                    loc,
                    conf,
                )
                break
    for cmd in job.commands:
        action = unpinned_action(cmd.uses) if cmd.uses else None
        if action and action not in base_unpinned:
            yield _c(
                "unpinned-action",
                f"new third-party action `{cmd.uses}` is not pinned to a full commit SHA",
                cmd.loc,
                "high",
            )
    for key, cat, what in (
        ("id_tokens", "gitlab-id-tokens", "OIDC ID token"),
        ("secrets", "new-secret", "secret"),
    ):
        old: dict[str, Loc] = getattr(before, key) if before else {}
        for name, loc in getattr(job, key).items():
            if name not in old:
                yield _c(cat, f"job `{job.id}` newly requests {what} `{name}`", loc)
    if job.platform == "gitlab":
        token = next((c for c in job.commands if _JOB_TOKEN.search(c.text)), None)
        if token and not (before and any(_JOB_TOKEN.search(c.text) for c in before.commands)):
            yield _c("gitlab-job-token", f"job `{job.id}` newly uses CI_JOB_TOKEN in its script", token.loc)
        if before is not None and _sensitive(job):
            yield from _rules_widened(job, before)


def _in_environment(name: str) -> Callable[[Job], bool]:
    return lambda j: j.environment is not None and j.environment[0] == name


def _rules_widened(job: Job, before: Job) -> Iterator[Candidate]:
    if before.limited and not job.limited:
        yield _c(
            "gitlab-rules-widened",
            f"job `{job.id}` lost its `rules:`/`only:` and now runs in every pipeline",
            job.loc,
        )
        return
    old = [c for c, _ in before.rules]
    for cond, loc in job.rules:
        # A condition that only adds `&& ...` to an old one narrows it.
        if cond in old or any(o in cond and "&&" in cond.replace(o, "") for o in old):
            continue
        yield _c("gitlab-rules-widened", f"job `{job.id}` now also runs when: {cond}", loc)


def _inherit_already_had(job: Job, diff: CiDiff) -> bool:
    """`secrets: inherit` to a local reusable workflow that only reads secrets the repo's CI already read
    (a job split into a reusable workflow keeps the secrets it had)."""
    if not job.uses or not job.uses[0].startswith("./"):
        return False
    called = job.uses[0][2:]
    if called not in diff.head.texts:
        return False
    used = set(_secret_refs(_only(diff.head, called), ("workflow",)))
    return used <= set(_secret_refs(diff.base, ("workflow", "action")))


def _only(side: CiSide, path: str) -> CiSide:
    return CiSide(texts={path: side.texts[path]}, kinds={path: side.kinds.get(path, "workflow")})


def ci_candidates(change: Change) -> list[Candidate]:
    diff = ci_diff(change)
    out: list[Candidate] = []
    for path, err in sorted(diff.head.errors.items()):
        out.append(
            _c(
                "unparseable",
                f"CI file cannot be parsed, so what it asks for cannot be judged: {err.reason}",
                (path, err.line or 1),
            )
        )
    base_unpinned = _unpinned_names(diff.base)
    for job in diff.head.jobs:
        before = diff.counterpart(job)
        if job.platform == "github" and job.id != "(composite)":
            out.extend(_perm_changes(job, before, diff))
        out.extend(_job_grants(job, before, diff, base_unpinned))
    old_secrets = _secret_refs(diff.base, ("workflow", "action"))
    for name, loc in _secret_refs(diff.head, ("workflow", "action")).items():
        if name not in old_secrets:
            out.append(_c("new-secret", f"secret `{name}` is referenced for the first time", loc))
    old_vars = _gitlab_secret_vars(diff.base)
    for name, loc in _gitlab_secret_vars(diff.head).items():
        if name not in old_vars:
            out.append(
                _c(
                    "gitlab-secret-variable",
                    f"secret-looking variable `${name}` is used for the first time",
                    loc,
                    "medium",
                )
            )
    return out


def candidates(change: Change, trusted_reach: Mapping[str, Reach] | None = None) -> list[Candidate]:
    def compute() -> list[Candidate]:
        reach = [c for c in ci_reach.candidates(change, trusted_reach) if c.kind == "permission"]
        return ci_candidates(change) + agent_candidates(change) + reach

    return per_change(change, "permission", compute)


def check(ctx: CheckContext, rule: Rule) -> list[Finding]:
    change = ctx.change
    return to_findings(change, rule, candidates(change, ctx.ci_reach))
