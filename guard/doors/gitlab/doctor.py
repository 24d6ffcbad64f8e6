"""`pipeline-guard doctor` on GitLab: read-only checks, where the REST API the guard is tested against
(tests/data/gitlab/openapi_v3.guard-subset.yaml) exposes the setting.

Read: the project's merge settings (pipeline must succeed, skipped pipelines, job-token pushes,
trigger-approved deployments), environments and protected environments. Protected branches and
merge request approval settings are outside that API extract: they are reported could-not-verify
with what to check by hand, never ok. python-gitlab is imported here only, lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guard.doctor import Options, Result, ok, token_kind_unknown, unverified, warn
from guard.doors.gitlab.api import TIMEOUT, failure_text
from guard.errors import InternalError, UsageError

if TYPE_CHECKING:
    from guard.fingerprints import Fingerprints

NEEDS_PROJECT = "read_api scope and the Maintainer role on the project"
NEEDS_PROTECTED_ENVS = "read_api scope and the Maintainer role (protected environments: GitLab Premium)"
NOT_READ = "could not verify: not read by pipeline-guard (outside the GitLab API it is tested against)"


def _code(e: BaseException) -> int | None:
    code = getattr(e, "response_code", None)
    return code if isinstance(code, int) else None


def cannot(check: str, needs: str, e: BaseException, subject: str | None = None) -> Result:
    if _code(e) in (403, 404):
        return unverified(check, needs, failure_text(e), subject)
    return Result(check, "could-not-verify", f"could not verify: {failure_text(e)}", "re-run doctor", subject)


def _flag(
    project: dict[str, Any], key: str, check: str, bad: bool, message: str, fix: str, good: str
) -> Result:
    value = project.get(key)
    if value is bad:
        return warn(check, message, fix)
    if value is (not bad):
        return ok(check, good)
    return unverified(check, NEEDS_PROJECT, f"the API did not return {key}")


def project_settings(project: dict[str, Any]) -> list[Result]:
    return [
        _flag(
            project,
            "only_allow_merge_if_pipeline_succeeds",
            "pipeline-must-succeed",
            False,
            "merge requests can be merged when the pipeline (and the guard's job in it) fails",
            "tick Settings > Merge requests > 'Pipelines must succeed'",
            "merge requests need a successful pipeline",
        ),
        _flag(
            project,
            "allow_merge_on_skipped_pipeline",
            "skipped-pipeline",
            True,
            "a skipped pipeline counts as success: a commit message with [skip ci] merges without the guard",
            "untick Settings > Merge requests > 'Skipped pipelines are considered successful'",
            "skipped pipelines do not count as successful",
        ),
        _flag(
            project,
            "ci_push_repository_for_job_token_allowed",
            "job-token-push",
            True,
            "CI job tokens may push to the repository: a job an agent edits can push past review",
            "untick Settings > CI/CD > Job token permissions > 'Allow Git push requests to the repository'",
            "CI job tokens may not push to the repository",
        ),
        _flag(
            project,
            "allow_pipeline_trigger_approve_deployment",
            "trigger-approves-deployment",
            True,
            "pipeline trigger tokens may approve deployments: automation approves instead of a person",
            "untick Settings > CI/CD > 'Allow pipeline triggerer to approve deployment'",
            "pipeline triggerers may not approve deployments",
        ),
    ]


def not_read(default_branch: str | None) -> list[Result]:
    branch = default_branch or "the default branch"
    return [
        Result(
            "protected-branch",
            "could-not-verify",
            NOT_READ,
            f"check Settings > Repository > Protected branches: {branch} allows no direct push, "
            "no force push, and lists no agent or bot user as allowed to push or merge",
            f"branch {branch}",
        ),
        Result(
            "approval-settings",
            "could-not-verify",
            NOT_READ,
            "check Settings > Merge requests > Approval settings: 'Prevent approval by author' and "
            "'Prevent approvals by users who add commits' ticked, approvals reset on push",
        ),
    ]


def _rules(value: object) -> list[dict[str, Any]]:
    """GitLab returns lists; its OpenAPI extract declares single objects (a Grape quirk): take both."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def environments(
    envs: list[dict[str, Any]], protected: list[dict[str, Any]] | None, referenced: tuple[str, ...]
) -> list[Result]:
    """`protected` is None when unreadable (the caller reports why)."""
    names = [str(e.get("name")) for e in envs]
    by_name = {str(p.get("name")): p for p in protected or []}
    out: list[Result] = []
    for name in names if protected is not None else []:
        subject = f"environment {name}"
        prot = by_name.get(name)
        if prot is None:
            out.append(
                warn(
                    "environment-protected",
                    "not protected: anyone who can run a pipeline (an agent's job too) deploys to it",
                    f"protect {name!r} (Settings > CI/CD > Protected environments) with required approvals",
                    subject,
                )
            )
            continue
        count = prot.get("required_approval_count")
        rules = [r for r in _rules(prot.get("approval_rules")) if (r.get("required_approvals") or 0) > 0]
        if (isinstance(count, int) and count > 0) or rules:
            out.append(ok("environment-approvals", "protected, deployments need approval", subject))
        else:
            out.append(
                warn(
                    "environment-approvals",
                    "protected but needs no approval: a permitted deployer (or its token) deploys alone",
                    f"add approval rules to protected environment {name!r}",
                    subject,
                )
            )
    for name in referenced:
        subject = f"environment {name}"
        if name in names:
            out.append(ok("environment-exists", "exists", subject))
        else:
            out.append(
                warn(
                    "environment-exists",
                    "referenced but does not exist: GitLab creates it on the first deploy, unprotected",
                    f"create and protect environment {name!r} before any job deploys to it",
                    subject,
                )
            )
    if not out and protected is not None:
        out.append(ok("environments", "the project has no environments"))
    return out


def token_lifetime(token: str, token_env: str) -> Result:
    fix = (
        "give agents and CI the job's CI_JOB_TOKEN (valid while the job runs) or a project access "
        "token with a short expiry and the fewest scopes"
    )
    if token_env == "CI_JOB_TOKEN" or token.startswith("glcbt-"):
        return ok("token-lifetime", "a CI job token: valid only while the job runs")
    if token.startswith("glpat-"):
        return warn(
            "token-lifetime",
            "this run uses a personal, project or group access token (glpat-): valid up to a year",
            fix,
        )
    return token_kind_unknown(fix)


def run(opts: Options, fp: Fingerprints) -> list[Result]:
    """`fp` (fingerprints) is unused: the GitLab settings read here name no accounts."""
    import gitlab

    token_env = opts.token_env
    job = token_env == "CI_JOB_TOKEN"  # GitLab takes a job token in its own header
    gl = gitlab.Gitlab(
        opts.api_url,
        private_token=None if job else opts.token,
        job_token=opts.token if job else None,
        timeout=TIMEOUT,
        retry_transient_errors=False,
    )
    try:
        project = gl.projects.get(opts.repo)
    except gitlab.exceptions.GitlabAuthenticationError as e:
        raise UsageError(f"the token was rejected ({failure_text(e)})", where="--token-env") from None
    except gitlab.exceptions.GitlabError as e:
        if _code(e) in (403, 404):
            raise UsageError(
                f"project {opts.repo} not found or not visible to this token ({failure_text(e)})",
                where="--repo",
            ) from None
        raise InternalError(f"cannot read project {opts.repo}: {failure_text(e)}") from None
    except Exception as e:  # connection errors: nothing can be checked
        raise InternalError(f"cannot read project {opts.repo}: {failure_text(e)}") from None
    attrs: dict[str, Any] = dict(project.attributes)
    out = project_settings(attrs)
    default_branch = attrs.get("default_branch")
    out += not_read(default_branch if isinstance(default_branch, str) else None)
    try:
        envs = [e.attributes for e in project.environments.list(get_all=True)]
    except Exception as e:
        out.append(cannot("environments", NEEDS_PROJECT, e))
        envs = []
    protected: list[dict[str, Any]] | None
    try:
        protected = [p.attributes for p in project.protected_environments.list(get_all=True)]
    except Exception as e:
        out.append(cannot("environment-protected", NEEDS_PROTECTED_ENVS, e))
        protected = None
    out += environments(envs, protected, opts.environments)
    out.append(token_lifetime(opts.token, token_env))
    return out
