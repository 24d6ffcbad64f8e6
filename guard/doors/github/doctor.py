"""`pipeline-guard doctor` on GitHub: read-only checks of the settings that quietly undo the guard.

Every read goes through PyGithub's requester (github_api.client/get_json), one REST call per
setting, each documented in @octokit/openapi. A 403/404 on a setting the token may not read is
`could-not-verify` naming the permission, never `ok`. Agents among bypass actors and reviewers are
recognised with the same fingerprints as commits (rules/agents.yml plus the policy's accounts).

Length: one small method per GitHub setting read, in the order the report lists them; they share
one reader and one result vocabulary, and read best as one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from guard.doctor import Options, Result, ok, token_kind_unknown, unverified, warn
from guard.doors.github.api import JSON, client, describe, get_all, get_json
from guard.doors.github.event import GitHubContext
from guard.errors import InternalError, UsageError
from guard.fingerprints import Fingerprints
from guard.identify import identify_actor
from guard.model import Actor

if TYPE_CHECKING:
    from github import Github

SOURCE = "github-doctor"
ACTIONS_APP_ID = 15368  # the GitHub Actions app on github.com: the source of the guard's check run
# What each read needs: fine-grained token / GitHub App permission, then the classic PAT scope.
NEEDS_ADMIN = "repository Administration: read (classic PAT: repo; the Actions GITHUB_TOKEN cannot)"
NEEDS_METADATA = "repository Metadata: read (classic PAT: repo for a private repository)"
NEEDS_ENVIRONMENTS = "repository Actions: read (classic PAT: repo for a private repository)"
NEEDS_RULESET_ADMIN = "write access to the ruleset (repository admin; org rulesets: org admin)"
NEEDS_COPILOT = "repository admin access to the Copilot cloud agent settings (classic PAT: repo)"


@dataclass(frozen=True)
class BranchRules:
    """The default branch's classic protection and active rules, each with why it was unreadable."""

    branch: str
    protection: Any
    protection_err: BaseException | None
    rules: list[Any]
    rules_err: BaseException | None


@dataclass
class Repo:
    """What the first read tells: the default branch and how the token in hand authenticated."""

    default_branch: str
    headers: dict[str, str] = field(default_factory=dict)


def _status(e: BaseException) -> int | None:
    from github import GithubException

    return e.status if isinstance(e, GithubException) else None


def _message(e: BaseException) -> str:
    from github import GithubException

    if isinstance(e, GithubException) and isinstance(e.data, dict):
        return str(e.data.get("message") or "")
    return ""


def cannot(check: str, needs: str, e: BaseException, subject: str | None = None) -> Result:
    """A setting that could not be read: 403/404 name the permission; anything else says what failed."""
    if _status(e) in (403, 404):
        return unverified(check, needs, describe(e), subject)
    return Result(check, "could-not-verify", f"could not verify: {describe(e)}", "re-run doctor", subject)


def read_repo(gh: Github, repo: str) -> Repo:
    """The repository; failing here means nothing can be checked: a clear error, never a pass."""
    try:
        headers, data = gh.requester.requestJsonAndCheck("GET", f"/repos/{repo}", headers={"Accept": JSON})
    except Exception as e:
        status = _status(e)
        if status == 401:
            raise UsageError(f"the token was rejected ({describe(e)})", where="--token-env") from None
        if status in (403, 404):
            raise UsageError(
                f"repository {repo} not found or not visible to this token ({describe(e)}): "
                f"needs {NEEDS_METADATA}",
                where="--repo",
            ) from None
        raise InternalError(f"cannot read repository {repo}: {describe(e)}") from None
    branch = data.get("default_branch") if isinstance(data, dict) else None
    if not isinstance(branch, str) or not branch:
        raise InternalError(f"repository {repo}: the API gave no default_branch")
    return Repo(branch, {str(k).lower(): str(v) for k, v in (headers or {}).items()})


# ----------------------------------------------------------------------------- identities


class Agents:
    """Which accounts and apps are agents: fingerprints by login/id; app ids via GET /apps/{slug}."""

    def __init__(self, gh: Github, fp: Fingerprints) -> None:
        self.gh = gh
        self.fp = fp
        self._apps: dict[int, str] | None = None
        self.resolved = False  # at least one agent app's id was read
        self.lookup_error: str | None = None

    def vendor(self, login: str, uid: object = None, kind: str | None = "User") -> str | None:
        actor = Actor(login, "bypass-actor", SOURCE, id=None if uid is None else str(uid), type=kind)
        identity = identify_actor(actor, self.fp)
        return (identity.vendor or "unspecified") if identity.kind == "agent" else None

    def app(self, slug: str) -> str | None:
        """An app's vendor when its bot account (`<slug>[bot]`) is a known agent."""
        return self.vendor(f"{slug}[bot]", None, "Bot")

    def app_by_id(self, app_id: int) -> tuple[str, str | None] | None:
        """(slug, agent vendor) for a known agent app's id; None when no agent app has that id."""
        if self._apps is None:
            self._apps = {}
            for name in self._agent_slugs():
                try:
                    data = get_json(self.gh, f"/apps/{quote(name, safe='')}")
                except Exception as e:  # a renamed or removed app cannot be a bypass actor now
                    self.lookup_error = self.lookup_error or describe(e)
                    continue
                self.resolved = True
                if isinstance(data, dict) and isinstance(data.get("id"), int):
                    self._apps.setdefault(data["id"], name)
        slug = self._apps.get(app_id)
        return (slug, self.app(slug)) if slug else None

    def _agent_slugs(self) -> list[str]:
        slugs: list[str] = []
        for key, prints in self.fp.accounts.items():
            login = key.split("+", 1)[-1]
            if login.endswith("[bot]") and any(p.kind == "agent" for p in prints):
                slug = login[: -len("[bot]")]
                if slug not in slugs:
                    slugs.append(slug)
        return sorted(slugs)


# ----------------------------------------------------------------------------- checks


@dataclass
class Requirement:
    where: str  # "branch protection" or "ruleset <id>"
    source: int | None  # app / integration id the check must come from; None = any source


def _protection_requirements(data: Any, name: str) -> list[Requirement]:
    rsc = data.get("required_status_checks") if isinstance(data, dict) else None
    if not isinstance(rsc, dict):
        return []
    found: list[Requirement] = []
    for c in rsc.get("checks") or []:
        if isinstance(c, dict) and c.get("context") == name:
            app = c.get("app_id")
            found.append(Requirement("branch protection", app if isinstance(app, int) else None))
    if not found and name in (rsc.get("contexts") or []):
        found.append(Requirement("branch protection", None))
    return found


def _ruleset_requirements(rules: list[Any], name: str) -> list[Requirement]:
    found: list[Requirement] = []
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("type") != "required_status_checks":
            continue
        params = rule.get("parameters") or {}
        for c in params.get("required_status_checks") or [] if isinstance(params, dict) else []:
            if isinstance(c, dict) and c.get("context") == name:
                src = c.get("integration_id")
                found.append(
                    Requirement(f"ruleset {rule.get('ruleset_id')}", src if isinstance(src, int) else None)
                )
    return found


class GitHubDoctor:
    def __init__(self, gh: Github, opts: Options, agents: Agents) -> None:
        self.gh = gh
        self.opts = opts
        self.base = f"/repos/{opts.repo}"
        self.agents = agents

    def run(self) -> list[Result]:
        repo = read_repo(self.gh, self.opts.repo)
        branch = repo.default_branch
        read = BranchRules(branch, *self._protection(branch), *self._rules(branch))
        out = [self.required_check(read)]
        out += self.bypass(read)
        out += self.workflow_token()
        out += self.environments()
        out.append(self.copilot())
        out.append(token_lifetime(self.opts.token, repo.headers))
        return out

    # reads ---------------------------------------------------------------------

    def _protection(self, branch: str) -> tuple[Any, BaseException | None]:
        """Classic branch protection: {} when the branch has none, the error when unreadable."""
        try:
            return get_json(self.gh, f"{self.base}/branches/{quote(branch, safe='')}/protection"), None
        except Exception as e:
            if _status(e) == 404 and _message(e) == "Branch not protected":
                return {}, None
            return None, e

    def _rules(self, branch: str) -> tuple[list[Any], BaseException | None]:
        """Active ruleset rules on the branch (any level: repository, organisation)."""
        try:
            return get_all(self.gh, f"{self.base}/rules/branches/{quote(branch, safe='')}"), None
        except Exception as e:
            return [], e

    # the guard's check is required, from the expected source -------------------

    def required_check(self, read: BranchRules) -> Result:
        name, subject = self.opts.check_name, f"branch {read.branch}"
        reqs = _ruleset_requirements(read.rules, name)
        if read.protection is not None:
            reqs = _protection_requirements(read.protection, name) + reqs
        want = self.opts.app_id
        sourced = [r for r in reqs if r.source is not None and (want is None or r.source == want)]
        fix_source = (
            f"set the expected source of {name!r} to the app that runs the guard "
            f"(GitHub Actions: app id {want or ACTIONS_APP_ID}) in the ruleset or branch protection"
        )
        if sourced:
            r = sourced[0]
            return ok("required-check", f"{name!r} is required by {r.where} from app id {r.source}", subject)
        if reqs:
            r = reqs[0]
            what = "any source" if r.source is None else f"app id {r.source}, not app id {want}"
            return warn(
                "required-check",
                f"{name!r} is required by {r.where} but accepted from {what}: "
                "a status posted with any write token (an agent's too) satisfies it",
                fix_source,
                subject,
            )
        if read.protection_err is not None:
            return cannot("required-check", NEEDS_ADMIN, read.protection_err, subject)
        if read.rules_err is not None:
            return cannot("required-check", NEEDS_METADATA, read.rules_err, subject)
        return warn(
            "required-check",
            f"{name!r} is not a required status check: a failing or missing guard does not block merging",
            f"require {name!r} for {read.branch} in a ruleset (or branch protection), "
            f"with GitHub Actions (app id {want or ACTIONS_APP_ID}) as its source",
            subject,
        )

    # agents that may bypass the rules -------------------------------------------

    def bypass(self, read: BranchRules) -> list[Result]:
        out: list[Result] = []
        subject = f"branch {read.branch}"
        if read.protection_err is not None:
            out.append(cannot("bypass-actors", NEEDS_ADMIN, read.protection_err, f"{subject} protection"))
        elif read.protection:
            out.append(self._protection_bypass(read.protection, f"{subject} protection"))
        if read.rules_err is not None:
            out.append(cannot("bypass-actors", NEEDS_METADATA, read.rules_err, f"{subject} rulesets"))
        ruleset_ids = {r.get("ruleset_id") for r in read.rules if isinstance(r, dict)}
        ids = sorted(i for i in ruleset_ids if isinstance(i, int))
        for rid in ids:
            out.append(self._ruleset_bypass(rid))
        if not out:
            out.append(ok("bypass-actors", "no branch protection or ruleset to bypass", subject))
        return out

    def _protection_bypass(self, protection: Any, subject: str) -> Result:
        reviews = protection.get("required_pull_request_reviews") if isinstance(protection, dict) else None
        allow = reviews.get("bypass_pull_request_allowances") if isinstance(reviews, dict) else None
        agents: list[str] = []
        if isinstance(allow, dict):
            for u in allow.get("users") or []:
                if isinstance(u, dict) and isinstance(u.get("login"), str):
                    vendor = self.agents.vendor(u["login"], u.get("id"), u.get("type"))
                    if vendor:
                        agents.append(f"user {u['login']} (agent:{vendor})")
            for a in allow.get("apps") or []:
                if isinstance(a, dict) and isinstance(a.get("slug"), str):
                    vendor = self.agents.app(a["slug"])
                    if vendor:
                        agents.append(f"app {a['slug']} (agent:{vendor})")
        if agents:
            return warn(
                "bypass-actors",
                f"agents may bypass required pull request reviews: {', '.join(agents)}",
                "remove them from 'Allow specified actors to bypass required pull requests'",
                subject,
            )
        return ok("bypass-actors", "no agent may bypass required pull request reviews", subject)

    def _ruleset_bypass(self, rid: int) -> Result:
        subject = f"ruleset {rid}"
        try:
            data = get_json(self.gh, f"{self.base}/rulesets/{rid}")
        except Exception as e:
            return cannot("bypass-actors", NEEDS_RULESET_ADMIN, e, subject)
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            subject = f"ruleset {data['name']} ({rid})"
        actors = data.get("bypass_actors") if isinstance(data, dict) else None
        if not isinstance(actors, list):  # GitHub hides the list from tokens without write access
            return unverified(
                "bypass-actors", NEEDS_RULESET_ADMIN, "the API did not return bypass_actors", subject
            )
        agents: list[str] = []
        unresolved: list[str] = []
        for a in actors:
            if not isinstance(a, dict):
                continue
            kind, aid, mode = a.get("actor_type"), a.get("actor_id"), a.get("bypass_mode", "always")
            label: str | None = None
            if kind == "User" and isinstance(aid, int):
                vendor = self.agents.vendor("", aid, "User")
                label = f"user id {aid} (agent:{vendor})" if vendor else None
            elif kind == "Integration" and isinstance(aid, int):
                found = self.agents.app_by_id(aid)
                if found is not None and found[1]:
                    label = f"app {found[0]} (id {aid}, agent:{found[1]})"
                elif found is None:
                    unresolved.append(str(aid))
            if label:
                agents.append(f"{label}, bypass {mode}")
        if agents:
            return warn(
                "bypass-actors",
                f"agents may bypass this ruleset: {'; '.join(agents)}",
                "remove them from the ruleset's bypass list (agents go through the guard like everyone)",
                subject,
            )
        if unresolved and not self.agents.resolved:
            why = (
                f"app ids {', '.join(unresolved)} not matched: {self.agents.lookup_error or 'no agent apps'}"
            )
            return Result("bypass-actors", "could-not-verify", f"could not verify: {why}", None, subject)
        known = f"{len(actors)} bypass actor(s), none a known agent"
        if unresolved:
            known += f" (app ids {', '.join(unresolved)} are not known agent apps)"
        return ok("bypass-actors", known, subject)

    # Actions: the default token ------------------------------------------------------

    def workflow_token(self) -> list[Result]:
        try:
            data = get_json(self.gh, f"{self.base}/actions/permissions/workflow")
        except Exception as e:
            return [cannot("actions-approve-prs", NEEDS_ADMIN, e), cannot("workflow-token", NEEDS_ADMIN, e)]
        data = data if isinstance(data, dict) else {}
        out: list[Result] = []
        approve = data.get("can_approve_pull_request_reviews")
        if approve is True:
            out.append(
                warn(
                    "actions-approve-prs",
                    "GitHub Actions may create and approve pull requests: a workflow an agent edits can "
                    "approve the agent's own pull request",
                    "untick Settings > Actions > General > 'Allow GitHub Actions to create and approve "
                    "pull requests'",
                )
            )
        elif approve is False:
            out.append(ok("actions-approve-prs", "GitHub Actions may not approve pull requests"))
        else:
            out.append(unverified("actions-approve-prs", NEEDS_ADMIN, "no can_approve_pull_request_reviews"))
        perms = data.get("default_workflow_permissions")
        if perms == "write":
            out.append(
                warn(
                    "workflow-token",
                    "the default GITHUB_TOKEN has write access to the repository",
                    "set Settings > Actions > General > Workflow permissions to 'Read repository contents "
                    "and packages permissions'; grant writes per job with `permissions:`",
                )
            )
        elif perms == "read":
            out.append(ok("workflow-token", "the default GITHUB_TOKEN is read-only"))
        else:
            out.append(unverified("workflow-token", NEEDS_ADMIN, "no default_workflow_permissions"))
        return out

    # environments ----------------------------------------------------------------------

    def environments(self) -> list[Result]:
        try:
            data = get_json(self.gh, f"{self.base}/environments?per_page=100")
        except Exception as e:
            return [cannot("environments", NEEDS_ENVIRONMENTS, e)]
        envs = (
            [e for e in (data.get("environments") or []) if isinstance(e, dict)]
            if isinstance(data, dict)
            else []
        )
        names = {str(e.get("name")) for e in envs}
        out: list[Result] = []
        total = data.get("total_count") if isinstance(data, dict) else None
        if isinstance(total, int) and total > len(envs):  # one page of 100 is read
            out.append(
                Result(
                    "environments",
                    "could-not-verify",
                    f"could not verify: only {len(envs)} of {total} environments were read",
                    "check the remaining environments by hand",
                )
            )
        for env in envs:
            out += self._environment(env)
        for name in self.opts.environments:
            if name not in names:
                out.append(
                    warn(
                        "environment-exists",
                        "referenced but does not exist: GitHub creates it on first use, with no "
                        "protection rules, so a deploy to it needs no one's approval",
                        f"create environment {name!r} with required reviewers before any workflow uses it",
                        f"environment {name}",
                    )
                )
            else:
                out.append(ok("environment-exists", "exists", f"environment {name}"))
        if not out:
            out.append(ok("environments", "the repository has no deployment environments"))
        return out

    def _environment(self, env: dict[str, Any]) -> list[Result]:
        subject = f"environment {env.get('name')}"
        rules = [r for r in env.get("protection_rules") or [] if isinstance(r, dict)]
        reviewers = [
            rv for r in rules if r.get("type") == "required_reviewers" for rv in r.get("reviewers") or []
        ]
        out: list[Result] = []
        agents: list[str] = []
        for rv in reviewers:
            who = rv.get("reviewer") if isinstance(rv, dict) else None
            if isinstance(who, dict) and rv.get("type") == "User" and isinstance(who.get("login"), str):
                vendor = self.agents.vendor(who["login"], who.get("id"), who.get("type"))
                if vendor:
                    agents.append(f"{who['login']} (agent:{vendor})")
        if agents:
            out.append(
                warn(
                    "environment-reviewers",
                    f"agents are required reviewers: {', '.join(agents)}",
                    "remove agents from the environment's required reviewers",
                    subject,
                )
            )
        elif reviewers:
            out.append(ok("environment-reviewers", f"{len(reviewers)} required reviewer(s)", subject))
        else:
            out.append(
                warn(
                    "environment-reviewers",
                    "no required reviewers: a deploy to it needs no one's approval",
                    "add required reviewers (people, not agents) and tick 'Prevent self-review'",
                    subject,
                )
            )
        bypass = env.get("can_admins_bypass")
        if bypass is True:
            out.append(
                warn(
                    "environment-admin-bypass",
                    "administrators may bypass its protection rules (and so may an agent holding an "
                    "admin's token)",
                    "untick 'Allow administrators to bypass configured protection rules'",
                    subject,
                )
            )
        elif bypass is False:
            out.append(ok("environment-admin-bypass", "administrators may not bypass its rules", subject))
        else:  # returned by the API, but not declared in GitHub's OpenAPI description
            out.append(
                Result(
                    "environment-admin-bypass",
                    "could-not-verify",
                    "could not verify: the API did not return can_admins_bypass",
                    "check that 'Allow administrators to bypass configured protection rules' is unticked",
                    subject,
                )
            )
        return out

    # Copilot cloud agent ------------------------------------------------------------------

    def copilot(self) -> Result:
        try:
            data = get_json(self.gh, f"{self.base}/copilot/cloud-agent/configuration")
        except Exception as e:
            return cannot("copilot-workflow-approval", NEEDS_COPILOT, e)
        need = data.get("require_actions_workflow_approval") if isinstance(data, dict) else None
        if need is False:
            return warn(
                "copilot-workflow-approval",
                "workflows run on Copilot's pushes without a person's approval: the workflows it edits run "
                "with the repository's secrets",
                "tick Settings > Copilot > Cloud agent > 'Require approval for workflow runs'",
            )
        if need is True:
            return ok("copilot-workflow-approval", "Copilot's workflow runs need a person's approval")
        return unverified("copilot-workflow-approval", NEEDS_COPILOT, "no require_actions_workflow_approval")


# ----------------------------------------------------------------------------- the token


def token_lifetime(token: str, headers: dict[str, str]) -> Result:
    """Best effort from the token in hand: its documented prefix and the headers GitHub returns."""
    scopes = headers.get("x-oauth-scopes")
    expires = headers.get("github-authentication-token-expiration")
    fix = (
        "give agents and CI the job's GITHUB_TOKEN or a GitHub App installation token (both expire "
        "within hours); if a personal token is unavoidable, use a fine-grained one with an expiry"
    )
    if token.startswith("ghp_") or (scopes is not None and not token.startswith(("github_pat_", "ghs_"))):
        shown = f" (scopes: {scopes})" if scopes else ""
        return warn(
            "token-lifetime",
            f"this run uses a classic personal access token{shown}: long-lived and repository-wide",
            fix,
        )
    if token.startswith("github_pat_"):
        if expires:
            return ok("token-lifetime", f"fine-grained personal access token, expires {expires}")
        return warn("token-lifetime", "fine-grained personal access token without an expiry", fix)
    if token.startswith("gho_"):
        return warn("token-lifetime", "an OAuth app token: valid until revoked", fix)
    if token.startswith(("ghs_", "ghu_")):
        return ok("token-lifetime", "a short-lived GitHub App / Actions token (expires within hours)")
    return token_kind_unknown(fix, "its prefix or GitHub's headers")


def run(opts: Options, fp: Fingerprints) -> list[Result]:
    ctx = GitHubContext(
        event_name="doctor",
        event_path="",
        payload={},
        repository=opts.repo,
        workspace=".",
        api_url=opts.api_url,
        server_url="",
        token=opts.token,
    )
    gh = client(ctx)
    return GitHubDoctor(gh, opts, Agents(gh, fp)).run()
